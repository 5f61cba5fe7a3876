"""CelebA (aligned and cropped faces) at 64x64, with named attribute tasks as labels.

Files, under `<root>/celeba/` (or `<root>/` itself) for any data root (flag, $SIMVAE_DATA, ~/.cache/simvae):
* `img_align_celeba/` holding `000001.jpg` ... `202599.jpg` (also accepted: the Kaggle layout
  `img_align_celeba/img_align_celeba/*.jpg`, or the unextracted `img_align_celeba.zip`);
* `list_attr_celeba.txt` (or Kaggle's `list_attr_celeba.csv`): 40 binary attributes per image, -1/1;
* `list_eval_partition.txt` (or `.csv`): 0 = train, 1 = validation, 2 = test.

Preprocessing: a centred 148x148 crop of the 178x218 aligned image (the crop of the PyTorch-VAE /
many VAE papers' CelebA-64 pipeline; the SimVAE code itself applies no centre crop and random-resized-crops
the whole frame) resized to 64x64 with antialiased bilinear interpolation. The result is decoded once
and cached as a uint8 tensor file `celeba_64.pt` next to the data (or, if that directory is read-only,
in ~/.cache/simvae), written atomically; later runs memory-map it and load in seconds. CelebA cannot be
downloaded automatically (Google Drive quotas, licence terms): see `MANUAL` for where to get it.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from simvae.data.base import Dataset, ImageSet
from simvae.data.cache import cache_paths, load_cache, save_cache
from simvae.data.images import open_image
from simvae.data.mnist import data_roots
from simvae.errors import DataError

CROP = 148  # centred square crop (pixels of the 178x218 aligned image) before resizing
SIZE = 64
CACHE_NAME = f"celeba_{SIZE}.pt"
CACHE_VERSION = 1
IMAGE_DIR = "img_align_celeba"
IMAGE_ZIP = "img_align_celeba.zip"
ATTR_FILES = ("list_attr_celeba.txt", "list_attr_celeba.csv")
PARTITION_FILES = ("list_eval_partition.txt", "list_eval_partition.csv")
SYSTEM_DIRS = [Path("/usr/share/datasets/celeba")]

# The official code's 5-way hair-colour task (MyCelebA_eval, target "hair"): samples with more than
# one positive hair-colour attribute are dropped; none positive -> "other".
HAIR_ATTRIBUTES = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair"]
HAIR_CLASSES = ["black", "blond", "brown", "gray", "other"]
# Binary style tasks reported alongside the content task (task name -> CelebA attribute).
STYLE_TASKS = {"smiling": "Smiling", "male": "Male", "eyeglasses": "Eyeglasses", "bangs": "Bangs", "pale_skin": "Pale_Skin"}

MANUAL = (
    "CelebA cannot be downloaded automatically. Get it from the official page "
    "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (Google Drive: 'Img/img_align_celeba.zip', "
    "'Anno/list_attr_celeba.txt', 'Eval/list_eval_partition.txt') or from Kaggle "
    "(https://www.kaggle.com/datasets/jessicali9530/celeba-dataset), and put img_align_celeba/ (extracted, or the zip), "
    "list_attr_celeba.txt and list_eval_partition.txt in {where}"
)


@dataclass(frozen=True)
class CelebAFiles:
    directory: Path
    attributes: Path
    partition: Path
    images: Path | None  # a directory of JPEGs or the zip; None when only the cache is there


def candidate_dirs(root: str | Path | None = None) -> list[Path]:
    dirs = []
    for base in data_roots(root):
        dirs += [base / "celeba", base]
    return dirs + ([] if root else SYSTEM_DIRS)  # an explicit root is the only place searched


def _first_file(directory: Path, names: tuple[str, ...]) -> Path | None:
    return next((directory / n for n in names if (directory / n).is_file()), None)


def _image_source(directory: Path) -> Path | None:
    folder = directory / IMAGE_DIR
    if (folder / IMAGE_DIR).is_dir():  # Kaggle's nested layout
        return folder / IMAGE_DIR
    if folder.is_dir():
        return folder
    return directory / IMAGE_ZIP if (directory / IMAGE_ZIP).is_file() else None


def _cache_paths(directory: Path) -> list[Path]:
    return cache_paths(directory, CACHE_NAME)


def find_celeba(root: str | Path | None = None) -> CelebAFiles:
    """The first directory with both label files and either the images or a built cache."""
    searched = candidate_dirs(root)
    partial = []
    for directory in searched:
        attributes, partition = _first_file(directory, ATTR_FILES), _first_file(directory, PARTITION_FILES)
        images = _image_source(directory)
        has_cache = any(p.is_file() for p in _cache_paths(directory))
        if attributes and partition and (images or has_cache):
            return CelebAFiles(directory, attributes, partition, images)
        if attributes or partition or images:
            partial.append(f"{directory} has only {', '.join(p.name for p in (attributes, partition, images) if p)}")
    detail = f" ({'; '.join(partial)})" if partial else ""
    raise DataError(f"celeba not found in {', '.join(str(d) for d in searched)}{detail}. "
                    + MANUAL.format(where=data_roots(root)[0] / "celeba"))


def find_celeba_dir(root: str | Path | None = None) -> Path:
    return find_celeba(root).directory


# --------------------------------------------------------------------------------------------------
# label files

def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read {path} ({error}); fetch it again. " + MANUAL.format(where=path.parent)) from error


def read_attributes(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(attribute names, file names, int8 array (N, 40) of 0/1) from list_attr_celeba.txt or .csv."""
    lines = [line for line in _lines(path) if line.strip()]
    try:
        if path.suffix == ".csv":
            names = lines[0].strip().split(",")[1:]
            rows = [line.strip().split(",") for line in lines[1:]]
        else:
            count = int(lines[0])
            names = lines[1].split()
            rows = [line.split() for line in lines[2:]]
            if count != len(rows):
                raise ValueError(f"header announces {count} images, the file lists {len(rows)}")
        files = [row[0] for row in rows]
        values = np.array([row[1:] for row in rows], dtype=np.int64)
        if values.shape != (len(rows), len(names)) or not np.isin(values, (-1, 1)).all():
            raise ValueError(f"expected {len(names)} values of -1/1 per image")
    except (ValueError, IndexError) as error:
        raise DataError(f"{path} is truncated or corrupt ({error}); fetch it again. " + MANUAL.format(where=path.parent)) from error
    return names, files, (values > 0).astype(np.int8)


