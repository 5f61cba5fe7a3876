"""GMM clustering: one full-covariance component per class, fitted on training features (scikit-learn, CPU);
test assignments scored by Hungarian-matched accuracy, NMI and ARI."""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.mixture import GaussianMixture

from simvae.evaluation.probes.common import standardise


def cluster_accuracy(truth: np.ndarray, assigned: np.ndarray) -> float:
    """Accuracy after the best one-to-one matching of clusters to labels (Hungarian algorithm)."""
    size = max(truth.max(), assigned.max()) + 1
    counts = np.zeros((size, size), dtype=np.int64)
    np.add.at(counts, (assigned, truth), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(truth))


def gmm_clustering(features: dict[str, torch.Tensor], labels: dict[str, torch.Tensor], classes: int,
                   n_init: int, max_train: int, seed: int) -> dict[str, float]:
    """Fit a GMM with one component per class on (at most `max_train`, and at least `classes`) training features;
    score test assignments."""
    train_x, test_x = standardise(features["train"].cpu(), features["test"].cpu())
    train_x = train_x[torch.randperm(len(train_x), generator=torch.Generator().manual_seed(seed))[:max(max_train, classes)]]
    gmm = GaussianMixture(n_components=min(classes, len(train_x)), covariance_type="full", n_init=n_init,
                          random_state=seed, reg_covar=1e-4)
    assigned = gmm.fit(train_x.double().numpy()).predict(test_x.double().numpy())
    truth = labels["test"].cpu().numpy()
    return {"test": cluster_accuracy(truth, assigned),
            "nmi": float(normalized_mutual_info_score(truth, assigned)),
            "ari": float(adjusted_rand_score(truth, assigned))}
