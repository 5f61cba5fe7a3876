"""What the disentanglement metrics share: checked inputs, factors as class indices, the top-two gap.

Codes are (N, d) float arrays or tensors; factors are (N, K) integer class labels, one column per factor,
each with its own labels (any integers: they are renumbered 0..C-1 over both splits). A factor with fewer
than two classes in the training split is not measurable: every metric gives it None and leaves it out of
its averages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from simvae.errors import DataError

Array = np.ndarray | torch.Tensor


def to_numpy(values: Array) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def checked_codes(codes: Array, split: str) -> np.ndarray:
    """(N, d) float64 codes with N, d >= 1 and every value finite, else a DataError naming the split."""
    array = to_numpy(codes)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise DataError(f"{split} codes must be an (N, d) array with N, d >= 1, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise DataError(f"{split} codes must be real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    bad = int((~np.isfinite(array)).sum())
    if bad:
        raise DataError(f"{split} codes hold {bad} non-finite values (NaN or inf): "
                        f"the encoder diverged or the file is corrupt; re-encode the data")
    return array


def checked_factors(factors: Array, rows: int, split: str) -> np.ndarray:
    """(N, K) int64 labels with one row per code, else a DataError naming the split."""
    array = to_numpy(factors)
    if array.ndim != 2 or array.shape[1] == 0:
        raise DataError(f"{split} factors must be an (N, K) array of class labels, one column per factor, "
                        f"got shape {array.shape}; reshape a single factor to (N, 1)")
    if array.shape[0] != rows:
        raise DataError(f"{split} factors have {array.shape[0]} rows but the {split} codes have {rows}: "
                        f"pass one row of labels per code")
    if np.issubdtype(array.dtype, np.floating):
        if not (np.isfinite(array).all() and (array == np.round(array)).all()):
            raise DataError(f"{split} factors hold fractions or non-finite values: "
                            f"factors must be integer class labels")
    elif not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.bool_)):
        raise DataError(f"{split} factors must be integer class labels, got dtype {array.dtype}")
    return array.astype(np.int64)


@dataclass(frozen=True)
class Splits:
    """Checked codes and factors of a training and a test split; factors renumbered 0..classes[k]-1."""

    train_codes: np.ndarray
    train_factors: np.ndarray
    test_codes: np.ndarray
    test_factors: np.ndarray
    classes: list[int]  # labels of each factor over both splits

    @property
    def measurable(self) -> list[bool]:
        """A factor is measurable when its training split holds at least two classes."""
        return [len(np.unique(column)) >= 2 for column in self.train_factors.T]


def renumbered(*columns: np.ndarray) -> tuple[list[np.ndarray], int]:
    """The columns' labels mapped to 0..C-1 (C = labels seen in any of them), and C."""
    values, indices = np.unique(np.concatenate(columns), return_inverse=True)
    return np.split(indices, np.cumsum([len(column) for column in columns])[:-1]), len(values)


def checked_splits(train_codes: Array, train_factors: Array, test_codes: Array, test_factors: Array) -> Splits:
    train_x, test_x = checked_codes(train_codes, "train"), checked_codes(test_codes, "test")
    train_y = checked_factors(train_factors, len(train_x), "train")
    test_y = checked_factors(test_factors, len(test_x), "test")
    if train_x.shape[1] != test_x.shape[1]:
        raise DataError(f"train codes have {train_x.shape[1]} dimensions but test codes {test_x.shape[1]}: "
                        f"encode both splits with the same model")
    if train_y.shape[1] != test_y.shape[1]:
        raise DataError(f"train factors have {train_y.shape[1]} columns but test factors {test_y.shape[1]}: "
                        f"pass the same factors for both splits")
    train_out, test_out, classes = np.empty_like(train_y), np.empty_like(test_y), []
    for k in range(train_y.shape[1]):
        (train_out[:, k], test_out[:, k]), count = renumbered(train_y[:, k], test_y[:, k])
        classes.append(count)
    return Splits(train_x, train_out, test_x, test_out, classes)


def chance_accuracy(train_labels: np.ndarray, test_labels: np.ndarray) -> float:
    """Test accuracy of always predicting the training split's most frequent class: what a code without
    the factor scores."""
    return float((test_labels == np.bincount(train_labels).argmax()).mean())


def top_two_gap(scores: np.ndarray) -> tuple[float, list[int]]:
    """The best score minus the second best over code dimensions, and those two dimensions."""
    order = np.argsort(-scores, kind="stable")
    return float(scores[order[0]] - scores[order[1]]), [int(order[0]), int(order[1])]


def mean_or_none(values: list[float | None]) -> float | None:
    """The mean of the measured values (None ones left out); None when none was measured."""
    measured = [value for value in values if value is not None]
    return float(np.mean(measured)) if measured else None


def spread(values: list, measured: list[int], factors: int) -> list:
    """Values of the measured factors placed at their columns among `factors`, None for the others."""
    by_factor = dict(zip(measured, values))
    return [by_factor.get(k) for k in range(factors)]
