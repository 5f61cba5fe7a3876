"""Datasets, held in memory as uint8 tensors. `DATASETS` is the one list of what exists."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from simvae.data.base import Dataset, ImageSet, split_train_val
from simvae.data.canvas import load_canvas_dataset
from simvae.data.celeba import find_celeba_dir, load_celeba
from simvae.data.cifar10 import find_cifar10_dir, load_cifar10
from simvae.data.download import download_dataset
from simvae.data.folder import list_folder, load_folder
from simvae.data.mnist import find_idx_dir, load_idx_dataset
from simvae.data.npz import find_npz, load_npz
from simvae.data.shapes import load_shapes
from simvae.data.tensors import CUSTOM, from_python
from simvae.errors import DataError


@dataclass(frozen=True)
class DatasetEntry:
    load: Callable[..., Dataset]  # (root, val_fraction, split_seed) -> Dataset
    locate: Callable[[str | Path | None], str]  # where the data is (raises DataError when missing)
    description: str
    resizes: bool = False  # its loader takes `image_size` (data.image_size)


DATASETS: dict[str, DatasetEntry] = {
    "shapes": DatasetEntry(
        lambda root, val_fraction, split_seed: load_shapes(val_fraction, split_seed),
        lambda root: "generated in memory (embedded, no download)",
        "coloured shapes 3x32x32; content: 5 shapes; style: pos_x, pos_y, scale, rotation, hue",
    ),
    "fashion-mnist": DatasetEntry(
        partial(load_idx_dataset, "fashion-mnist"),
        lambda root: str(find_idx_dir("fashion-mnist", root)),
        "Fashion-MNIST 1x28x28; content: 10 clothing classes",
    ),
    "fashion-mnist-canvas": DatasetEntry(
        load_canvas_dataset,
        lambda root: str(find_idx_dir("fashion-mnist", root)),
        "real Fashion-MNIST items placed on a 1x40x40 canvas at a seeded position, size and brightness; "
        "content: 10 clothing classes; style: pos_x, pos_y, brightness, scale",
    ),
    "fashion-mnist-canvas-control": DatasetEntry(
        partial(load_canvas_dataset, control=True),
        lambda root: str(find_idx_dir("fashion-mnist", root)),
        "fashion-mnist-canvas with augmentations that leave brightness alone (a control: brightness is labelled, never augmented)",
    ),
    "mnist": DatasetEntry(
        partial(load_idx_dataset, "mnist"),
        lambda root: str(find_idx_dir("mnist", root)),
        "MNIST 1x28x28; content: 10 digits",
    ),
    "cifar10": DatasetEntry(
        load_cifar10,
        lambda root: str(find_cifar10_dir(root)),
        "CIFAR-10 3x32x32 (python pickle batches); content: 10 object classes",
    ),
    "celeba": DatasetEntry(
        partial(load_celeba, content_task="hair"),
        lambda root: str(find_celeba_dir(root)),
        "CelebA 3x64x64 (centre crop 148, official partition); content: 5-way hair colour; "
        "style: smiling, male, eyeglasses, bangs, pale_skin",
    ),
    "npz": DatasetEntry(
        load_npz,
        lambda root: ", ".join(str(path) for path in find_npz(root)),
        "your arrays: data.root=FILE.npz (or a directory with train.npz, test.npz) holding uint8 images, "
        "integer content and style labels (docs/datasets.md)",
    ),
    "folder": DatasetEntry(
        load_folder,
        lambda root: str(list_folder(root).directory),
        "your images: data.root=DIR of DIR/<class>/*.png|jpg, optional DIR/styles.csv style labels (docs/datasets.md)",
        resizes=True,
    ),
}


@contextmanager
def provided(data: Any, progress: bool = True) -> Iterator[None]:
    """Within the block, `data.name=custom` is `data` (see simvae.data.tensors), converted once here."""
    if CUSTOM in DATASETS:
        raise DataError("data is already provided (a simvae.train or evaluate call is running in this process): "
                        "pass data= to one call at a time")
    converted = from_python(data, progress)
    DATASETS[CUSTOM] = DatasetEntry(lambda root, val_fraction, split_seed: converted.dataset(val_fraction, split_seed),
                                    lambda root: converted.source, f"passed from Python: {converted.source}")
    try:
        yield
    finally:
        del DATASETS[CUSTOM]


def load_dataset(name: str, root: str | Path | None = None, val_fraction: float = 0.1, split_seed: int = 0,
                 image_size: int | None = None) -> Dataset:
    if name == CUSTOM and name not in DATASETS:
        raise DataError(f"data.name={CUSTOM} is data passed from Python: pass it again, simvae.train(..., data=...) or "
                        "simvae.evaluate(path, data=...) (the command line cannot read it)")
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; available: {sorted(DATASETS)} (see `simvae data`)")
    entry = DATASETS[name]
    if image_size is None:
        return entry.load(root, val_fraction, split_seed)
    if not entry.resizes:
        raise DataError(f"data.image_size resizes image folders (data.name=folder) only; {name} has a fixed size: drop it")
    return entry.load(root, val_fraction, split_seed, image_size)


__all__ = ["DATASETS", "Dataset", "ImageSet", "download_dataset", "load_dataset", "split_train_val"]
