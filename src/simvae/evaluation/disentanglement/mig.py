"""MIG: the mutual information gap (Chen et al. 2018, "Isolating sources of disentanglement in VAEs", NeurIPS).

For each factor k with entropy H(v_k): the mutual information I(z_j; v_k) with every code dimension j, and
MIG_k = (I of the best dimension - I of the second best) / H(v_k); MIG is the mean over factors. As in
disentanglement_lib, the codes are discretised per dimension into `bins` (20) equal-width bins over that
dimension's range (np.histogram's bins), and I and H are the plug-in estimates (in nats) of the empirical joint
distribution. The plug-in I is biased upwards by about (bins - 1)(classes - 1) / (2N) nats, so MIG is slightly
below 1 for a perfect code at small N. disentanglement_lib computes MIG on the training split; so does
`disentanglement_scores`.

Degenerate inputs: a factor with one class has H = 0 and MIG None (left out of the mean); with fewer samples than
bins, or a one-dimensional code, MIG is None for every factor (the estimate or the gap would mean nothing);
a constant code dimension falls in one bin and carries I = 0.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import entropy

from simvae.errors import ConfigError
from simvae.evaluation.disentanglement.common import (
    Array,
    checked_codes,
    checked_factors,
    mean_or_none,
    renumbered,
    spread,
    top_two_gap,
)

MIG_BINS = 20


def discretised(codes: np.ndarray, bins: int) -> np.ndarray:
    """(N, d) bin indices 0..bins-1: each dimension cut into `bins` equal-width bins over its own range,
    the bins np.histogram counts (the last one closed)."""
    out = np.empty(codes.shape, dtype=np.int64)
    for j, column in enumerate(codes.T):
        edges = np.histogram_bin_edges(column, bins)
        out[:, j] = np.digitize(column, edges[1:-1])
    return out


def mutual_information(binned: np.ndarray, labels: np.ndarray, bins: int, classes: int) -> np.ndarray:
    """Plug-in I(z_j; v) in nats for every column j of `binned` (N, d) and labels v (N,) in 0..classes-1."""
    rows, dims = binned.shape
    cells = (np.arange(dims) * bins * classes)[None, :] + binned * classes + labels[:, None]
    joint = np.bincount(cells.ravel(), minlength=dims * bins * classes).reshape(dims, bins, classes) / rows
    independent = joint.sum(2, keepdims=True) * joint.sum(1, keepdims=True)
    nonzero = joint > 0
    terms = np.zeros_like(joint)
    terms[nonzero] = joint[nonzero] * np.log(joint[nonzero] / independent[nonzero])
    return terms.sum((1, 2))


def mig(codes: Array, factors: Array, bins: int = MIG_BINS) -> dict:
    """MIG of (N, d) codes for (N, K) integer factors, on one split.

    Returns plain floats and lists: mig (the mean over measurable factors), and per factor (None where not
    measurable): factor_mig, factor_entropy (nats), factor_top_codes (the best two dimensions),
    mutual_information (d x K, nats); bins.
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ConfigError(f"MIG's bins must be an integer >= 2, got {bins!r}; the default is {MIG_BINS}")
    codes = checked_codes(codes, "MIG")
    factors = checked_factors(factors, len(codes), "MIG")
    dims, n_factors = codes.shape[1], factors.shape[1]
    encoded = [renumbered(column) for column in factors.T]
    labels, classes = [parts[0] for parts, _ in encoded], [size for _, size in encoded]
    measured = [k for k in range(len(classes)) if classes[k] >= 2]
    if len(codes) < bins or dims < 2:
        measured = []
    binned = discretised(codes, bins)
    information = {k: mutual_information(binned, labels[k], bins, classes[k]) for k in measured}
    entropies = {k: float(entropy(np.bincount(labels[k]))) for k in measured}
    gaps = {k: top_two_gap(information[k]) for k in measured}
    factor_mig = [gaps[k][0] / entropies[k] for k in measured]
    matrix = [spread([float(information[k][j]) for k in measured], measured, n_factors) for j in range(dims)]
    return {"mig": mean_or_none(factor_mig),
            "factor_mig": spread(factor_mig, measured, n_factors),
            "factor_entropy": spread([entropies[k] for k in measured], measured, n_factors),
            "factor_top_codes": spread([gaps[k][1] for k in measured], measured, n_factors),
            "mutual_information": matrix,
            "bins": bins}
