"""Data passed from Python: every accepted form converts to the same uint8 tensors and the same seeded splits as an
.npz file of those arrays; wrong dtypes, ranges, shapes and labels are one DataError naming the fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset, TensorDataset

from simvae.data import DATASETS, load_dataset, provided
from simvae.data.tensors import from_python
from simvae.errors import DataError

N = 36


def arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"images": rng.integers(0, 256, (N, 3, 12, 12), dtype=np.uint8), "content": np.arange(N) % 4,
            "hue": np.arange(N) // 4 % 3}


class Items(Dataset):
    """(image (H, W, C) float in [0, 1], content, {"hue": h}) items, as a user's Dataset might give them."""

    def __init__(self, values: dict[str, np.ndarray]) -> None:
        self.values = values

    def __len__(self) -> int:
        return len(self.values["images"])

    def __getitem__(self, i: int):
        image = torch.from_numpy(self.values["images"][i]).permute(1, 2, 0).float() / 255
        return image, int(self.values["content"][i]), {"hue": int(self.values["hue"][i])}


def same_splits(a, b) -> bool:
    return all(torch.equal(getattr(a, s).images, getattr(b, s).images) and torch.equal(getattr(a, s).content, getattr(b, s).content)
               and getattr(a, s).styles.keys() == getattr(b, s).styles.keys()
               and all(torch.equal(getattr(a, s).styles[k], getattr(b, s).styles[k]) for k in getattr(a, s).styles)
               for s in ("train", "val", "test"))


def test_every_form_gives_the_npz_files_tensors_and_splits(tmp_path):
    values = arrays()
    np.savez(tmp_path / "mine.npz", **values)
    reference = load_dataset("npz", tmp_path / "mine.npz", val_fraction=0.2, split_seed=3)
    channels_last_float = torch.from_numpy(values["images"]).permute(0, 2, 3, 1).float() / 255
    forms = [
        values,  # the .npz layout as a mapping of arrays
        (torch.from_numpy(values["images"]), torch.from_numpy(values["content"]), {"hue": values["hue"]}),
        (channels_last_float, values["content"], {"hue": torch.from_numpy(values["hue"])}),  # floats in [0, 1], (N, H, W, C)
        Items(values),  # a torch Dataset, read in batches
    ]
    for form in forms:
        data = from_python(form, progress=False).dataset(0.2, 3)
        assert same_splits(data, reference), type(form).__name__
        assert data.name == "custom" and data.likelihood == "gaussian" and data.style_classes == {"hue": 3}
    assert len(reference.test) == N // 6  # a seeded sixth held out, as for a single .npz file


def test_class_names_come_from_the_mapping_or_the_datasets_classes():
    values = arrays()
    assert from_python({**values, "class_names": ["a", "b", "c", "d"]}).class_names == ["a", "b", "c", "d"]
    dataset = TensorDataset(torch.from_numpy(values["images"]), torch.from_numpy(values["content"]))
    dataset.classes = ["w", "x", "y", "z"]
    converted = from_python(dataset, progress=False)
    assert converted.class_names == ["w", "x", "y", "z"] and converted.style_classes == {}
    grey = from_python((values["images"][:, 0], values["content"]))  # (N, H, W): grey, Bernoulli likelihood
    assert grey.images.images.shape == (N, 1, 12, 12) and grey.dataset(0.1, 0).likelihood == "bernoulli"


@pytest.mark.parametrize(("data", "message"), [
    ((np.full((N, 3, 8, 8), 2.0), np.zeros(N, int)), r"data.s images holds floats in \[2, 2\]; expected \[0, 1\]: divide 0..255 values by 255"),
    ((np.zeros((N, 3, 8, 8), np.int64), np.zeros(N, int)), "is torch.int64; expected uint8 0..255 or float in"),
    ((np.zeros((N, 2, 8, 8), np.uint8), np.zeros(N, int)), r"shape \(36, 2, 8, 8\); expected \(N, C, H, W\)"),
    ((np.zeros((N, 3, 8, 8), np.uint8), np.zeros(N, float)), r"label 'content' is float64 \(36,\); expected integers"),
    ((np.zeros((N, 3, 8, 8), np.uint8), np.zeros(N - 1, int)), r"expected integers \(N,\) = \(36,\)"),
    ((np.zeros((N, 3, 8, 8), np.uint8), np.arange(N) % 4 * 2), r"label 'content' holds the label 6, outside 0..3"),
    ({"images": np.zeros((N, 3, 8, 8), np.uint8)}, "lacks 'content'"),
    ([1, 2, 3, 4], "data= got list; pass a torch Dataset"),
    (TensorDataset(torch.zeros(N, 3, 8, 8)), r"items must be \(image, content\)"),
])
def test_bad_data_is_one_error_naming_the_fix(data, message):
    with pytest.raises(DataError, match=message) as error:
        from_python(data, progress=False)
    assert "\n" not in str(error.value)


def test_provided_data_is_the_custom_dataset_only_within_the_block():
    with pytest.raises(DataError, match="data.name=custom is data passed from Python: pass it again"):
        load_dataset("custom")
    with provided(arrays(), progress=False):
        assert len(load_dataset("custom", val_fraction=0.2).test) == N // 6
        with pytest.raises(DataError, match="already provided"):
            with provided(arrays(), progress=False):
                pass
    assert "custom" not in DATASETS
