"""Fashion-MNIST on a canvas: real images whose style is known, for probing what a method keeps.

Each 28x28 item is resized to a random side of 17-28 pixels (antialiased bilinear), pasted onto a black
40x40 canvas at a random integer offset and scaled by a random brightness. Size, offsets and brightness
are drawn from a fixed seed per split, so the variant is a deterministic function of the real files.
Content stays the clothing class; style is the position (pos_x, pos_y: the offset as a fraction of the
free space, so independent of the size), the brightness and the scale (the item's side), each binned into
3 labels. The `fashion-mnist-canvas` augmentation preset crops (moving and rescaling the item) and
re-brightens it, so invariance to augmentations means losing all four.

`fashion-mnist-canvas-control` is the same data with the same labels, trained with the same augmentations
minus the brightness change (the `fashion-mnist` preset: crop and vertical flip), so brightness is a labelled
factor no augmentation varies: a method that loses brightness on the canvas but keeps it here loses it
because of the augmentations (docs/datasets.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional

from simvae.data.base import Dataset, ImageSet, split_train_val
from simvae.data.mnist import CLASS_NAMES, read_idx_splits

CANVAS = 40
ITEM = 28
SIZES = (17, 28)  # item side in pixels, inclusive: 12 sizes, 4 per scale label
BRIGHTNESS = (0.3, 1.0)
BINS = 3
SPLIT_SEEDS = {"train": 0, "test": 1}  # fixed: the variant must not depend on any run's seed
STYLE_CLASSES = {"pos_x": BINS, "pos_y": BINS, "brightness": BINS, "scale": BINS}
CONTROL_PRESET = "fashion-mnist"  # the canvas preset without its brightness change


@dataclass
class Placement:
    """Where and how each item lands: top-left offset (x, y), side length and brightness factor."""

    x: torch.Tensor
    y: torch.Tensor
    size: torch.Tensor
    brightness: torch.Tensor

    def styles(self) -> dict[str, torch.Tensor]:
        free = (CANVAS - self.size + 1).float()  # the number of possible offsets at this size
        return {"pos_x": bin_factor(self.x / free, 0, 1), "pos_y": bin_factor(self.y / free, 0, 1),
                "brightness": bin_factor(self.brightness, *BRIGHTNESS), "scale": bin_factor(self.size.float(), SIZES[0], SIZES[1] + 1)}


def bin_factor(values: torch.Tensor, low: float, high: float, bins: int = BINS) -> torch.Tensor:
    """Equal-width bins of [low, high] -> int64 labels 0..bins-1."""
    return ((values - low) / (high - low) * bins).long().clamp_(0, bins - 1)


def draw_placement(n: int, seed: int) -> Placement:
    generator = torch.Generator().manual_seed(seed)
    size = torch.randint(SIZES[0], SIZES[1] + 1, (n,), generator=generator)
    free = CANVAS - size + 1
    x = (torch.rand(n, generator=generator) * free).long()
    y = (torch.rand(n, generator=generator) * free).long()
    brightness = BRIGHTNESS[0] + (BRIGHTNESS[1] - BRIGHTNESS[0]) * torch.rand(n, generator=generator)
    return Placement(x, y, size, brightness)


def paste(items: torch.Tensor, placement: Placement) -> torch.Tensor:
    """(N, 1, 28, 28) uint8 items -> (N, 1, 40, 40) uint8 canvases, one resize per distinct size."""
    canvas = torch.zeros(len(items), CANVAS, CANVAS, dtype=torch.uint8)
    for side in placement.size.unique().tolist():
        index = (placement.size == side).nonzero().squeeze(1)
        resized = functional.interpolate(items[index].float(), size=(side, side), mode="bilinear", antialias=True)
        scaled = (resized[:, 0] * placement.brightness[index, None, None]).round_().clamp_(0, 255).to(torch.uint8)
        # item i's pixels land at rows y..y+side-1 and columns x..x+side-1 of its canvas
        rows = (placement.y[index, None] + torch.arange(side))[:, :, None].expand(-1, side, side)
        cols = (placement.x[index, None] + torch.arange(side))[:, None, :].expand(-1, side, side)
        canvas[index[:, None, None], rows, cols] = scaled
    return canvas.unsqueeze(1)


def place_on_canvas(items: ImageSet, seed: int) -> ImageSet:
    """Resize, place and dim each (1, 28, 28) item on a (1, 40, 40) canvas from `seed`; label the style."""
    placement = draw_placement(len(items), seed)
    return ImageSet(paste(items.images, placement), items.content, placement.styles())


def load_canvas_dataset(root: str | Path | None, val_fraction: float, split_seed: int, control: bool = False) -> Dataset:
    train, test, directory = read_idx_splits("fashion-mnist", root)
    train = place_on_canvas(train, SPLIT_SEEDS["train"])
    test = place_on_canvas(test, SPLIT_SEEDS["test"])
    train, val = split_train_val(train, val_fraction, split_seed)
    name = "fashion-mnist-canvas-control" if control else "fashion-mnist-canvas"
    return Dataset(name, train, val, test, CLASS_NAMES["fashion-mnist"], dict(STYLE_CLASSES), likelihood="bernoulli",
                   source=f"{directory} (placed on a {CANVAS}x{CANVAS} canvas)", augment_preset=CONTROL_PRESET if control else "")
