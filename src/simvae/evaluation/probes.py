"""Probes of a frozen representation: linear, MLP, kNN and GMM clustering.

Linear/MLP probes and the kNN search run in torch on the evaluation device (the training device under
`simvae train`); only the GMM uses scikit-learn (on CPU).

Model selection (probe epoch, k) uses the validation split only; "test" is the test accuracy at the
selected setting. The official code instead reports the best test accuracy over probe epochs
(docs/model.md §5, item 9); we record that optimistic number too, as "best_test", only so its
effect can be shown (`simvae reproduce` reports it as a compatibility ablation).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.mixture import GaussianMixture
from torch import nn


def standardise(train: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    """Scale every split by the training split's per-dimension mean and std."""
    mean, std = train.mean(0), train.std(0).clamp_min(1e-6)
    return [(x - mean) / std for x in (train, *others)]


def make_probe(kind: str, dim: int, classes: int) -> nn.Module:
    if kind == "linear":
        return nn.Linear(dim, classes)
    if kind == "mlp":  # the official MLP probe: d -> d -> classes
        return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, classes))
    raise ValueError(f"unknown probe {kind!r}; expected linear or mlp")


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return (logits.argmax(1) == labels).float().mean().item()


def train_probe(kind: str, features: dict[str, torch.Tensor], labels: dict[str, torch.Tensor], classes: int,
                epochs: int, lr: float, batch_size: int, seed: int, device: torch.device | str = "cpu") -> dict[str, float]:
    """Train a probe with Adam on standardised train features; keep the epoch with the best val accuracy.

    `features`/`labels` map "train", "val", "test" to (N, d) floats and (N,) labels; the probe trains on
    `device` (the shuffling is drawn on the CPU, so the batches are the same on every device).
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    features = {split: x.to(device) for split, x in features.items()}
    labels = {split: y.to(device) for split, y in labels.items()}
    train_x, val_x, test_x = standardise(features["train"], features["val"], features["test"])
    probe = make_probe(kind, train_x.shape[1], classes).to(device)
    optimiser = torch.optim.Adam(probe.parameters(), lr=lr)
    best = {"val": -1.0, "test": 0.0, "epoch": 0, "best_test": 0.0}
    for epoch in range(1, epochs + 1):
        probe.train()
        for index in torch.randperm(len(train_x), generator=generator).to(device).split(batch_size):
            loss = nn.functional.cross_entropy(probe(train_x[index]), labels["train"][index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        probe.eval()
        with torch.no_grad():
            val, test = accuracy(probe(val_x), labels["val"]), accuracy(probe(test_x), labels["test"])
            if val > best["val"]:
                best.update(val=val, test=test, epoch=epoch)
            best["best_test"] = max(best["best_test"], test)
    return best


def cosine_neighbours(train: torch.Tensor, queries: torch.Tensor, k: int, chunk: int = 2048) -> np.ndarray:
    """Indices (N, k) of each query's k nearest training points by cosine distance, nearest first (what
    scikit-learn's brute-force cosine search returns), computed in chunks of queries on their device."""
    train = torch.nn.functional.normalize(train, dim=1)
    queries = torch.nn.functional.normalize(queries, dim=1)
    parts = [(part @ train.T).topk(k, dim=1).indices.cpu() for part in queries.split(chunk)]
    return torch.cat(parts).numpy()


class NeighbourIndex:
    """Cosine nearest neighbours of val and test points among the training points, computed once
    per representation (on the features' device) and reused for every label task and every k."""

    def __init__(self, features: dict[str, torch.Tensor], k_max: int, device: torch.device | str = "cpu") -> None:
        train = features["train"].to(device)
        self.neighbours = {split: cosine_neighbours(train, features[split].to(device), k_max) for split in ("val", "test")}

    def predict(self, train_labels: np.ndarray, split: str, k: int, classes: int) -> np.ndarray:
        votes = np.eye(classes)[train_labels[self.neighbours[split][:, :k]]].sum(1)  # (N, classes)
        return votes.argmax(1)  # ties go to the smallest label, as in scikit-learn


def knn_probe(index: NeighbourIndex, labels: dict[str, torch.Tensor], classes: int, k_grid: list[int]) -> dict[str, float]:
    train_labels = labels["train"].numpy()
    def score(split: str, k: int) -> float:
        return float((index.predict(train_labels, split, k, classes) == labels[split].numpy()).mean())

    val = {k: score("val", k) for k in k_grid}
    test = {k: score("test", k) for k in k_grid}
    k = max(k_grid, key=lambda kk: (val[kk], -kk))
    return {"val": val[k], "test": test[k], "k": k, "best_test": max(test.values())}


def cluster_accuracy(truth: np.ndarray, assigned: np.ndarray) -> float:
    """Accuracy after the best one-to-one matching of clusters to labels (Hungarian algorithm)."""
    size = max(truth.max(), assigned.max()) + 1
    counts = np.zeros((size, size), dtype=np.int64)
    np.add.at(counts, (assigned, truth), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(truth))


def gmm_clustering(features: dict[str, torch.Tensor], labels: dict[str, torch.Tensor], classes: int,
                   n_init: int, max_train: int, seed: int) -> dict[str, float]:
    """Fit a GMM with one component per class on training features; score test assignments."""
    train_x, test_x = standardise(features["train"], features["test"])
    train_x = train_x[torch.randperm(len(train_x), generator=torch.Generator().manual_seed(seed))[:max_train]]
    gmm = GaussianMixture(n_components=classes, covariance_type="full", n_init=n_init, random_state=seed, reg_covar=1e-4)
    assigned = gmm.fit(train_x.double().numpy()).predict(test_x.double().numpy())
    truth = labels["test"].numpy()
    return {"test": cluster_accuracy(truth, assigned),
            "nmi": float(normalized_mutual_info_score(truth, assigned)),
            "ari": float(adjusted_rand_score(truth, assigned))}