def read_partition(path: Path) -> tuple[list[str], np.ndarray]:
    """(file names, split per image: 0 train, 1 val, 2 test) from list_eval_partition.txt or .csv."""
    lines = [line for line in _lines(path) if line.strip()]
    try:
        if path.suffix == ".csv":
            rows = [line.strip().split(",") for line in lines[1:]]
        else:
            rows = [line.split() for line in lines]
        files = [row[0] for row in rows]
        splits = np.array([int(row[1]) for row in rows], dtype=np.int64)
        if len(files) == 0 or not np.isin(splits, (0, 1, 2)).all():
            raise ValueError("expected one line 'NAME.jpg 0|1|2' per image")
    except (ValueError, IndexError) as error:
        raise DataError(f"{path} is truncated or corrupt ({error}); fetch it again. " + MANUAL.format(where=path.parent)) from error
    return files, splits


# --------------------------------------------------------------------------------------------------
# images and their cache

def _crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    side = min(CROP, width, height)
    left, top = int(round((width - side) / 2)), int(round((height - side) / 2))
    return left, top, left + side, top + side


def _decode(raw: bytes | Path, name: str) -> torch.Tensor:
    fix = "extract img_align_celeba again"
    try:
        with open_image(raw, f"CelebA image {name}", fix) as image:
            image = image.convert("RGB").crop(_crop_box(*image.size))
            array = np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as error:
        raise DataError(f"CelebA image {name} is truncated or corrupt ({error}); {fix}") from error
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def _resize(crops: list[torch.Tensor]) -> torch.Tensor:
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, crop in enumerate(crops):
        groups.setdefault(tuple(crop.shape), []).append(i)
    out = torch.empty(len(crops), 3, SIZE, SIZE, dtype=torch.uint8)
    for index in groups.values():
        batch = torch.stack([crops[i] for i in index]).float()
        resized = F.interpolate(batch, size=(SIZE, SIZE), mode="bilinear", antialias=True, align_corners=False)
        out[index] = resized.round_().clamp_(0, 255).to(torch.uint8)
    return out


def build_images(source: Path, files: list[str], progress: bool = True, chunk: int = 256) -> torch.Tensor:
    """Decode, centre-crop and resize `files` from a JPEG directory or the zip: uint8 (N, 3, 64, 64)."""
    images = torch.empty(len(files), 3, SIZE, SIZE, dtype=torch.uint8)
    try:
        archive = zipfile.ZipFile(source) if source.suffix == ".zip" else None
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"{source} is truncated or corrupt ({error}); fetch it again. " + MANUAL.format(where=source.parent)) from error
    try:
        members = {Path(n).name: n for n in archive.namelist() if n.endswith(".jpg")} if archive else {}
        bar = tqdm(total=len(files), desc=f"CelebA -> {SIZE}x{SIZE} cache (once)", disable=not progress, unit="img")
        for start in range(0, len(files), chunk):
            crops = []
            for name in files[start:start + chunk]:
                if archive is not None:
                    if name not in members:
                        raise DataError(f"{source} lacks {name}, listed in the partition file; fetch the zip again")
                    try:
                        raw: bytes | Path = archive.read(members[name])
                    except (zipfile.BadZipFile, OSError, zlib.error) as error:
                        raise DataError(f"{source} is corrupt at {name} ({error}); fetch the zip again") from error
                else:
                    raw = source / name
                    if not raw.is_file():
                        raise DataError(f"{raw} is missing but listed in the partition file; extract img_align_celeba again")
                crops.append(_decode(raw, name))
            images[start:start + len(crops)] = _resize(crops)
            bar.update(len(crops))
        bar.close()
    finally:
        if archive is not None:
            archive.close()
    return images


