"""User data from NumPy `.npz` files (`data.name=npz`).

`data.root` is one `.npz` file (a seeded 1/6 is held out as the test split, see `simvae.data.custom`) or a
directory holding `train.npz` and `test.npz`. Arrays:
* `images`: uint8, (N, H, W) grey, or (N, H, W, C) / (N, C, H, W) with C = 1 or 3. The layout rule: channels
  last if the last axis is 1 or 3, else channels first if the second axis is;
* `content`: integer (N,), the class of each image;
* `class_names` (optional): a string array naming the content classes;
* every further array: an integer (N,) style label, named by its key.
Write one with `np.savez("data.npz", images=x, content=y, hue=h, class_names=np.array(names))`.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from simvae.data.base import Dataset, ImageSet
from simvae.data.custom import check_labels, custom_dataset, require_root
from simvae.errors import DataError

SPLIT_FILES = ("train.npz", "test.npz")
EXPECTED = "an .npz file (arrays images, content, optional style labels and class_names) or a directory holding train.npz and test.npz"
HOW = 'write it with np.savez(path, images=uint8 array, content=int labels)'


def find_npz(root: str | Path | None) -> list[Path]:
    """[the file] or [train.npz, test.npz]."""
    path = require_root("npz", root, EXPECTED)
    if path.is_file():
        return [path]
    files = [path / name for name in SPLIT_FILES]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise DataError(f"{path} lacks {' and '.join(missing)}: set data.root to {EXPECTED}")
    return files


def read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)  # no pickles: a data file must not run code
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DataError(f"{path} holds a single array, not an .npz archive; {HOW}")
        with archive:
            arrays = {key: _array(archive, key, path) for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DataError(f"{path} is not a readable .npz file ({error}); {HOW}") from error
    for key in ("images", "content"):
        if key not in arrays:
            raise DataError(f"{path} has no array {key!r} (it has {sorted(arrays)}); {HOW}")
    return arrays


def _array(archive: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as error:  # object arrays need pickle
        raise DataError(f"{path}: array {key!r} is an object array ({error}); store labels as integers and "
                        "class_names as a string array, np.array(names, dtype=str)") from error


def to_nchw(images: np.ndarray, path: Path) -> torch.Tensor:
    """uint8 (N, C, H, W) from (N, H, W), (N, H, W, C) or (N, C, H, W), C in {1, 3}."""
    what = f"{path}: array 'images'"
    if images.dtype.kind == "f":
        raise DataError(f"{what} is {images.dtype}; store uint8 0..255, e.g. (images * 255).round().astype(np.uint8) "
                        "for values in [0, 1]")
    if images.dtype != np.uint8:
        raise DataError(f"{what} is {images.dtype}; store uint8 0..255, e.g. images.astype(np.uint8) once in 0..255")
    if images.ndim == 3:
        return torch.from_numpy(images.copy()).unsqueeze(1)
    if images.ndim == 4 and images.shape[-1] in (1, 3):
        return torch.from_numpy(images.copy()).permute(0, 3, 1, 2).contiguous()
    if images.ndim == 4 and images.shape[1] in (1, 3):
        return torch.from_numpy(images.copy())
    raise DataError(f"{what} has shape {images.shape}; expected (N, H, W), (N, H, W, C) or (N, C, H, W) with C = 1 "
                    "(grey) or 3 (RGB), e.g. drop alpha with images[..., :3] or average 2 channels")


def labels_of(arrays: dict[str, np.ndarray], path: Path, n: int) -> dict[str, np.ndarray]:
    """content first, then every style array; each an integer (n,) array."""
    labels = {"content": arrays["content"], **{k: v for k, v in arrays.items() if k not in ("images", "content", "class_names")}}
    for key, values in labels.items():
        what = f"{path}: array {key!r}"
        if values.dtype.kind not in "iu":
            raise DataError(f"{what} is {values.dtype}; labels must be integers (N,), e.g. np.digitize(x, bins) for a "
                            "continuous factor or values.astype(np.int64)")
        if values.shape != (n,):
            raise DataError(f"{what} has shape {values.shape}, expected ({n},): one label per image of 'images'")
    return {key: values.astype(np.int64) for key, values in labels.items()}


def class_names_of(arrays: dict[str, np.ndarray], path: Path) -> list[str] | None:
    names = arrays.get("class_names")
    if names is None:
        return None
    if names.dtype.kind not in "US" or names.ndim != 1:
        raise DataError(f"{path}: array 'class_names' is {names.dtype} {names.shape}; store a 1-D string array, "
                        "np.array(names, dtype=str)")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names.tolist()]


@dataclass
class NpzPart:
    path: Path
    images: torch.Tensor
    labels: dict[str, np.ndarray]  # content first
    class_names: list[str] | None

    @classmethod
    def read(cls, path: Path) -> NpzPart:
        arrays = read_npz(path)
        images = to_nchw(arrays["images"], path)
        return cls(path, images, labels_of(arrays, path, len(images)), class_names_of(arrays, path))

    def image_set(self) -> ImageSet:
        labels = {key: torch.from_numpy(values) for key, values in self.labels.items()}
        return ImageSet(self.images, labels.pop("content"), labels)


def check_same_arrays(train: NpzPart, test: NpzPart) -> None:
    mismatch = (train.images.shape[1:] != test.images.shape[1:] or set(train.labels) != set(test.labels)
                or None not in (train.class_names, test.class_names) and train.class_names != test.class_names)
    if mismatch:
        raise DataError(f"{test.path} differs from {train.path} in image shape ({tuple(test.images.shape[1:])} vs "
                        f"{tuple(train.images.shape[1:])}), label arrays ({sorted(test.labels)} vs {sorted(train.labels)}) "
                        "or class_names: write both files with the same arrays")


def load_npz(root: str | Path | None, val_fraction: float, split_seed: int) -> Dataset:
    parts = [NpzPart.read(path) for path in find_npz(root)]
    if len(parts) == 2:
        check_same_arrays(*parts)
    names = next((part.class_names for part in parts if part.class_names), None)
    classes = {task: check_labels([(f"{part.path}: array {task!r}", part.labels[task]) for part in parts],
                                  names if task == "content" else None) for task in parts[0].labels}
    class_names = names or [str(i) for i in range(classes.pop("content"))]
    classes.pop("content", None)
    source = str(parts[0].path if len(parts) == 1 else parts[0].path.parent)
    sets = [part.image_set() for part in parts]
    return custom_dataset("npz", sets[0], sets[1] if len(sets) == 2 else None, class_names, classes,
                          val_fraction, split_seed, source)
