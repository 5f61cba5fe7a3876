"""Hand-made codes whose disentanglement is known, shared by the metric tests."""

from __future__ import annotations

import numpy as np
import pytest

CLASSES = (3, 4, 5)


# A rotation of 3-D codes that mixes every axis as much as any can: no entry above 2/3 in size.
ROTATION = np.array([[2.0, 2.0, -1.0], [-1.0, 2.0, 2.0], [2.0, -1.0, 2.0]]) / 3
# Each dimension leaks a little of the next factor: scores in the middle of their range, for comparisons across N.
PARTLY_MIXED = np.array([[1.0, 0.4, 0.0], [0.0, 1.0, 0.4], [0.4, 0.0, 1.0]])


def make_codes(n: int, classes=CLASSES, noise: float = 0.05, noise_dims: int = 0, mix: np.ndarray | None = None,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, K + noise_dims) codes and (n, K) factors: dimension k is factor k (class spacing 1) plus Gaussian noise
    of std `noise`, then `noise_dims` pure N(0, 1) dimensions; `mix` (K x K) maps the factor dimensions."""
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, c, n) for c in classes], 1)
    codes = factors - (np.array(classes) - 1) / 2 + noise * rng.normal(size=factors.shape)
    if mix is not None:
        codes = codes @ mix
    return np.concatenate([codes, rng.normal(size=(n, noise_dims))], 1), factors


@pytest.fixture
def codes():
    """make_codes(n, ...) for a training split; codes(n, ..., seed=1) for a test split from the same distribution."""
    return make_codes


@pytest.fixture
def rotation():
    assert np.allclose(ROTATION @ ROTATION.T, np.eye(3))
    return ROTATION


@pytest.fixture
def partly_mixed():
    """make_codes with PARTLY_MIXED and noise 0.3."""
    return lambda n, seed=0: make_codes(n, noise=0.3, mix=PARTLY_MIXED, seed=seed)
