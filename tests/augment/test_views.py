import pytest
import torch

from simvae.augment import PRESETS, ViewAugmenter, preset_for

SIZES = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "fashion-mnist-canvas": (1, 40, 40), "shapes": (3, 32, 32),
         "cifar10": (3, 32, 32), "celeba": (3, 64, 64), "simclr-cifar10": (3, 32, 32)}


def test_every_preset_is_checked_here():
    assert set(SIZES) | {"none"} == set(PRESETS)


def images(shape, n=8, seed=0):
    return torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("preset", list(SIZES))
def test_views_have_the_right_shape_range_and_differ(preset):
    shape = SIZES[preset]
    augmenter = ViewAugmenter(preset, shape[1:], views=3)
    torch.manual_seed(0)
    views = augmenter(images(shape))
    assert views.shape == (8, 3, *shape) and views.dtype == torch.float32
    assert 0.0 <= views.min() and views.max() <= 1.0
    assert not torch.allclose(views[:, 0], views[:, 1]), "the J views of an image must differ"
    if PRESETS[preset].binarise:
        assert set(views.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("preset", list(SIZES))
def test_seeded_views_repeat(preset):
    shape = SIZES[preset]
    augmenter = ViewAugmenter(preset, shape[1:], views=2)
    torch.manual_seed(5)
    first = augmenter(images(shape))
    torch.manual_seed(5)
    assert torch.equal(first, augmenter(images(shape)))


def test_each_view_gets_its_own_crop_within_the_official_bounds():
    augmenter = ViewAugmenter("fashion-mnist", (28, 28), views=2)
    torch.manual_seed(0)
    augmenter(images((1, 28, 28), n=64))
    crop = augmenter.pipeline[0]._params  # kornia's record of the per-sample parameters just used
    boxes = crop["src"]  # (N, 4, 2) corners of each crop in the source image
    width = boxes[:, 1, 0] - boxes[:, 0, 0] + 1
    height = boxes[:, 2, 1] - boxes[:, 1, 1] + 1
    area = width * height / (28 * 28)
    assert len(boxes) == 128 and len(set(area.tolist())) > 50, "crops must be drawn per view"
    assert area.min() >= 0.4 - 0.08 and area.max() <= 1.0  # scale (0.4, 1), up to pixel rounding
    ratio = width / height
    assert ratio.min() >= 0.75 - 0.1 and ratio.max() <= 1.3 + 0.1
    flips = augmenter.pipeline[1]._params["batch_prob"]
    assert 0.3 < flips.float().mean() < 0.7


def test_clean_transform_only_scales_or_binarises():
    x = torch.tensor([[[[0, 127, 128, 255]]]], dtype=torch.uint8)
    assert torch.equal(ViewAugmenter("fashion-mnist", (1, 4), 2).clean(x), x.float() / 255)
    assert torch.equal(ViewAugmenter("mnist", (1, 4), 2).clean(x), torch.tensor([[[[0.0, 0.0, 1.0, 1.0]]]]))


def test_auto_picks_the_datasets_preset_and_unknown_names_fail():
    assert preset_for("auto", "shapes") == "shapes"
    with pytest.raises(ValueError, match="augment.preset"):
        preset_for("auto", "no-such-data")


def test_canvas_preset_varies_the_labelled_style_position_and_brightness():
    from simvae.data import ImageSet
    from simvae.data.canvas import place_on_canvas

    items = ImageSet(torch.full((64, 1, 28, 28), 200, dtype=torch.uint8), torch.zeros(64, dtype=torch.long))
    canvas = place_on_canvas(items, seed=0).images
    torch.manual_seed(0)
    views = ViewAugmenter("fashion-mnist-canvas", (40, 40), views=2)(canvas)
    peak = views.flatten(2).amax(-1)  # (64, 2): brightness of each view
    mass = views.sum(dim=(2, 3))  # (64, 2, 40): column profile -> horizontal centre
    centre_x = (mass * torch.arange(40)).sum(-1) / mass.sum(-1)
    assert (peak[:, 0] - peak[:, 1]).abs().mean() > 0.05
    assert (centre_x[:, 0] - centre_x[:, 1]).abs().mean() > 1.0
