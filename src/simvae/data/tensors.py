"""Data passed from Python (`simvae.train(..., data=...)`), converted once to simvae's in-memory uint8 tensors.

Accepted, as `data`:
* a `torch.utils.data.Dataset` (map-style: `len` and indexing) whose items are `(image, content)` or
  `(image, content, {"style_name": label, ...})`; a `classes` attribute (a list of names, as torchvision's
  datasets have) names the content classes;
* a tuple `(images, content)` or `(images, content, {"style_name": labels, ...})` of tensors or NumPy arrays;
* a mapping laid out like an `.npz` file: `{"images": ..., "content": ..., "class_names": [...], "style_name": ...}`.

Images: (N, C, H, W), (N, H, W, C) or (N, H, W), C = 1 (grey) or 3 (RGB), the layout read as for `.npz` files
(channels last when the last axis is 1 or 3); uint8 in 0..255 or floats in [0, 1] (rounded to the nearest of the
256 levels). Labels: integers (N,) numbering the classes 0..K-1. As for an `.npz` file, a seeded 1/6 is held out
as the test split (the same images every run) and validation is carved from the rest (`data.val_fraction`,
`data.split_seed`); grey images up to 64 px get a Bernoulli likelihood, others a Gaussian one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset
from tqdm.auto import tqdm

from simvae.data.base import Dataset, ImageSet
from simvae.data.custom import check_labels, custom_dataset
from simvae.errors import DataError

CUSTOM = "custom"  # data.name of a run whose data was passed from Python
READ_BATCH = 256
FORMS = ("a torch Dataset of (image, content[, {style: label}]) items, a tuple (images, content[, {style: labels}]) "
         "or a mapping {'images': ..., 'content': ..., style: labels}")


def class_name(value: object) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


@dataclass
class PythonData:
    """All the images and labels passed, before the splits."""

    images: ImageSet
    class_names: list[str]
    style_classes: dict[str, int]
    source: str

    def dataset(self, val_fraction: float, split_seed: int) -> Dataset:
        return custom_dataset(CUSTOM, self.images, None, self.class_names, self.style_classes, val_fraction, split_seed,
                              self.source)


def to_uint8_nchw(images: Any, what: str) -> torch.Tensor:
    """uint8 (N, C, H, W) from a tensor or array (N, C, H, W), (N, H, W, C) or (N, H, W), uint8 or float in [0, 1]."""
    images = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images).detach().cpu()
    if images.dim() == 3:
        images = images.unsqueeze(1)
    elif images.dim() == 4 and images.shape[-1] in (1, 3):
        images = images.permute(0, 3, 1, 2)
    elif images.dim() != 4 or images.shape[1] not in (1, 3):
        raise DataError(f"{what} has shape {tuple(images.shape)}; expected (N, C, H, W), (N, H, W, C) or (N, H, W) with "
                        "C = 1 (grey) or 3 (RGB)")
    if images.is_floating_point():
        low, high = (images.min().item(), images.max().item()) if images.numel() else (0.0, 0.0)
        if low < 0 or high > 1:
            raise DataError(f"{what} holds floats in [{low:g}, {high:g}]; expected [0, 1]: divide 0..255 values by 255")
        images = (images * 255).round()
    elif images.dtype != torch.uint8:
        raise DataError(f"{what} is {images.dtype}; expected uint8 0..255 or float in [0, 1], e.g. images.to(torch.uint8) "
                        "for integers in 0..255")
    return images.to(torch.uint8).contiguous()


def to_labels(labels: Any, what: str, n: int) -> np.ndarray:
    values = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    if values.dtype.kind not in "iu" or values.shape != (n,):
        raise DataError(f"{what} is {values.dtype} {values.shape}; expected integers (N,) = ({n},), one class 0..K-1 per "
                        "image, e.g. np.digitize(x, bins) for a continuous factor")
    return values.astype(np.int64)


def read_torch_dataset(dataset: TorchDataset, what: str, progress: bool = True) -> dict[str, Any]:
    """{"images", "content", style: labels} from a map-style torch Dataset, read once in batches."""
    if not hasattr(dataset, "__len__") or len(dataset) == 0:
        raise DataError(f"{what} must be a map-style torch Dataset with a length and at least one item")
    first = dataset[0]
    if not isinstance(first, (tuple, list)) or len(first) not in (2, 3) or len(first) == 3 and not isinstance(first[2], Mapping):
        got = f"a {type(first).__name__}" + (f" of {len(first)}" if isinstance(first, (tuple, list)) else "")
        raise DataError(f"{what}'s items must be (image, content) or (image, content, {{style: label}}), got {got}")
    parts: dict[str, list[torch.Tensor]] = {}
    try:
        for batch in tqdm(DataLoader(dataset, batch_size=READ_BATCH), desc=f"reading {type(dataset).__name__}", leave=False,
                          disable=not progress):
            for key, value in {"images": batch[0], "content": batch[1], **(batch[2] if len(batch) == 3 else {})}.items():
                parts.setdefault(key, []).append(value if key != "images" else to_uint8_nchw(value, f"{what}'s images"))
    except DataError:
        raise
    except (TypeError, RuntimeError, KeyError) as error:  # default_collate's complaints: PIL images, ragged shapes, keys
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{what}'s items cannot be stacked ({reason}): images must be tensors or arrays of one shape, "
                        "labels integers, and every item must name the same style labels") from None
    return {key: torch.cat(values) for key, values in parts.items()}


def as_arrays(data: Any, what: str, progress: bool = True) -> tuple[dict[str, Any], list[str] | None]:
    """{"images", "content", style: labels} and the class names, if given, from any accepted form."""
    if isinstance(data, Mapping):
        arrays = dict(data)
        names = arrays.pop("class_names", None)
        missing = [key for key in ("images", "content") if key not in arrays]
        if missing:
            raise DataError(f"{what} lacks {' and '.join(map(repr, missing))}; it has {sorted(map(str, data))}; pass {FORMS}")
        return arrays, (None if names is None else [str(name) for name in names])
    if isinstance(data, TorchDataset):
        names = getattr(data, "classes", None)
        return read_torch_dataset(data, what, progress), ([str(n) for n in names] if isinstance(names, (list, tuple)) else None)
    if isinstance(data, (tuple, list)) and len(data) in (2, 3) and (len(data) == 2 or isinstance(data[2], Mapping)):
        return {"images": data[0], "content": data[1], **(data[2] if len(data) == 3 else {})}, None
    raise DataError(f"data= got {type(data).__name__}; pass {FORMS}")


def from_python(data: Any, progress: bool = True) -> PythonData:
    """Check and convert what was passed as `data` (see the module's docstring); `progress` shows a torch Dataset's
    reading."""
    what = "data" if type(data).__module__ == "builtins" else f"data ({class_name(data)})"
    arrays, names = as_arrays(data, what, progress)
    images = to_uint8_nchw(arrays.pop("images"), f"{what}'s images")
    labels = {key: to_labels(value, f"{what}'s label {key!r}", len(images)) for key, value in arrays.items()}
    classes = {key: check_labels([(f"{what}'s label {key!r}", values)], names if key == "content" else None)
               for key, values in labels.items()}
    content = torch.from_numpy(labels.pop("content"))
    n_content = classes.pop("content")
    image_set = ImageSet(images, content, {key: torch.from_numpy(values) for key, values in labels.items()})
    return PythonData(image_set, names or [str(i) for i in range(n_content)], classes,
                      f"{class_name(data)} passed from Python ({len(images)} images)")
