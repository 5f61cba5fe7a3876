"""MNIST and Fashion-MNIST from IDX files found on disk (see `simvae data` for where we look)."""

from __future__ import annotations

import os
from pathlib import Path

from simvae.data.base import Dataset, ImageSet, split_train_val
from simvae.data.idx import read_idx
from simvae.errors import DataError

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}

# Debian's dataset-fashion-mnist package installs the real files here.
SYSTEM_DIRS = {"fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")], "mnist": [Path("/usr/share/datasets/mnist")]}


def data_roots(root: str | Path | None = None) -> list[Path]:
    """Where datasets are looked for: an explicit root alone, else $SIMVAE_DATA, then ~/.cache/simvae.

    An explicit root is never topped up with other places: a typo must fail, not silently load other data.
    """
    if root:
        return [Path(root)]
    roots = []
    if os.environ.get("SIMVAE_DATA"):
        roots.append(Path(os.environ["SIMVAE_DATA"]))
    roots.append(Path.home() / ".cache" / "simvae")
    return roots


def candidate_dirs(name: str, root: str | Path | None = None) -> list[Path]:
    dirs = []
    for base in data_roots(root):
        dirs += [base / name, base]
    return dirs + ([] if root else SYSTEM_DIRS.get(name, []))


def not_found_fix(name: str, root: str | Path | None) -> str:
    """How to get `name` where it was looked for (shared by the loaders' not-found errors)."""
    if root:
        return (f"run `simvae data download {name} --root {root}`, point data.root (--root) at the directory "
                "holding the files, or leave it unset to search $SIMVAE_DATA, ~/.cache/simvae and the system directories")
    hint = " or install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)" if name == "fashion-mnist" else ""
    return f"run `simvae data download {name}`{hint}"


def find_idx_dir(name: str, root: str | Path | None = None) -> Path:
    """The first directory holding all four IDX files (raw or .gz) of `name`."""
    searched = candidate_dirs(name, root)
    for directory in searched:
        if all(_idx_path(directory, stem) for stem in IDX_FILES.values()):
            return directory
    places = ", ".join(str(d) for d in searched)
    raise DataError(
        f"{name} not found in {places}: {not_found_fix(name, root)}, "
        f"or put {', '.join(f + '.gz' for f in IDX_FILES.values())} in one of those directories"
    )


def system_copy(name: str) -> Path | None:
    """A complete copy installed by a system package (e.g. Debian's dataset-fashion-mnist), if any."""
    return next((d for d in SYSTEM_DIRS.get(name, []) if all(_idx_path(d, stem) for stem in IDX_FILES.values())), None)


def _idx_path(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def read_idx_splits(name: str, root: str | Path | None) -> tuple[ImageSet, ImageSet, Path]:
    """The official train and test splits of `name` (no validation carve-out) and where they were found."""
    directory = find_idx_dir(name, root)
    arrays = {key: read_idx(_idx_path(directory, stem), 3 if key.endswith("images") else 1) for key, stem in IDX_FILES.items()}
    for split in ("train", "test"):
        if len(arrays[f"{split}_images"]) != len(arrays[f"{split}_labels"]):
            raise DataError(f"{name} in {directory}: {split} images and labels differ in count; fetch the files again")
        labels, path = arrays[f"{split}_labels"], _idx_path(directory, IDX_FILES[f"{split}_labels"])
        if len(labels) and int(labels.max()) >= len(CLASS_NAMES[name]):  # uint8: never negative
            raise DataError(f"{path} holds label {int(labels.max())}, outside 0..{len(CLASS_NAMES[name]) - 1} of {name}: "
                            "the file is corrupt or not a label file; delete it and fetch it again")
    train = ImageSet(arrays["train_images"].unsqueeze(1), arrays["train_labels"].long())
    test = ImageSet(arrays["test_images"].unsqueeze(1), arrays["test_labels"].long())
    return train, test, directory


def load_idx_dataset(name: str, root: str | Path | None, val_fraction: float, split_seed: int) -> Dataset:
    train, test, directory = read_idx_splits(name, root)
    train, val = split_train_val(train, val_fraction, split_seed)
    return Dataset(name, train, val, test, CLASS_NAMES[name], likelihood="bernoulli", source=str(directory))
