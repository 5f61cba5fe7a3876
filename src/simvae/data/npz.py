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

import math
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from simvae.data.base import Dataset, ImageSet
from simvae.data.custom import check_labels, custom_dataset, require_root
from simvae.errors import DataError
from simvae.resources import fits_in_memory, human_bytes, memory_note

SPLIT_FILES = ("train.npz", "test.npz")
EXPECTED = "an .npz file (arrays images, content, optional style labels and class_names) or a directory holding train.npz and test.npz"
NPY_MAGIC = b"\x93NUMPY"
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
        if not zipfile.is_zipfile(path):
            with path.open("rb") as file:
                single = file.read(len(NPY_MAGIC)) == NPY_MAGIC
            raise DataError(f"{path} holds a single array, not an .npz archive; {HOW}" if single else
                            f"{path} is not a readable .npz file (not a zip archive); {HOW}")
        check_members(path)
        with np.load(path, allow_pickle=False) as archive:  # no pickles: a data file must not run code
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DataError(f"{path} is not a readable .npz file ({error}); {HOW}") from error
    for key in ("images", "content"):
        if key not in arrays:
            raise DataError(f"{path} has no array {key!r} (it has {sorted(arrays)}); {HOW}")
    return arrays


def check_members(path: Path, how: str = HOW) -> None:
    """Every member is a .npy array whose header (read alone) announces a shape and dtype that the member's bytes
    can hold and this machine's memory too: nothing is allocated from a size the file merely claims. `how` says
    how to write a good file."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                raise DataError(f"{path}: member {info.filename!r} is not a .npy array (np.savez writes only those); {how}")
            key = info.filename[:-len(".npy")]
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read_header(member)
            what = f"{path}: array {key!r}"
            if dtype.hasobject:  # it would need pickle
                raise DataError(f"{what} is an object array ({dtype}); store labels as integers and class_names as a "
                                "string array, np.array(names, dtype=str)")
            if any(side < 0 for side in shape):
                raise DataError(f"{what} claims the shape {shape}, with a negative side: the file is corrupt; {how}")
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes > info.file_size:
                raise DataError(f"{what} claims {shape} {dtype} = {human_bytes(nbytes)}, but the file holds "
                                f"{human_bytes(info.file_size)} for it: it is truncated or corrupt; {how}")
            if not fits_in_memory(nbytes):
                raise DataError(f"{what} ({shape} {dtype}) takes {memory_note(nbytes)}: keep fewer images (or "
                                "smaller ones) in the file")


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
        if values.dtype.kind == "u" and len(values) and int(values.max()) > np.iinfo(np.int64).max:
            raise DataError(f"{what} holds the label {int(values.max())}, far outside 0..K-1: number the classes 0..K-1, "
                            "e.g. np.unique(labels, return_inverse=True)[1]")  # (as int64 it would read as negative)
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
