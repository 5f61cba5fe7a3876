"""Fashion-MNIST on a canvas: placement, brightness and style labels, determinism, loading from IDX files."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional

from simvae.augment import PRESETS, preset_for
from simvae.data import ImageSet, load_dataset
from simvae.data.canvas import (
    BRIGHTNESS,
    CANVAS,
    ITEM,
    SIZES,
    STYLE_CLASSES,
    bin_factor,
    draw_placement,
    place_on_canvas,
)


def solid_items(n: int) -> ImageSet:
    """All-white 28x28 items: on the canvas, the lit square's corner is the offset, its side the size, its value the brightness."""
    return ImageSet(torch.full((n, 1, ITEM, ITEM), 255, dtype=torch.uint8), torch.arange(n) % 10)


def test_items_are_resized_pasted_whole_and_dimmed_and_labels_match_the_placement():
    placed = place_on_canvas(solid_items(300), seed=7)
    assert placed.images.shape == (300, 1, CANVAS, CANVAS)
    lit = placed.images[:, 0] > 0
    for i in range(300):
        rows, cols = lit[i].nonzero(as_tuple=True)
        y, x, side = rows.min().item(), cols.min().item(), rows.max().item() - rows.min().item() + 1
        assert SIZES[0] <= side <= SIZES[1] and cols.max() - x == side - 1 and lit[i].sum() == side * side
        value = placed.images[i, 0, y, x].item() / 255
        assert BRIGHTNESS[0] - 0.01 <= value <= BRIGHTNESS[1]
        free = CANVAS - side + 1  # offsets 0..free-1 at this size: position labels are fractions of it
        assert placed.styles["pos_x"][i] == bin_factor(torch.tensor(x / free), 0, 1)
        assert placed.styles["pos_y"][i] == bin_factor(torch.tensor(y / free), 0, 1)
        assert placed.styles["scale"][i] == (side - SIZES[0]) // 4  # 17-20, 21-24, 25-28 px
        # brightness labels follow the item's value (up to uint8 rounding at a bin edge)
        assert abs(placed.styles["brightness"][i] - bin_factor(torch.tensor(value), *BRIGHTNESS)) <= 1
    for name in STYLE_CLASSES:  # every bin is used, roughly equally
        counts = placed.styles[name].bincount(minlength=3)
        assert counts.min() > 60, (name, counts)
    for scale in range(3):  # position does not depend on size
        assert placed.styles["pos_x"][placed.styles["scale"] == scale].bincount(minlength=3).min() > 10
    assert torch.equal(placed.content, torch.arange(300) % 10)


def test_the_item_pixels_are_its_resized_image_times_the_brightness_and_nothing_else():
    items = ImageSet(torch.randint(0, 256, (20, 1, ITEM, ITEM), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)),
                     torch.zeros(20, dtype=torch.long))
    placed, where = place_on_canvas(items, seed=1), draw_placement(20, seed=1)
    for i in range(20):
        x, y, side = where.x[i].item(), where.y[i].item(), where.size[i].item()
        expected = functional.interpolate(items.images[i:i + 1].float(), size=(side, side), mode="bilinear", antialias=True)
        expected = (expected[0, 0] * where.brightness[i]).round().clamp(0, 255)
        window = placed.images[i, 0, y:y + side, x:x + side].float()
        assert torch.equal(window, expected)
        assert placed.images[i].float().sum() == window.sum()  # nothing outside the item


def test_placement_is_a_fixed_function_of_the_seed():
    items = solid_items(50)
    assert torch.equal(place_on_canvas(items, 3).images, place_on_canvas(items, 3).images)
    assert not torch.equal(place_on_canvas(items, 3).images, place_on_canvas(items, 4).images)


def test_loads_from_the_real_file_format_independent_of_the_run_split(isolated, fakes):
    arrays = fakes.write_mnist(isolated / "fashion-mnist")
    data = load_dataset("fashion-mnist-canvas", root=isolated, val_fraction=0.25, split_seed=0)
    assert data.image_shape == (1, CANVAS, CANVAS) and data.likelihood == "bernoulli"
    assert data.num_classes == {"content": 10, "pos_x": 3, "pos_y": 3, "brightness": 3, "scale": 3}
    assert data.test.content.tolist() == arrays["test_labels"].tolist()
    # the test canvases and every image's own placement do not depend on the validation split's seed
    other = load_dataset("fashion-mnist-canvas", root=isolated, val_fraction=0.25, split_seed=5)
    assert torch.equal(data.test.images, other.test.images)
    every = torch.cat([data.train.images, data.val.images]).flatten(1)
    assert {tuple(row.tolist()) for row in every} == {tuple(row.tolist()) for row in torch.cat([other.train.images, other.val.images]).flatten(1)}


def test_missing_files_point_at_fashion_mnist(isolated):
    from simvae.errors import DataError

    with pytest.raises(DataError, match="simvae data download fashion-mnist"):
        load_dataset("fashion-mnist-canvas", root=isolated)


def test_the_control_is_the_same_data_with_the_augmentations_minus_the_brightness_change(isolated, fakes):
    fakes.write_mnist(isolated / "fashion-mnist")
    canvas = load_dataset("fashion-mnist-canvas", root=isolated)
    control = load_dataset("fashion-mnist-canvas-control", root=isolated)
    assert control.name == "fashion-mnist-canvas-control" and control.num_classes == canvas.num_classes
    for split in ("train", "val", "test"):
        a, b = getattr(canvas, split), getattr(control, split)
        assert torch.equal(a.images, b.images) and all(torch.equal(a.labels()[k], b.labels()[k]) for k in a.labels())
    augment = PRESETS[preset_for("auto", canvas.augment_preset or canvas.name)].ops
    control_augment = PRESETS[preset_for("auto", control.augment_preset or control.name)].ops
    assert control_augment == [op for op in augment if "brightness" not in op] and len(control_augment) == len(augment) - 1
