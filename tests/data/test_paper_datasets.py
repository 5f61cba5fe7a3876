"""The paper's datasets from small files in their exact real formats: loading, labels, errors, a few training steps."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from simvae.data import DATASETS, load_dataset
from simvae.data import celeba as celeba_module
from simvae.data.cifar10 import read_batch
from simvae.errors import DataError

# ---------------------------------------------------------------------------------------------- MNIST

def test_mnist_loads_from_idx(isolated, fakes):
    arrays = fakes.write_mnist(isolated / "mnist")
    data = load_dataset("mnist", root=isolated, val_fraction=0.25, split_seed=0)
    assert data.image_shape == (1, 28, 28) and data.likelihood == "bernoulli"
    assert len(data.train) + len(data.val) == 24 and len(data.val) == 6 and len(data.test) == 10
    assert torch.equal(data.test.images[:, 0], torch.from_numpy(arrays["test_images"]))
    assert data.test.content.tolist() == arrays["test_labels"].tolist()


def test_mnist_truncated_file_is_a_data_error(isolated, fakes):
    fakes.write_mnist(isolated / "mnist")
    path = isolated / "mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_dataset("mnist", root=isolated)


# ---------------------------------------------------------------------------------------------- CIFAR-10

def test_cifar10_loads_from_pickle_batches(isolated, fakes):
    fakes.write_cifar_dir(isolated / "cifar10")
    data = load_dataset("cifar10", root=isolated, val_fraction=0.2, split_seed=3)
    assert data.image_shape == (3, 32, 32) and data.train.images.dtype == torch.uint8
    assert len(data.train) == 24 and len(data.val) == 6 and len(data.test) == 10
    assert data.class_names[0] == "airplane" and data.num_classes == {"content": 10}
    assert data.likelihood == "gaussian"
    raw = read_batch(isolated / "cifar10" / "cifar-10-batches-py" / "test_batch")
    # row layout: 1024 red, then green, then blue values, each a 32x32 image in row-major order
    assert torch.equal(data.test.images[2, 1].flatten(), torch.from_numpy(raw["data"][2, 1024:2048]))
    assert data.test.content.tolist() == raw["labels"]


def test_cifar10_also_found_directly_under_the_root(isolated, fakes):
    fakes.write_cifar_dir(isolated)
    assert len(load_dataset("cifar10", root=isolated).test) == 10


def test_cifar10_explicit_root_does_not_fall_back(isolated, fakes, monkeypatch):
    fakes.write_cifar_dir(isolated / "env")
    monkeypatch.setenv("SIMVAE_DATA", str(isolated / "env"))
    with pytest.raises(DataError) as error:
        load_dataset("cifar10", root=isolated / "typo")
    assert str(isolated / "typo") in str(error.value) and str(isolated / "env") not in str(error.value)
    assert load_dataset("cifar10").source == str(isolated / "env" / "cifar-10-batches-py")


def test_cifar10_archive_is_extracted_once(isolated, fakes):
    archive = isolated / "cifar10" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(fakes.cifar_archive())
    first = load_dataset("cifar10", root=isolated)
    batch_dir = isolated / "cifar10" / "cifar-10-batches-py"
    assert (batch_dir / "data_batch_5").is_file()
    stamp = (batch_dir / "test_batch").stat().st_mtime_ns
    archive.unlink()  # the extracted copy is what later runs use
    second = load_dataset("cifar10", root=isolated)
    assert torch.equal(first.test.images, second.test.images)
    assert (batch_dir / "test_batch").stat().st_mtime_ns == stamp


def test_cifar10_missing_names_places_and_fix(isolated):
    with pytest.raises(DataError) as error:
        load_dataset("cifar10", root=isolated)
    message = str(error.value)
    assert str(isolated / "cifar10" / "cifar-10-batches-py") in message
    assert "simvae data download cifar10" in message


def test_cifar10_incomplete_dir_says_what_is_missing(isolated, fakes):
    batch_dir = fakes.write_cifar_dir(isolated / "cifar10")
    (batch_dir / "data_batch_3").unlink()
    with pytest.raises(DataError, match="lacks data_batch_3"):
        load_dataset("cifar10", root=isolated)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong_shape"])
def test_cifar10_corrupt_batch_is_a_data_error(isolated, fakes, damage):
    batch_dir = fakes.write_cifar_dir(isolated / "cifar10")
    path = batch_dir / "data_batch_2"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:500])
    elif damage == "garbage":
        path.write_bytes(b"not a pickle at all")
    else:
        path.write_bytes(pickle.dumps({b"data": np.zeros((3, 100), dtype=np.uint8), b"labels": [0, 1, 2]}))
    with pytest.raises(DataError, match="data_batch_2"):
        load_dataset("cifar10", root=isolated)


def test_cifar10_pickle_cannot_run_code(isolated, fakes):
    batch_dir = fakes.write_cifar_dir(isolated / "cifar10")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (batch_dir / "data_batch_1").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(DataError, match="refusing to load builtins.print"):
        load_dataset("cifar10", root=isolated)


def test_cifar10_truncated_archive_is_a_data_error(isolated, fakes):
    archive = isolated / "cifar-10-python.tar.gz"
    archive.write_bytes(fakes.cifar_archive()[:300])
    with pytest.raises(DataError, match="simvae data download cifar10"):
        load_dataset("cifar10", root=isolated)


# ---------------------------------------------------------------------------------------------- CelebA

def test_celeba_loads_with_official_partition_and_hair_task(isolated, fakes):
    fakes.write_celeba(isolated / "celeba")
    data = load_dataset("celeba", root=isolated, val_fraction=0.3, split_seed=9)  # val_fraction ignored
    assert data.image_shape == (3, 64, 64) and data.train.images.dtype == torch.uint8
    # 24 images, every 6th has two hair colours and is dropped: train 16 -> 14, val 4 -> 3, test 4 -> 3
    assert (len(data.train), len(data.val), len(data.test)) == (14, 3, 3)
    assert data.class_names == ["black", "blond", "brown", "gray", "other"]
    assert data.num_classes == {"content": 5, "smiling": 2, "male": 2, "eyeglasses": 2, "bangs": 2, "pale_skin": 2}
    kept = [i for i in range(16) if i % 6 != 5]
    assert data.train.content.tolist() == [i % 6 for i in kept]
    assert data.train.styles["smiling"].tolist() == [i % 2 for i in kept]
    assert data.train.styles["male"].tolist() == [int(i % 3 == 0) for i in kept]
    assert data.train.styles["eyeglasses"].sum() == 0
    # flat-colour images: the centre crop resized to 64x64 keeps the colour (up to JPEG error), in file order
    for row, i in enumerate(kept):
        mean = data.train.images[row].float().mean(dim=(1, 2))
        assert torch.allclose(mean, torch.tensor(fakes.celeba_colour(i), dtype=torch.float), atol=4), (i, mean)


def test_celeba_cache_is_written_once_and_used(isolated, fakes):
    fakes.write_celeba(isolated / "celeba")
    first = load_dataset("celeba", root=isolated)
    cache = isolated / "celeba" / "celeba_64.pt"
    assert cache.is_file() and not list((isolated / "celeba").glob(".*tmp*"))
    for jpg in (isolated / "celeba" / "img_align_celeba").glob("*.jpg"):
        jpg.unlink()  # later runs need only the cache and the label files
    second = load_dataset("celeba", root=isolated)
    assert torch.equal(first.train.images, second.train.images) and torch.equal(first.test.content, second.test.content)


def test_celeba_stale_cache_is_rebuilt(isolated, fakes):
    fakes.write_celeba(isolated / "celeba")
    load_dataset("celeba", root=isolated)
    fakes.write_celeba(isolated / "celeba", n=30, partition=(20, 25))  # a different image list
    data = load_dataset("celeba", root=isolated)
    assert len(data.train) + len(data.val) + len(data.test) == 25


def test_celeba_other_content_task(isolated, fakes):
    fakes.write_celeba(isolated / "celeba")
    data = celeba_module.load_celeba(isolated, 0.1, 0, content_task="smiling", progress=False)
    assert (len(data.train), len(data.val), len(data.test)) == (16, 4, 4)  # nothing dropped for a binary task
    assert data.class_names == ["not Smiling", "Smiling"] and "smiling" not in data.style_classes
    assert "smiling" not in data.train.styles and data.train.content.tolist() == [i % 2 for i in range(16)]
    young = celeba_module.load_celeba(isolated, 0.1, 0, content_task="young", progress=False)
    assert young.num_classes["content"] == 2 and "smiling" in young.train.styles
    with pytest.raises(DataError, match="unknown CelebA task 'curly'"):
        celeba_module.load_celeba(isolated, 0.1, 0, content_task="curly", progress=False)


def test_celeba_missing_explains_manual_download(isolated):
    with pytest.raises(DataError) as error:
        load_dataset("celeba", root=isolated)
    message = str(error.value)
    for expected in ("img_align_celeba", "list_attr_celeba.txt", "list_eval_partition.txt", "cannot be downloaded",
                     "kaggle", str(isolated / "celeba")):
        assert expected in message


def test_celeba_missing_label_file_is_named(isolated, fakes):
    fakes.write_celeba(isolated / "celeba", n=6, partition=(4, 5))
    (isolated / "celeba" / "list_eval_partition.txt").unlink()
    with pytest.raises(DataError, match="has only list_attr_celeba.txt, img_align_celeba"):
        load_dataset("celeba", root=isolated)


def test_celeba_corrupt_jpeg_is_a_data_error(isolated, fakes):
    fakes.write_celeba(isolated / "celeba", n=6, partition=(4, 5))
    jpg = isolated / "celeba" / "img_align_celeba" / "000003.jpg"
    jpg.write_bytes(jpg.read_bytes()[:200])
    with pytest.raises(DataError, match="000003.jpg is not a readable image"):
        load_dataset("celeba", root=isolated)
    assert not (isolated / "celeba" / "celeba_64.pt").exists()


def test_celeba_truncated_attribute_file_is_a_data_error(isolated, fakes):
    fakes.write_celeba(isolated / "celeba", n=6, partition=(4, 5))
    attr = isolated / "celeba" / "list_attr_celeba.txt"
    attr.write_text("\n".join(attr.read_text().splitlines()[:-2]) + "\n")
    with pytest.raises(DataError, match="list_attr_celeba.txt is truncated or corrupt"):
        load_dataset("celeba", root=isolated)


def test_registry_lists_the_paper_datasets():
    assert {"mnist", "fashion-mnist", "cifar10", "celeba"} <= set(DATASETS)


# ---------------------------------------------------------------------------------------------- training smoke runs

def _write(name, root, fakes):
    if name in ("mnist", "fashion-mnist-canvas"):
        fakes.write_mnist(root / name.removesuffix("-canvas"))
    elif name == "cifar10":
        fakes.write_cifar_dir(root / "cifar10")
    else:
        fakes.write_celeba(root / "celeba")


def _smoke_methods():
    from simvae.methods import METHODS

    assert "simvae" in METHODS
    return [m for m in ("simvae", "simclr") if m in METHODS]


@pytest.mark.parametrize("method", _smoke_methods())
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist-canvas", "cifar10", "celeba"])
def test_few_training_steps(isolated, fakes, tmp_path, name, method):
    from simvae.config import load_config
    from simvae.training import train

    _write(name, isolated, fakes)
    config = load_config(overrides=[f"data.name={name}", f"data.root={isolated}", "train.epochs=1",
                                    "train.batch_size=4", "net.latent_dim=4", f"method.name={method}",
                                    "train.checkpoint_every=1000"])
    state = train(config, tmp_path / "run", max_steps=2, progress=False)
    assert state["step"] == 2
    assert (tmp_path / "run" / "checkpoint.pt").is_file()


@pytest.mark.parametrize("name,backbone", [("cifar10", "resnet18-official"), ("celeba", "resnet18-official"),
                                           ("cifar10", "resnet18")])
def test_few_training_steps_with_resnets(isolated, fakes, tmp_path, name, backbone):
    from simvae.config import load_config
    from simvae.training import train

    _write(name, isolated, fakes)
    config = load_config(overrides=[f"data.name={name}", f"data.root={isolated}", "train.epochs=1", "train.batch_size=4",
                                    "net.latent_dim=4", f"net.backbone={backbone}", "train.checkpoint_every=1000"])
    state = train(config, tmp_path / "run", max_steps=2, progress=False)
    assert state["step"] == 2
