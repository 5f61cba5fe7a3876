"""The kNN probe: cosine nearest neighbours among the training points, k chosen on validation."""

from __future__ import annotations

import numpy as np
import torch


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
        self.k_max = min(k_max, len(train))  # k cannot exceed the training points
        self.neighbours = {split: cosine_neighbours(train, features[split].to(device), self.k_max) for split in ("val", "test")}

    def predict(self, train_labels: np.ndarray, split: str, k: int, classes: int) -> np.ndarray:
        votes = np.eye(classes)[train_labels[self.neighbours[split][:, :k]]].sum(1)  # (N, classes)
        return votes.argmax(1)  # ties go to the smallest label, as in scikit-learn


def knn_probe(index: NeighbourIndex, labels: dict[str, torch.Tensor], classes: int, k_grid: list[int]) -> dict[str, float]:
    """Test accuracy at the k of `k_grid` (at most the number of training points) with the best validation accuracy
    (ties: the smaller k); "best_test" is the best test accuracy over k (the official optimistic selection)."""
    train_labels = labels["train"].cpu().numpy()
    ks = sorted({min(k, index.k_max) for k in k_grid})

    def score(split: str, k: int) -> float:
        return float((index.predict(train_labels, split, k, classes) == labels[split].cpu().numpy()).mean())

    val = {k: score("val", k) for k in ks}
    test = {k: score("test", k) for k in ks}
    k = max(ks, key=lambda kk: (val[kk], -kk))
    return {"val": val[k], "test": test[k], "k": k, "best_test": max(test.values())}
