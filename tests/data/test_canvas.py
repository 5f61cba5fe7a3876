"""Fashion-MNIST on a canvas: placement, brightness and style labels, determinism, loading from IDX files."""

from __future__ import annotations

import pytest
import torch

from simvae.data import ImageSet, load_dataset
from simvae.data.canvas import (
    BRIGHTNESS,
    CANVAS,
    ITEM,
    MAX_OFFSET,
    bin_factor,
    place_on_canvas,
)


def solid_items(n: int) -> ImageSet:
    """All-white 28x28 items: on the canvas, the lit square's corner is the offset and its value the brightness."""
    return ImageSet(torch.full((n, 1, ITEM, ITEM), 255, dtype=torch.uint8), torch.arange(n) % 10)


def test_items_are_pasted_whole_and_dimmed_and_labels_match_the_placement():
    placed = place_on_canvas(solid_items(300), seed=7)
    assert placed.images.shape == (300, 1, CANVAS, CANVAS)
    lit = placed.images[:, 0] > 0
    for i in range(300):
        rows, cols = lit[i].nonzero(as_tuple=True)
        y, x = rows.min().item(), cols.min().item()
        assert rows.max() - y == ITEM - 1 and cols.max() - x == ITEM - 1 and lit[i].sum() == ITEM * ITEM
        value = placed.images[i, 0, y, x].item() / 255
        assert BRIGHTNESS[0] - 0.01 <= value <= BRIGHTNESS[1]
        assert placed.styles["pos_x"][i] == bin_factor(torch.tensor(float(x)), 0, MAX_OFFSET + 1)
        assert placed.styles["pos_y"][i] == bin_factor(torch.tensor(float(y)), 0, MAX_OFFSET + 1)
        # brightness labels follow the item's value (up to uint8 rounding at a bin edge)
        assert abs(placed.styles["brightness"][i] - bin_factor(torch.tensor(value), *BRIGHTNESS)) <= 1
    for name in ("pos_x", "pos_y", "brightness"):  # every bin is used, roughly equally
        counts = placed.styles[name].bincount(minlength=3)
        assert counts.min() > 60, (name, counts)
    assert torch.equal(placed.content, torch.arange(300) % 10)


def test_the_item_pixels_survive_up_to_the_brightness_scale():
    items = ImageSet(torch.randint(0, 256, (20, 1, ITEM, ITEM), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)),
                     torch.zeros(20, dtype=torch.long))
    placed = place_on_canvas(items, seed=1)
    for i in range(20):
        canvas = placed.images[i, 0].float()
        best = max(((y, x) for y in range(MAX_OFFSET + 1) for x in range(MAX_OFFSET + 1)),
                   key=lambda p: torch.corrcoef(torch.stack([canvas[p[0]:p[0] + ITEM, p[1]:p[1] + ITEM].flatten(),
                                                            items.images[i, 0].float().flatten()]))[0, 1])
        window = canvas[best[0]:best[0] + ITEM, best[1]:best[1] + ITEM]
        scale = window.sum() / items.images[i, 0].float().sum()
        assert torch.allclose(window, (items.images[i, 0].float() * scale).round(), atol=1.0)
        assert canvas.sum() == pytest.approx(window.sum())  # nothing outside the item


def test_placement_is_a_fixed_function_of_the_seed():
    items = solid_items(50)
    assert torch.equal(place_on_canvas(items, 3).images, place_on_canvas(items, 3).images)
    assert not torch.equal(place_on_canvas(items, 3).images, place_on_canvas(items, 4).images)


def test_loads_from_the_real_file_format_independent_of_the_run_split(isolated, fakes):
    arrays = fakes.write_mnist(isolated / "fashion-mnist")
    data = load_dataset("fashion-mnist-canvas", root=isolated, val_fraction=0.25, split_seed=0)
    assert data.image_shape == (1, CANVAS, CANVAS) and data.likelihood == "bernoulli"
    assert data.num_classes == {"content": 10, "pos_x": 3, "pos_y": 3, "brightness": 3}
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
