"""Fashion-MNIST on a canvas: real images whose style is known, for probing what a method keeps.

Each 28x28 item is pasted onto a black 40x40 canvas at a random integer offset and scaled by a random
brightness. The offsets and the brightness are drawn from a fixed seed per split, so the variant is a
deterministic function of the real files. Content stays the clothing class; style is the position
(pos_x, pos_y) and the brightness, each binned into 3 labels. The `fashion-mnist-canvas` augmentation
preset moves, rescales and re-brightens the item, so invariance to augmentations means losing these.
"""

from __future__ import annotations

from pathlib import Path

import torch

from simvae.data.base import Dataset, ImageSet, split_train_val
from simvae.data.mnist import CLASS_NAMES, read_idx_splits

CANVAS = 40
ITEM = 28
MAX_OFFSET = CANVAS - ITEM  # offsets 0..12 pixels
BRIGHTNESS = (0.3, 1.0)
BINS = 3
SPLIT_SEEDS = {"train": 0, "test": 1}  # fixed: the variant must not depend on any run's seed
STYLE_CLASSES = {"pos_x": BINS, "pos_y": BINS, "brightness": BINS}


def bin_factor(values: torch.Tensor, low: float, high: float, bins: int = BINS) -> torch.Tensor:
    """Equal-width bins of [low, high] -> int64 labels 0..bins-1."""
    return ((values - low) / (high - low) * bins).long().clamp_(0, bins - 1)


def place_on_canvas(items: ImageSet, seed: int) -> ImageSet:
    """Paste each (1, 28, 28) item on a (1, 40, 40) canvas at a seeded offset and brightness; label the style."""
    n = len(items)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(0, MAX_OFFSET + 1, (n,), generator=generator)
    y = torch.randint(0, MAX_OFFSET + 1, (n,), generator=generator)
    brightness = BRIGHTNESS[0] + (BRIGHTNESS[1] - BRIGHTNESS[0]) * torch.rand(n, generator=generator)
    # each item's 28x28 pixels land at rows y..y+27 and columns x..x+27 of its canvas
    rows = (y[:, None] + torch.arange(ITEM))[:, :, None].expand(n, ITEM, ITEM)
    cols = (x[:, None] + torch.arange(ITEM))[:, None, :].expand(n, ITEM, ITEM)
    canvas = torch.zeros(n, CANVAS, CANVAS, dtype=torch.uint8)
    scaled = (items.images[:, 0].float() * brightness[:, None, None]).round_().to(torch.uint8)
    canvas[torch.arange(n)[:, None, None], rows, cols] = scaled
    styles = {"pos_x": bin_factor(x.float(), 0, MAX_OFFSET + 1), "pos_y": bin_factor(y.float(), 0, MAX_OFFSET + 1),
              "brightness": bin_factor(brightness, *BRIGHTNESS)}
    return ImageSet(canvas.unsqueeze(1), items.content, styles)


def load_canvas_dataset(root: str | Path | None, val_fraction: float, split_seed: int) -> Dataset:
    train, test, directory = read_idx_splits("fashion-mnist", root)
    train = place_on_canvas(train, SPLIT_SEEDS["train"])
    test = place_on_canvas(test, SPLIT_SEEDS["test"])
    train, val = split_train_val(train, val_fraction, split_seed)
    return Dataset("fashion-mnist-canvas", train, val, test, CLASS_NAMES["fashion-mnist"], dict(STYLE_CLASSES),
                   likelihood="bernoulli", source=f"{directory} (placed on a {CANVAS}x{CANVAS} canvas)")