def celeba_images(found: CelebAFiles, files: list[str], progress: bool = True) -> torch.Tensor:
    """The 64x64 images of `files` in that order, from the cache or built (and cached) once."""
    meta = {"version": CACHE_VERSION, "crop": CROP, "size": SIZE, "files": files}
    images = load_cache(_cache_paths(found.directory), meta, len(files))
    if images is not None and tuple(images.shape[1:]) == (3, SIZE, SIZE):
        return images
    if found.images is None:
        raise DataError(f"the CelebA cache in {found.directory} does not match {found.partition} and the images are gone; "
                        + MANUAL.format(where=found.directory))
    images = build_images(found.images, files, progress=progress)
    save_cache(_cache_paths(found.directory), meta, images)
    return images


# --------------------------------------------------------------------------------------------------
# tasks and the dataset

def _attribute(task: str, names: list[str]) -> int:
    wanted = STYLE_TASKS.get(task, task).lower()
    for i, name in enumerate(names):
        if name.lower() == wanted:
            return i
    raise DataError(f"unknown CelebA task {task!r}; use 'hair' or one of {sorted(STYLE_TASKS)} or any attribute of "
                    f"list_attr_celeba ({', '.join(names)})")


def celeba_labels(names: list[str], values: np.ndarray, content_task: str) -> tuple[np.ndarray, np.ndarray, list[str], dict[str, np.ndarray]]:
    """(keep mask, content labels, content class names, style labels) for the attribute table `values`."""
    if content_task == "hair":
        hair = values[:, [_attribute(a, names) for a in HAIR_ATTRIBUTES]].astype(np.int64)
        keep = hair.sum(axis=1) <= 1
        content = np.where(hair.sum(axis=1) == 0, len(HAIR_ATTRIBUTES), hair.argmax(axis=1))
        class_names = HAIR_CLASSES
    else:
        column = _attribute(content_task, names)
        keep = np.ones(len(values), dtype=bool)
        content = values[:, column].astype(np.int64)
        class_names = [f"not {names[column]}", names[column]]
    styles = {task: values[:, _attribute(task, names)].astype(np.int64) for task in STYLE_TASKS
              if content_task == "hair" or _attribute(task, names) != _attribute(content_task, names)}
    return keep, content, class_names, styles


def load_celeba(root: str | Path | None, val_fraction: float, split_seed: int, content_task: str = "hair",
                progress: bool = True) -> Dataset:
    """CelebA 64x64 with the official train/val/test partition (`val_fraction` and `split_seed` are ignored).

    `content_task` picks the content label: "hair" (default, the official 5-way hair colour: black, blond,
    brown, gray, other; images with more than one hair-colour attribute are dropped from all splits),
    a style task name ("smiling", "male", "eyeglasses", "bangs", "pale_skin") or any CelebA attribute
    name, case-insensitive (e.g. "young", "wearing_hat"), as a binary task. Style labels: the binary
    tasks of STYLE_TASKS, minus the content task. From Python:
    `load_celeba(root, 0.1, 0, content_task="smiling")`; or register a further DATASETS entry with
    `partial(load_celeba, content_task=...)`.
    """
    found = find_celeba(root)
    names, attr_files, values = read_attributes(found.attributes)
    files, splits = read_partition(found.partition)
    if attr_files != files:
        row = {name: i for i, name in enumerate(attr_files)}
        missing = [f for f in files if f not in row]
        if missing:
            raise DataError(f"{found.attributes} lacks {len(missing)} image(s) of {found.partition} (e.g. {missing[0]}); "
                            "fetch both files again")
        values = values[[row[f] for f in files]]
    keep, content, class_names, styles = celeba_labels(names, values, content_task)
    images = celeba_images(found, files, progress=progress)

    def split(code: int) -> ImageSet:
        index = torch.from_numpy(np.flatnonzero((splits == code) & keep))
        return ImageSet(images[index], torch.from_numpy(content)[index],
                        {task: torch.from_numpy(labels)[index] for task, labels in styles.items()})

    parts = [split(code) for code in (0, 1, 2)]
    for code, part in zip(("train", "validation", "test"), parts):
        if len(part) == 0:
            raise DataError(f"{found.partition} leaves the {code} split empty; fetch it again")
    return Dataset("celeba", *parts, class_names, {task: 2 for task in styles}, likelihood="gaussian",
                   source=f"{found.directory} (content: {content_task}; centre crop {CROP}, resized to {SIZE})")
