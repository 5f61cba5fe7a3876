"""Small datasets written in the exact on-disk formats of the real ones (IDX, CIFAR pickles, CelebA files)."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from simvae.data import celeba, mnist
from simvae.data.idx import write_idx

CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair Blond_Hair "
    "Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones Male "
    "Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks "
    "Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace "
    "Wearing_Necktie Young"
).split()
HAIR_PATTERN = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair", None, ("Black_Hair", "Blond_Hair")]


def write_mnist(directory: Path, n_train: int = 24, n_test: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    """The four gzipped IDX files of MNIST; returns the arrays written."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for key, stem in mnist.IDX_FILES.items():
        write_idx(directory / f"{stem}.gz", arrays[key])
    return arrays


def cifar_batches(per_batch: int = 6, n_test: int = 10, seed: int = 0) -> dict[str, bytes]:
    """The pickled files of cifar-10-batches-py: bytes keys, (N, 3072) uint8 data, list labels."""
    rng = np.random.default_rng(seed)
    files = {}
    for name, n in [*((f"data_batch_{i}", per_batch) for i in range(1, 6)), ("test_batch", n_test)]:
        batch = {
            b"batch_label": f"{name} of 5".encode(),
            b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [f"img_{i}.png".encode() for i in range(n)],
        }
        files[name] = pickle.dumps(batch, protocol=2)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    files["batches.meta"] = pickle.dumps({b"label_names": [n.encode() for n in names], b"num_vis": 3072,
                                          b"num_cases_per_batch": per_batch}, protocol=2)
    return files


def write_cifar_dir(directory: Path, **kwargs) -> Path:
    batch_dir = directory / "cifar-10-batches-py"
    batch_dir.mkdir(parents=True, exist_ok=True)
    for name, raw in cifar_batches(**kwargs).items():
        (batch_dir / name).write_bytes(raw)
    return batch_dir


def cifar_archive(**kwargs) -> bytes:
    """cifar-10-python.tar.gz as the real one is laid out (plus readme.html)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py")
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        for name, raw in {**cifar_batches(**kwargs), "readme.html": b"<html></html>"}.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


def celeba_colour(i: int) -> tuple[int, int, int]:
    return (10 * i) % 256, (255 - 9 * i) % 256, (40 + 5 * i) % 256


def write_celeba(directory: Path, n: int = 24, partition: tuple[int, int] = (16, 20)) -> dict:
    """img_align_celeba/*.jpg (178x218, flat colour per image), list_attr_celeba.txt, list_eval_partition.txt.

    Hair colour cycles black, blond, brown, gray, none, black+blond (the last is dropped by the hair task);
    images [0, 16) are train, [16, 20) validation, the rest test.
    """
    from PIL import Image

    images = directory / "img_align_celeba"
    images.mkdir(parents=True, exist_ok=True)
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    rows = []
    for i, name in enumerate(names):
        Image.new("RGB", (178, 218), celeba_colour(i)).save(images / name, quality=95)
        values = np.full(len(CELEBA_ATTRIBUTES), -1)
        hair = HAIR_PATTERN[i % len(HAIR_PATTERN)]
        for attribute in (hair,) if isinstance(hair, str) else hair or ():
            values[CELEBA_ATTRIBUTES.index(attribute)] = 1
        values[CELEBA_ATTRIBUTES.index("Smiling")] = 1 if i % 2 else -1
        values[CELEBA_ATTRIBUTES.index("Male")] = 1 if i % 3 == 0 else -1
        rows.append(f"{name} " + " ".join(f"{v:2d}" for v in values))
    (directory / "list_attr_celeba.txt").write_text(f"{n}\n{' '.join(CELEBA_ATTRIBUTES)}\n" + "\n".join(rows) + "\n")
    splits = [0 if i < partition[0] else 1 if i < partition[1] else 2 for i in range(n)]
    (directory / "list_eval_partition.txt").write_text("".join(f"{name} {s}\n" for name, s in zip(names, splits)))
    return {"names": names, "splits": splits}


@pytest.fixture
def fakes() -> SimpleNamespace:
    return SimpleNamespace(write_mnist=write_mnist, cifar_batches=cifar_batches, write_cifar_dir=write_cifar_dir,
                           cifar_archive=cifar_archive, write_celeba=write_celeba, celeba_colour=celeba_colour,
                           hair_pattern=HAIR_PATTERN)


@pytest.fixture
def isolated(tmp_path, monkeypatch) -> Path:
    """No real data on the search path: HOME (~/.cache/simvae) in tmp, no $SIMVAE_DATA, no system dirs."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SIMVAE_DATA", raising=False)
    monkeypatch.delenv("SIMVAE_DOWNLOAD_URL", raising=False)
    monkeypatch.setattr(mnist, "SYSTEM_DIRS", {})
    monkeypatch.setattr(celeba, "SYSTEM_DIRS", [])
    root = tmp_path / "data"
    root.mkdir()
    return root
