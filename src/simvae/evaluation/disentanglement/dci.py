"""DCI: disentanglement, completeness and informativeness (Eastwood & Williams 2018, ICLR).

A per-factor model predicts each factor from the whole code; its importance matrix R (code dimension i x
factor k) gives, with P the columns of R normalised to sum 1 (each factor counts equally, as the feature
importances of disentanglement_lib's trees do):

- disentanglement D_i = 1 - H_K(P_i. / sum_k P_ik) for each code dimension, averaged with weights
  rho_i = sum_k P_ik / sum_ik P_ik (dimensions that matter more count more; an unused one has weight 0);
- completeness C_k = 1 - H_d(P_.k) for each factor, averaged over factors;
- informativeness: the per-factor model's accuracy on the test split, averaged over factors (disentanglement_lib's
  "informativeness_test"; the training accuracy is kept too), beside the chance accuracy of always predicting
  the training split's most frequent class.

H_b is the entropy in base b (K factors, d dimensions), so every score lies in [0, 1].

The per-factor model: L1-regularised multinomial logistic regression on the codes standardised by the training
split, fitted by scikit-learn's saga solver (the classification analogue of Eastwood & Williams' Lasso), with
R[i, k] = sum over classes of |W_k[class, i]|. The L1 strength `l1` multiplies the mean log-loss (sklearn's
C = 1 / (l1 * N)), so the fitted model, and so the scores, do not drift with N. Gradient-boosted trees, as in
disentanglement_lib, would cost minutes per factor here: on this 2-core machine sklearn's
GradientBoostingClassifier took 95 s for one 3-class factor of 8,000 x 64 codes, HistGradientBoosting 48 s plus
128 s for its permutation importances, the L1 model 0.2-0.5 s per factor.

Cost (`python benchmarks/disentanglement_timing.py`: CPU seconds on one thread of this 2-core machine, 10,000
training and 10,000 test codes): 0.4 s for 10 dimensions and 5 factors, 1.5-1.9 s for 64 dimensions and 5-6
factors, 3.2 s for 128 dimensions and 5 factors. A weaker penalty costs more (l1 = 0.003: 9 s at 128 dimensions).

D and C depend on the model's sparsity: on the same mixed 128-d code, l1 = 0.003 / 0.01 / 0.03 give D = 0.68 /
0.86 / 0.96; and among many dimensions a sparse model finds disjoint ones for each factor more easily, so D of
codes mixed by the same recipe rises with d (0.35 at d = 10, 0.75 at 64, 0.86 at 128), where a dense L2 model's
D stays low (0.15, 0.12, 0.11; `--dense`). Compare D and C between representations of the same size, at the
same l1 (docs/metrics.md).

Degenerate inputs: a factor with one class in the training split gets None (left out of every average); with
fewer than two measurable factors D is None (every dimension trivially "captures one factor"), with a
one-dimensional code C is None; a factor no dimension predicts (all its weights 0) has completeness None and
weight 0 in D; a constant code dimension gets importance 0.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import entropy
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from simvae.errors import ConfigError
from simvae.evaluation.disentanglement.common import (
    Array,
    chance_accuracy,
    checked_splits,
    mean_or_none,
    spread,
)

DCI_L1 = 0.01  # L1 strength per unit of mean log-loss on standardised codes
MAX_ITER = 1000  # saga epochs
TOL = 1e-4


def standardised(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(0), train.std(0)
    std[std == 0] = 1.0  # a constant dimension stays 0 in training, so L1 keeps its weight at 0
    return (train - mean) / std, (test - mean) / std


def factor_model(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                 l1: float, seed: int) -> dict:
    """Fit the L1 logistic model of one factor on standardised codes: importance per dimension, accuracies,
    and the chance accuracy beside them."""
    model = LogisticRegression(C=1.0 / (l1 * len(train_x)), l1_ratio=1.0, solver="saga", tol=TOL,
                               max_iter=MAX_ITER, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # recorded as "converged" instead
        model.fit(train_x, train_y)
    return {"importance": np.abs(model.coef_).sum(0),
            "test_accuracy": float(model.score(test_x, test_y)),
            "train_accuracy": float(model.score(train_x, train_y)),
            "chance": chance_accuracy(train_y, test_y),
            "converged": bool(model.n_iter_.max() < MAX_ITER)}


def scores_from_importance(importance: np.ndarray) -> dict:
    """D, C and their per-dimension / per-factor terms from an importance matrix (d dimensions x K factors,
    non-negative). Columns are normalised to sum 1 first; a zero column (a factor no dimension carries) has
    completeness None and adds nothing to D."""
    importance = np.asarray(importance, dtype=np.float64)
    dims, factors = importance.shape
    totals = importance.sum(0)
    carried = totals > 0
    p = np.zeros_like(importance)
    p[:, carried] = importance[:, carried] / totals[carried]
    code_totals = p.sum(1)
    used = code_totals > 0
    weights = code_totals / code_totals.sum() if used.any() else code_totals
    per_code = [float(1 - entropy(row, base=factors)) if factors >= 2 and use else None
                for row, use in zip(p, used)]
    per_factor = [float(1 - entropy(column, base=dims)) if dims >= 2 and carry else None
                  for column, carry in zip(p.T, carried)]
    disentanglement = (float(sum(w * s for w, s in zip(weights, per_code) if s is not None))
                       if factors >= 2 and used.any() else None)
    return {"disentanglement": disentanglement, "completeness": mean_or_none(per_factor),
            "code_disentanglement": per_code, "code_weight": [float(w) for w in weights],
            "factor_completeness": per_factor, "normalised_importance": p}


def dci(train_codes: Array, train_factors: Array, test_codes: Array, test_factors: Array,
        l1: float = DCI_L1, seed: int = 0) -> dict:
    """DCI of (N, d) codes for (N, K) integer factors: models fitted on the training split, accuracy on the test split.

    Returns plain floats and lists: disentanglement, completeness, informativeness (mean test accuracy),
    informativeness_train, importance (d x K, columns normalised; None in an unmeasurable factor's column),
    code_disentanglement and code_weight (per dimension), and per factor (None where not measurable):
    factor_completeness, factor_informativeness (test accuracy), factor_informativeness_train, factor_chance,
    factor_converged.
    """
    if not l1 > 0:
        raise ConfigError(f"DCI's l1 must be a positive L1 strength, got {l1}; the default is {DCI_L1}")
    splits = checked_splits(train_codes, train_factors, test_codes, test_factors)
    train_x, test_x = standardised(splits.train_codes, splits.test_codes)
    dims, factors = train_x.shape[1], len(splits.classes)
    measured = [k for k, ok in enumerate(splits.measurable) if ok]
    fits = [factor_model(train_x, splits.train_factors[:, k], test_x, splits.test_factors[:, k], l1, seed + k)
            for k in measured]
    scores = scores_from_importance(np.stack([fit["importance"] for fit in fits], 1) if fits
                                    else np.zeros((dims, 0)))

    def per_factor(key: str) -> list:
        return spread([fit[key] for fit in fits], measured, factors)

    return {
        "disentanglement": scores["disentanglement"],
        "completeness": scores["completeness"],
        "informativeness": mean_or_none([fit["test_accuracy"] for fit in fits]),
        "informativeness_train": mean_or_none([fit["train_accuracy"] for fit in fits]),
        "importance": [spread(row, measured, factors) for row in scores["normalised_importance"].tolist()],
        "code_disentanglement": scores["code_disentanglement"],
        "code_weight": scores["code_weight"],
        "factor_completeness": spread(scores["factor_completeness"], measured, factors),
        "factor_informativeness": per_factor("test_accuracy"),
        "factor_informativeness_train": per_factor("train_accuracy"),
        "factor_chance": per_factor("chance"),
        "factor_converged": per_factor("converged"),
    }
