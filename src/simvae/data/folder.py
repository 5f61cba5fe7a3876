"""User data from an image-folder tree (`data.name=folder`, `data.root=DIR`).

Layout: `DIR/<class>/<image>.png|.jpg|.jpeg`; the class folders, sorted by name, are the content classes
0..K-1. With both `DIR/train/<class>/` and `DIR/test/<class>/`, those are the splits; otherwise a seeded 1/6
is held out as the test split (see `simvae.data.custom`). Optional `DIR/styles.csv`, header
`path,style_a,style_b,...`, one row per image (path relative to DIR, e.g. `cat/001.png` or
`train/cat/001.png`): style labels. A column of integers must hold 0..K-1; any other column is mapped
to the indices of its sorted distinct values (e.g. `dark,light` -> 0, 1).

Images are decoded once with PIL: grey (modes L, LA, 1, and 16-bit grey PNGs, scaled to 8 bits) stay one channel
unless any image is colour, then all become RGB (alpha dropped); 32-bit images and images beyond PIL's
decompression-bomb limit are refused; each is centre-cropped to a square and resized (bicubic) to `image_size`
(default: the most common image size if it is square, else 32). The result is cached as
`DIR/simvae_folder_<size|auto>.pt` (see `simvae.data.cache`), keyed by the file list and file sizes.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import ImageOps
from tqdm.auto import tqdm

from simvae.data.base import Dataset, ImageSet
from simvae.data.cache import cache_paths, load_cache, save_cache
from simvae.data.custom import check_labels, custom_dataset, require_root
from simvae.data.images import SIXTEEN_BIT, eight_bit, open_image
from simvae.errors import DataError
from simvae.resources import fits_in_memory, memory_note

SUFFIXES = {".png", ".jpg", ".jpeg"}
STYLES_CSV = "styles.csv"
SPLITS = ("train", "test")
GREY_MODES = {"1", "L", "LA"}
DEFAULT_SIZE = 32
CACHE_VERSION = 1
FIX = "replace or delete it"
EXPECTED = "a directory of class folders, DIR/<class>/<image>.png (or DIR/train/<class>/ and DIR/test/<class>/)"


@dataclass
class Listing:
    directory: Path
    files: list[str]  # relative to directory, '/'-separated
    content: list[int]
    split: list[int]  # 0 train, 1 test (all 0 without a train/test layout)
    class_names: list[str]
    has_test: bool


def _subdirs(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_folder(root: str | Path | None) -> Listing:
    """Every image under the class folders of `root`, with its class and split."""
    directory = require_root("folder", root, EXPECTED)
    if not directory.is_dir():
        raise DataError(f"{directory} is not a directory: set data.root to {EXPECTED}")
    has_test = all((directory / s).is_dir() for s in SPLITS)
    split_dirs = [directory / s for s in SPLITS] if has_test else [directory]
    class_names = [d.name for d in _subdirs(split_dirs[0])]
    if not class_names:
        raise DataError(f"{split_dirs[0]} holds no class folders: set data.root to {EXPECTED}")
    listing = Listing(directory, [], [], [], class_names, has_test)
    for split, base in enumerate(split_dirs):
        for class_dir in _subdirs(base):
            if class_dir.name not in class_names:
                raise DataError(f"{class_dir} is a class missing from {split_dirs[0]}: give train and test the same class folders")
            images = sorted(p for p in class_dir.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not images:
                raise DataError(f"{class_dir} holds no .png/.jpg/.jpeg images: add some or remove the folder")
            for path in images:
                listing.files.append(path.relative_to(directory).as_posix())
                listing.content.append(class_names.index(class_dir.name))
                listing.split.append(split)
    return listing


# --------------------------------------------------------------------------------------------------
# images

def scan(paths: list[Path]) -> tuple[bool, int]:
    """(any image in colour, the default side) from the image headers alone."""
    modes, sizes = set(), Counter()
    for path in paths:
        with open_image(path, str(path), FIX) as image:
            modes.add(image.mode)
            sizes[image.size] += 1
    (width, height), _ = sizes.most_common(1)[0]
    return not modes <= GREY_MODES | SIXTEEN_BIT, width if width == height else DEFAULT_SIZE


def decode(path: Path, colour: bool, size: int) -> np.ndarray:
    """uint8 (C, size, size): converted to L or RGB (16-bit grey first to 8 bits), centre-cropped to a square and
    resized."""
    try:
        with open_image(path, str(path), FIX) as image:
            image = eight_bit(image).convert("RGB" if colour else "L")
            if image.size != (size, size):
                image = ImageOps.fit(image, (size, size), method=3)  # 3 = bicubic, antialiased when shrinking
            array = np.array(image, dtype=np.uint8)  # a writable copy
    except OSError as error:  # truncated data surfaces only when the pixels are decoded
        raise DataError(f"{path} is truncated or corrupt ({error}): replace or delete it") from error
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def folder_images(listing: Listing, image_size: int | None) -> torch.Tensor:
    """uint8 (N, C, S, S) of every listed file, from the cache or decoded (and cached) once."""
    paths = [listing.directory / f for f in listing.files]
    meta = {"version": CACHE_VERSION, "image_size": image_size,
            "files": [[f, p.stat().st_size] for f, p in zip(listing.files, paths)]}
    caches = cache_paths(listing.directory, f"simvae_folder_{image_size or 'auto'}.pt")
    images = load_cache(caches, meta, len(paths))
    if images is not None:
        return images
    colour, default = scan(paths)
    size = image_size or default
    nbytes = len(paths) * (3 if colour else 1) * size * size
    if not fits_in_memory(nbytes):
        raise DataError(f"{len(paths)} images of {size}x{size} pixels (data.image_size) take {memory_note(nbytes)}: "
                        "lower data.image_size (or data.limit_train)")
    images = torch.empty(len(paths), 3 if colour else 1, size, size, dtype=torch.uint8)
    for i, path in enumerate(tqdm(paths, desc=f"{listing.directory} -> {size}x{size} cache (once)", unit="img", disable=None)):
        images[i] = torch.from_numpy(decode(path, colour, size))
    save_cache(caches, meta, images)
    return images


# --------------------------------------------------------------------------------------------------
# style labels

def read_styles(listing: Listing) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Style labels per listed file from DIR/styles.csv (none without the file), and their class counts."""
    path = listing.directory / STYLES_CSV
    if not path.is_file():
        return {}, {}
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"cannot read {path} ({error}): write it as UTF-8 CSV with header path,style_a,...") from error
    header = [name.strip() for name in rows[0]] if rows else []
    if len(header) < 2 or header[0] != "path" or len(set(header)) != len(header) or "content" in header:
        raise DataError(f"{path} needs the header path,style_a,style_b,... (distinct names, not 'content'); it has {header}")
    table = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header) or not all(cell.strip() for cell in row):
            raise DataError(f"{path} line {line} has {len(row)} fields (or an empty one), expected {len(header)}: {header}")
        table[row[0].strip().replace("\\", "/").removeprefix("./")] = [cell.strip() for cell in row[1:]]
    missing = [f for f in listing.files if f not in table]
    if missing:
        raise DataError(f"{path} has no row for {missing[0]} ({len(missing)} image(s) lack one): add a row "
                        f"'{missing[0]},...' per image, paths relative to {listing.directory}")
    columns = np.array([table[f] for f in listing.files], dtype=str).T
    labels = {name: _encode(values) for name, values in zip(header[1:], columns)}
    classes = {name: check_labels([(f"{path}: column {name!r}", values)]) for name, values in labels.items()}
    return labels, classes


def _encode(values: np.ndarray) -> np.ndarray:
    """Integers as they are; anything else as indices of the sorted distinct strings."""
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        return np.unique(values, return_inverse=True)[1].astype(np.int64)


# --------------------------------------------------------------------------------------------------

def load_folder(root: str | Path | None, val_fraction: float, split_seed: int, image_size: int | None = None) -> Dataset:
    if image_size is not None and image_size < 1:
        raise DataError(f"image_size must be a positive number of pixels, got {image_size}")
    listing = list_folder(root)
    styles, style_classes = read_styles(listing)
    images = folder_images(listing, image_size)
    everything = ImageSet(images, torch.tensor(listing.content, dtype=torch.int64),
                          {name: torch.from_numpy(values) for name, values in styles.items()})
    split = torch.tensor(listing.split)
    train, test = (everything.subset((split == s).nonzero().flatten()) for s in (0, 1))
    return custom_dataset("folder", train, test if listing.has_test else None, listing.class_names, style_classes,
                          val_fraction, split_seed, str(listing.directory))
