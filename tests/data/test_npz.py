"""The npz dataset from real .npz files: each image layout, labels, splits, and one-line errors naming the fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simvae import resources
from simvae.data import DATASETS, load_dataset, npz
from simvae.errors import DataError

N = 36


def arrays(layout: str = "nhw", n: int = N, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = {"nhw": (n, 12, 12), "nhwc": (n, 12, 12, 3), "nchw": (n, 3, 12, 12), "nhw1": (n, 12, 12, 1),
             "n1hw": (n, 1, 12, 12)}[layout]
    return {"images": rng.integers(0, 256, shape, dtype=np.uint8), "content": np.arange(n) % 4,
            "hue": (np.arange(n) // 4 % 3).astype(np.uint8)}


def save(path, **values):
    np.savez(path, **values)
    return path


def load_error(root) -> str:
    with pytest.raises(DataError) as error:
        load_dataset("npz", root)
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("layout", ["nhw", "nhwc", "nchw", "nhw1", "n1hw"])
def test_single_file_in_every_layout(tmp_path, layout):
    values = arrays(layout)
    path = save(tmp_path / "mine.npz", **values)
    data = load_dataset("npz", path, val_fraction=0.2, split_seed=1)
    colour = layout in ("nhwc", "nchw")
    assert data.image_shape == ((3 if colour else 1), 12, 12) and data.train.images.dtype == torch.uint8
    assert (len(data.test), len(data.train) + len(data.val)) == (6, 30)  # a seeded 1/6 held out
    assert data.class_names == ["0", "1", "2", "3"] and data.style_classes == {"hue": 3}
    assert data.num_classes == {"content": 4, "hue": 3} and data.train.content.dtype == torch.int64
    assert (data.likelihood, data.augment_preset) == (("gaussian", "cifar10") if colour else ("bernoulli", "fashion-mnist"))
    assert data.source.startswith(str(path))
    # the pixels of an image are where the layout rule says they are
    images = torch.from_numpy(values["images"])
    expected = images.unsqueeze(1) if layout == "nhw" else images.permute(0, 3, 1, 2) if layout in ("nhwc", "nhw1") else images
    everything = torch.cat([data.train.images, data.val.images, data.test.images])
    assert sorted(map(bytes, everything.flatten(1).numpy())) == sorted(map(bytes, expected.flatten(1).numpy()))
    again = load_dataset("npz", path, val_fraction=0.2, split_seed=2)
    assert torch.equal(data.test.images, again.test.images)  # the test split ignores split_seed


def test_train_and_test_files_with_class_names(tmp_path):
    names = np.array(["cat", "dog", "emu", "fox"])
    save(tmp_path / "train.npz", **arrays("nhwc"), class_names=names)
    save(tmp_path / "test.npz", **arrays("nhwc", n=8, seed=1))
    data = load_dataset("npz", tmp_path, val_fraction=0.25)
    assert (len(data.train), len(data.val), len(data.test)) == (27, 9, 8)
    assert data.class_names == ["cat", "dog", "emu", "fox"] and data.source == str(tmp_path)
    assert DATASETS["npz"].locate(tmp_path) == f"{tmp_path / 'train.npz'}, {tmp_path / 'test.npz'}"


def test_grey_images_over_64_px_are_gaussian(tmp_path):
    values = {"images": np.zeros((12, 80, 80), dtype=np.uint8), "content": np.arange(12) % 2}
    data = load_dataset("npz", save(tmp_path / "big.npz", **values))
    assert (data.likelihood, data.augment_preset) == ("gaussian", "fashion-mnist")


def test_with_train_limit_keeps_every_field(tmp_path):
    data = load_dataset("npz", save(tmp_path / "x.npz", **arrays("nhwc")))
    limited = data.with_train_limit(5)
    assert len(limited.train) == 5 and limited.augment_preset == "cifar10" and limited.source == data.source
    assert limited.likelihood == data.likelihood and limited.style_classes == data.style_classes


def test_root_must_be_set_and_exist(tmp_path):
    with pytest.raises(DataError, match=r"needs data.root \(--root\)"):
        DATASETS["npz"].locate(None)
    message = load_error(tmp_path / "typo.npz")
    assert str(tmp_path / "typo.npz") in message and "does not exist" in message
    message = load_error(tmp_path)
    assert str(tmp_path) in message and "train.npz and test.npz" in message


@pytest.mark.parametrize("change, words", [
    ({"images": np.zeros((N, 12, 12), dtype=np.float32)}, ["'images'", "float32", "astype(np.uint8)"]),
    ({"images": np.zeros((N, 12, 12), dtype=np.int64)}, ["'images'", "int64", "uint8"]),
    ({"images": np.zeros((N, 12, 12, 2), dtype=np.uint8)}, ["'images'", "(36, 12, 12, 2)", "C = 1"]),
    ({"content": np.arange(N - 1) % 4}, ["'content'", "(35,)", "expected (36,)"]),
    ({"hue": np.arange(N + 2) % 3}, ["'hue'", "(38,)", "one label per image"]),
    ({"content": np.linspace(0, 3, N)}, ["'content'", "float64", "integers"]),
    ({"hue": np.arange(N) % 3 == 0}, ["'hue'", "bool", "integers"]),
    ({"content": np.arange(N) % 4 - 1}, ["'content'", "negative label -1", "0..K-1"]),
    ({"content": (np.arange(N) % 4) * 2}, ["'content'", "label 6", "outside 0..3", "np.unique"]),
    ({"class_names": np.array(["a", "b", "c"])}, ["'content'", "label 3", "outside 0..2", "class_names"]),
])
def test_bad_arrays_are_one_line_errors_naming_file_and_array(tmp_path, change, words):
    path = save(tmp_path / "bad.npz", **{**arrays(), **change})
    message = load_error(path)
    assert str(path) in message
    for word in words:
        assert word in message, (word, message)


def test_missing_content_and_object_arrays(tmp_path):
    values = arrays()
    del values["content"]
    message = load_error(save(tmp_path / "a.npz", **values))
    assert "no array 'content'" in message and "np.savez" in message
    path = save(tmp_path / "b.npz", **arrays(), class_names=np.array(["a", None, "c", "d"], dtype=object))
    message = load_error(path)
    assert str(path) in message and "'class_names'" in message and "dtype=str" in message
    (tmp_path / "c.npz").write_bytes(b"not a zip")
    assert "not a readable .npz file" in load_error(tmp_path / "c.npz")


def test_train_and_test_must_match(tmp_path):
    save(tmp_path / "train.npz", **arrays())
    values = arrays(n=8)
    del values["hue"]
    save(tmp_path / "test.npz", **values)
    message = load_error(tmp_path)
    assert str(tmp_path / "test.npz") in message and "same arrays" in message


def test_label_range_is_checked_over_both_files(tmp_path):
    save(tmp_path / "train.npz", **arrays())
    save(tmp_path / "test.npz", **{**arrays(n=8), "content": np.full(8, -2)})
    message = load_error(tmp_path)
    assert str(tmp_path / "test.npz") in message and "negative label -2" in message


def test_arrays_larger_than_the_free_memory_are_refused_from_their_header(tmp_path, monkeypatch):
    np.savez(tmp_path / "data.npz", images=np.zeros((64, 16, 16), np.uint8), content=np.arange(64) % 4)
    monkeypatch.setattr(resources, "available_memory", lambda: 1000)  # a machine with 1000 bytes free
    with pytest.raises(DataError, match=r"array 'images' \(\(64, 16, 16\) uint8\) takes 16.0 KiB, more than the 1000 "
                       "bytes of memory this machine has available"):
        npz.read_npz(tmp_path / "data.npz")
