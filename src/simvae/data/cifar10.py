"""CIFAR-10 from the official python pickle batches (`cifar-10-batches-py/`, or the `.tar.gz` it comes in).

Looked for, in order, under every data root (see `simvae.data.mnist.data_roots`):
`<root>/cifar10/cifar-10-batches-py`, `<root>/cifar-10-batches-py`; then the archive
`<root>/cifar10/cifar-10-python.tar.gz` or `<root>/cifar-10-python.tar.gz`, which is extracted once,
next to itself. The pickles are read with an unpickler that only admits numpy's array
reconstruction, so a tampered file cannot run code.
"""

from __future__ import annotations

import importlib
import os
import pickle
import shutil
import tarfile
import zlib
from pathlib import Path

import numpy as np
import torch

from simvae.data.base import Dataset, ImageSet, split_train_val
from simvae.data.mnist import data_roots, not_found_fix
from simvae.errors import DataError

BATCH_DIR = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
META = "batches.meta"
FILES = [*TRAIN_BATCHES, TEST_BATCH, META]
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FIX = "run `simvae data download cifar10`"


def candidate_dirs(root: str | Path | None = None) -> list[Path]:
    """Where an extracted `cifar-10-batches-py` is looked for, in order."""
    dirs = []
    for base in data_roots(root):
        dirs += [base / "cifar10" / BATCH_DIR, base / BATCH_DIR]
    return dirs


def candidate_archives(root: str | Path | None = None) -> list[Path]:
    archives = []
    for base in data_roots(root):
        archives += [base / "cifar10" / ARCHIVE, base / ARCHIVE]
    return archives


def find_cifar10_dir(root: str | Path | None = None) -> Path:
    """The first complete `cifar-10-batches-py` directory, extracting an archive (once) if that is all there is."""
    dirs = candidate_dirs(root)
    for directory in dirs:
        if all((directory / name).is_file() for name in FILES):
            return directory
    archives = candidate_archives(root)
    for archive in archives:
        if archive.is_file():
            return extract_cifar10(archive)
    incomplete = [d for d in dirs if d.is_dir()]
    detail = ""
    if incomplete:
        missing = [name for name in FILES if not (incomplete[0] / name).is_file()]
        detail = f" ({incomplete[0]} exists but lacks {', '.join(missing)})"
    raise DataError(
        f"cifar10 not found{detail}: looked for {BATCH_DIR}/ in {', '.join(str(d) for d in dirs)} and for {ARCHIVE} in "
        f"{', '.join(str(a) for a in archives)}. Fix: {not_found_fix('cifar10', root)}, or download {ARCHIVE} from "
        f"https://www.cs.toronto.edu/~kriz/cifar.html into {archives[0].parent} (it is extracted on first use)"
    )


def extract_cifar10(archive: Path) -> Path:
    """Extract the batch files of `archive` into `archive.parent / BATCH_DIR`, atomically per file."""
    target = archive.parent / BATCH_DIR
    staging = archive.parent / f".{BATCH_DIR}.extracting-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                found = set()
                for member in tar:
                    name = Path(member.name)
                    # only plain files directly inside cifar-10-batches-py/: no links, no path tricks
                    if not member.isfile() or len(name.parts) != 2 or name.parts[0] != BATCH_DIR or name.name.startswith("."):
                        continue
                    source = tar.extractfile(member)
                    if source is None:
                        continue
                    with source, open(staging / name.name, "wb") as sink:
                        shutil.copyfileobj(source, sink)
                    found.add(name.name)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
            raise DataError(f"{archive} is a truncated or corrupt archive ({error}); delete it and {FIX}") from error
        missing = [name for name in FILES if name not in found]
        if missing:
            raise DataError(f"{archive} does not contain {BATCH_DIR}/{', '.join(missing)}; delete it and {FIX}")
        target.mkdir(exist_ok=True)
        for name in sorted(found):
            os.replace(staging / name, target / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


class _ArrayUnpickler(pickle.Unpickler):
    """Admits only what the CIFAR batches hold: dicts, lists, bytes and numpy arrays."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes at pickle protocol 2 (re-pickled copies)
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module.startswith("numpy.core") and hasattr(np, "_core"):
            module = module.replace("numpy.core", "numpy._core", 1)  # numpy 2 renamed the module
        return getattr(importlib.import_module(module), name)


def read_batch(path: Path) -> dict:
    """One pickled batch as a dict with str keys."""
    try:
        with open(path, "rb") as handle:
            raw = _ArrayUnpickler(handle, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError, ImportError, OSError) as error:
        raise DataError(f"{path} is truncated or corrupt ({type(error).__name__}: {error}); "
                        f"delete {path.parent} and {FIX}") from error
    if not isinstance(raw, dict):
        raise DataError(f"{path} is not a CIFAR-10 batch (holds a {type(raw).__name__}); delete {path.parent} and {FIX}")
    return {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in raw.items()}


def _images_and_labels(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    batch = read_batch(path)
    data, labels = batch.get("data"), batch.get("labels")
    if data is None or labels is None:
        raise DataError(f"{path} lacks the 'data' or 'labels' entry of a CIFAR-10 batch; delete {path.parent} and {FIX}")
    data = np.asarray(data)
    labels = np.asarray(labels, dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise DataError(f"{path} holds data of shape {data.shape} ({data.dtype}) and {len(labels)} labels, expected "
                        f"(N, 3072) uint8 and N labels: the file is corrupt; delete {path.parent} and {FIX}")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASS_NAMES)):
        raise DataError(f"{path} has labels outside 0..9; delete {path.parent} and {FIX}")
    images = torch.from_numpy(data.reshape(-1, 3, 32, 32).copy())  # rows are R, G, B planes of 32x32
    return images, torch.from_numpy(labels)


def load_cifar10(root: str | Path | None, val_fraction: float, split_seed: int) -> Dataset:
    """CIFAR-10, uint8 (N, 3, 32, 32); validation carved from the 50k training images (seeded)."""
    directory = find_cifar10_dir(root)
    parts = [_images_and_labels(directory / name) for name in TRAIN_BATCHES]
    train = ImageSet(torch.cat([images for images, _ in parts]), torch.cat([labels for _, labels in parts]))
    test = ImageSet(*_images_and_labels(directory / TEST_BATCH))
    names = read_batch(directory / META).get("label_names")
    class_names = [n.decode() if isinstance(n, bytes) else str(n) for n in names] if names else CLASS_NAMES
    if len(class_names) != len(CLASS_NAMES):
        raise DataError(f"{directory / META} names {len(class_names)} classes, expected 10; delete {directory} and {FIX}")
    train, val = split_train_val(train, val_fraction, split_seed)
    return Dataset("cifar10", train, val, test, class_names, likelihood="gaussian", source=str(directory))
