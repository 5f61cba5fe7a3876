"""What the user-supplied formats (`npz`, `folder`) share: the root check, label checks, the held-out
test split, and the likelihood and augmentation preset that follow from the images.

* Labels (content and every style) must be integers in [0, K), K = the number of class names given, else
  the number of distinct values: classes numbered 0..K-1 without gaps, so K is the probe's class count.
* Without an explicit test set, a fixed 1/6 of the images (seed 0, independent of `data.split_seed`, so every
  run tests on the same images) is held out as the test split; validation is then carved from the rest.
* Grey images of at most 64 px get a Bernoulli likelihood and the Fashion-MNIST augmentation preset;
  colour images a Gaussian likelihood and the CIFAR-10 preset (grey images over 64 px: Gaussian).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from simvae.data.base import Dataset, ImageSet, split_train_val
from simvae.errors import DataError, SimvaeWarning

TEST_FRACTION = 1 / 6  # as MNIST's 10k of 70k
TEST_SEED = 0
BERNOULLI_MAX_SIZE = 64
PRESETS = {"grey": "fashion-mnist", "colour": "cifar10"}  # the official grey and colour augmentation presets


def require_root(name: str, root: str | Path | None, expected: str) -> Path:
    """`root` as a Path that exists; DataError naming data.root and the `expected` layout otherwise."""
    if not root:
        raise DataError(f"the {name} dataset needs data.root (--root) set to {expected}")
    path = Path(root)
    if not path.exists():
        raise DataError(f"{path} does not exist: set data.root (--root) to {expected}")
    return path


def check_labels(parts: list[tuple[str, np.ndarray]], class_names: list[str] | None = None) -> int:
    """The class count K of a label task whose arrays (one per file) are `parts` [(what, labels)]; each
    must hold integers in [0, K). `what` names the file and array in the error."""
    if class_names:
        k, basis = len(class_names), "class_names"
    else:
        k, basis = len(np.unique(np.concatenate([labels for _, labels in parts]))), "distinct values"
    for what, labels in parts:
        if len(labels) and labels.min() < 0:
            raise DataError(f"{what} holds the negative label {labels.min()}: number the classes 0..K-1, "
                            "e.g. np.unique(labels, return_inverse=True)[1]")
        if len(labels) and labels.max() >= k:
            raise DataError(f"{what} holds the label {labels.max()}, outside 0..{k - 1} (K = {k} {basis}): number the "
                            "classes 0..K-1 without gaps, e.g. np.unique(labels, return_inverse=True)[1]"
                            + (", or list every class in class_names" if class_names else ""))
    return k


def check_classes(parts: list[ImageSet], class_names: list[str], source: str) -> None:
    """A content label with one class makes every probe score 100% and means nothing: refused. A style label with
    one class: warned about (its probes mean nothing either, but the other labels still do)."""
    present = torch.unique(torch.cat([part.content for part in parts]))
    if len(present) < 2:
        only = f" ({class_names[int(present[0])]})" if len(present) and int(present[0]) < len(class_names) else ""
        raise DataError(f"{source}: every image has the same content label{only}; probes need at least 2 content "
                        "classes to mean anything: add images of another class (another class folder, or label)")
    for name in parts[0].styles:
        if len(torch.unique(torch.cat([part.styles[name] for part in parts]))) < 2:
            warnings.warn(f"{source}: the style label {name!r} has a single value for every image, so its probes say "
                          "nothing about the representation: drop it, or add images with other values", SimvaeWarning,
                          stacklevel=2)


def custom_dataset(name: str, train: ImageSet, test: ImageSet | None, class_names: list[str],
                   style_classes: dict[str, int], val_fraction: float, split_seed: int, source: str) -> Dataset:
    """Split (a held-out test set when `test` is None, then validation) and derive likelihood and preset."""
    check_classes([train] if test is None else [train, test], class_names, source)
    if test is None:
        train, test = split_train_val(train, TEST_FRACTION, TEST_SEED)
        source += f" (test: a seeded 1/{round(1 / TEST_FRACTION)} held out)"
    if len(train) < 2 or len(test) == 0:
        raise DataError(f"{source} holds too few images for train, validation and test splits: add images")
    train, val = split_train_val(train, val_fraction, split_seed)
    channels, height, width = train.images.shape[1:]
    grey = channels == 1
    likelihood = "bernoulli" if grey and max(height, width) <= BERNOULLI_MAX_SIZE else "gaussian"
    return Dataset(name, train, val, test, class_names, style_classes, likelihood=likelihood, source=source,
                   augment_preset=PRESETS["grey" if grey else "colour"])
