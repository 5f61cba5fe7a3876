"""SAP: the separated attribute predictability score (Kumar et al. 2018, "Variational inference of disentangled
latent concepts from unlabeled observations", ICLR).

A score matrix S (code dimension j x factor k) holds how well dimension j alone predicts factor k; SAP_k is the
best score minus the second best, SAP the mean over factors. For discrete factors the score is a per-dimension
linear classifier's accuracy on held-out data, as in disentanglement_lib (which fits a LinearSVC per dimension
on the training split and scores it on the test split). Our per-dimension classifier is linear discriminant
analysis (class means, the pooled within-class variance (maximum-likelihood estimate), the training split's class
frequencies as priors: the prediction of scikit-learn's LinearDiscriminantAnalysis on that one dimension), a
linear classifier in closed form, so all d x K classifiers are fitted at once in numpy (d x K scikit-learn
fits would cost 5-25 ms each: seconds to tens of seconds for d = 128). On one dimension it is a threshold
classifier: each value goes to the class with the nearest mean, shifted by the log prior.

Degenerate inputs: a factor with one class in the training split gets None (left out of the mean); with a
one-dimensional code every factor gets None (no second dimension to compare with); a dimension constant in the
training split predicts the most frequent class there (chance accuracy).
"""

from __future__ import annotations

import numpy as np

from simvae.evaluation.disentanglement.common import Array, checked_splits, mean_or_none, spread, top_two_gap

CHUNK = 1024  # test codes per block: the block's discriminants are CHUNK x d x classes floats


def per_dimension_lda(train_x: np.ndarray, train_y: np.ndarray, classes: int) -> tuple[np.ndarray, ...]:
    """Class means (classes, d), pooled within-class variances (d,) and log priors (classes,) of every dimension."""
    counts = np.bincount(train_y, minlength=classes)
    sums = np.zeros((classes, train_x.shape[1]))
    np.add.at(sums, train_y, train_x)
    means = sums / np.maximum(counts, 1)[:, None]
    residual = train_x - means[train_y]
    variance = (residual ** 2).mean(0)  # the maximum-likelihood estimate, as scikit-learn's LDA
    # a dimension that separates its classes exactly has variance 0: a floor far below its spread keeps it exact
    variance = np.maximum(variance, 1e-12 * train_x.var(0))
    variance[variance == 0] = 1.0  # a constant dimension: any value, its prediction is the majority class
    with np.errstate(divide="ignore"):
        log_prior = np.log(counts / len(train_x))  # -inf for a class absent from training: never predicted
    return means, variance, log_prior


def per_dimension_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                           classes: int) -> np.ndarray:
    """Test accuracy (d,) of each dimension's own LDA classifier, fitted on the training split."""
    means, variance, log_prior = per_dimension_lda(train_x, train_y, classes)
    constant = np.ptp(train_x, axis=0) == 0
    majority = int(np.argmax(log_prior))
    correct = np.zeros(train_x.shape[1])
    for start in range(0, len(test_x), CHUNK):
        block, labels = test_x[start:start + CHUNK], test_y[start:start + CHUNK]
        discriminant = -(block[:, :, None] - means.T[None]) ** 2 / (2 * variance[None, :, None]) + log_prior
        predicted = discriminant.argmax(2)
        predicted[:, constant] = majority
        correct += (predicted == labels[:, None]).sum(0)
    return correct / len(test_x)


def sap(train_codes: Array, train_factors: Array, test_codes: Array, test_factors: Array) -> dict:
    """SAP of (N, d) codes for (N, K) integer factors: classifiers fitted on the training split, scored on the test
    split.

    Returns plain floats and lists: sap (the mean over measurable factors), and per factor (None where not
    measurable): factor_sap, factor_top_codes (the best two dimensions), accuracy (d x K test accuracies).
    """
    splits = checked_splits(train_codes, train_factors, test_codes, test_factors)
    dims, factors = splits.train_codes.shape[1], len(splits.classes)
    measured = [k for k, ok in enumerate(splits.measurable) if ok] if dims >= 2 else []
    accuracy = {k: per_dimension_accuracy(splits.train_codes, splits.train_factors[:, k], splits.test_codes,
                                          splits.test_factors[:, k], splits.classes[k]) for k in measured}
    gaps = {k: top_two_gap(accuracy[k]) for k in measured}
    factor_sap = [gaps[k][0] for k in measured]
    return {"sap": mean_or_none(factor_sap),
            "factor_sap": spread(factor_sap, measured, factors),
            "factor_top_codes": spread([gaps[k][1] for k in measured], measured, factors),
            "accuracy": [spread([float(accuracy[k][j]) for k in measured], measured, factors) for j in range(dims)]}
