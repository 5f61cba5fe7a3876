"""In-memory image datasets: uint8 tensors plus a content label and named style labels."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch


@dataclass
class ImageSet:
    """One split. `images` is uint8 (N, C, H, W); labels are int64 (N,).

    `content` is what SSL should be invariant to augmentations *of*: the class. `styles` maps a style
    factor's name (e.g. "pos_x", "hue") to an int64 label (binned where the factor is continuous).
    """

    images: torch.Tensor
    content: torch.Tensor
    styles: dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {self.images.dtype} {tuple(self.images.shape)}")
        n = len(self.images)
        for name, labels in {"content": self.content, **self.styles}.items():
            if labels.shape != (n,):
                raise ValueError(f"label {name!r} has shape {tuple(labels.shape)}, expected ({n},)")

    def __len__(self) -> int:
        return len(self.images)

    def labels(self) -> dict[str, torch.Tensor]:
        """All label tasks, content first."""
        return {"content": self.content, **self.styles}

    def subset(self, index: torch.Tensor) -> "ImageSet":
        return ImageSet(self.images[index], self.content[index], {k: v[index] for k, v in self.styles.items()})


@dataclass
class Dataset:
    """A dataset's three splits and what a model needs to know about it."""

    name: str
    train: ImageSet
    val: ImageSet
    test: ImageSet
    class_names: list[str]
    style_classes: dict[str, int] = field(default_factory=dict)  # style task -> number of classes
    likelihood: str = "gaussian"  # the natural p(x|z): "bernoulli" for (near-)binary images
    source: str = ""  # where the data came from, for provenance
    augment_preset: str = ""  # the preset `augment.preset=auto` picks; "" means the preset named like the dataset

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train.images.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> dict[str, int]:
        return {"content": len(self.class_names), **self.style_classes}

    def with_train_limit(self, limit: int | None) -> "Dataset":
        if limit is None or limit >= len(self.train):
            return self
        return replace(self, train=self.train.subset(torch.arange(limit)))


def split_train_val(train: ImageSet, val_fraction: float, seed: int) -> tuple[ImageSet, ImageSet]:
    """Carve a seeded, shuffled validation split out of the training split."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(train), generator=generator)
    n_val = max(1, int(round(len(train) * val_fraction)))
    return train.subset(order[n_val:].sort().values), train.subset(order[:n_val].sort().values)
