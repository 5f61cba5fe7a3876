import copy

import pytest
import torch

from simvae.augment import PRESETS, ViewAugmenter, check_ops, preset_for

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
    crop = check_ops(PRESETS["fashion-mnist"].ops)[0]
    torch.manual_seed(0)
    box = crop.sample(128, (28, 28), torch.device("cpu"))  # (width, height) as fractions of the image's
    area, ratio = box.prod(1), box[:, 0] / box[:, 1]
    assert len(set(area.tolist())) > 120, "crops must be drawn per view"
    assert area.min() >= 0.4 and area.max() <= 1.0  # scale (0.4, 1): continuous boxes, no pixel rounding
    assert ratio.min() >= 0.75 and ratio.max() <= 1.3


def test_none_returns_the_clean_images_exactly():
    x = images((3, 32, 32))
    views = ViewAugmenter("none", (32, 32), views=2)(x)
    assert torch.equal(views[:, 0], x.float() / 255) and torch.equal(views[:, 1], x.float() / 255)


def test_an_op_list_equal_to_a_preset_gives_the_presets_views():
    x = images((3, 32, 32))
    torch.manual_seed(3)
    preset = ViewAugmenter("simclr-cifar10", (32, 32), views=2)(x)
    torch.manual_seed(3)
    listed = ViewAugmenter("none", (32, 32), views=2, ops=copy.deepcopy(PRESETS["simclr-cifar10"].ops))(x)
    assert torch.equal(preset, listed)


def test_clean_transform_only_scales_or_binarises():
    x = torch.tensor([[[[0, 127, 128, 255]]]], dtype=torch.uint8)
    assert torch.equal(ViewAugmenter("fashion-mnist", (1, 4), 2).clean(x), x.float() / 255)
    assert torch.equal(ViewAugmenter("mnist", (1, 4), 2).clean(x), torch.tensor([[[[0.0, 0.0, 1.0, 1.0]]]]))


def test_auto_picks_the_datasets_preset_and_unknown_names_fail():
    assert preset_for("auto", "shapes") == "shapes"
    with pytest.raises(ValueError, match="augment.preset"):
        preset_for("auto", "no-such-data")


def test_canvas_preset_varies_the_labelled_style_position_scale_and_brightness():
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
    width = (views[:, :, 0] > 0.1).any(-2).sum(-1).float()  # (64, 2): the item's width in pixels
    assert (width[:, 0] - width[:, 1]).abs().mean() > 1.0


# --- multi-crop: local crops beside the J global views ---------------------------------------------------------------

def ramps(n=64, size=32):
    """Channel 0 rises along x, channel 1 along y: a view's value range on each gives the box it was cut from."""
    ramp = torch.linspace(0, 255, size).round().to(torch.uint8)
    x = ramp.view(1, 1, size).expand(n, size, size)
    return torch.stack([x, x.transpose(1, 2), torch.zeros_like(x)], dim=1).contiguous()


def box_areas(views, size=32):
    """Each view's box area as a fraction of the image's, from its range of x and y (corner pixel centres map
    onto corner pixel centres: a box of w pixels spans (w - 1) / (W - 1) of the ramp)."""
    extent = (views.amax(dim=(-2, -1)) - views.amin(dim=(-2, -1)))[..., :2]  # (..., 2): x and y ranges in [0, 1]
    return ((extent * (size - 1) + 1) / size).prod(-1)


def test_local_crops_are_small_crops_at_their_own_size_and_global_views_keep_theirs():
    from simvae.augment import LocalCrops

    local = LocalCrops(number=3, size=16, scale=[0.1, 0.3])
    augmenter = ViewAugmenter("none", (32, 32), views=2, ops=[{"crop": {"scale": [0.5, 1.0]}}], local_crops=local)
    x = ramps()
    torch.manual_seed(0)
    views, crops = augmenter(x), augmenter.local(x)
    assert views.shape == (64, 2, 3, 32, 32) and crops.shape == (64, 3, 3, 16, 16) and crops.dtype == torch.float32
    assert 0.0 <= crops.min() and crops.max() <= 1.0
    global_areas, local_areas = box_areas(views), box_areas(crops)
    assert global_areas.min() > 0.5 - 0.03 and global_areas.max() <= 1.0 + 1e-6
    assert local_areas.min() > 0.1 - 0.03 and local_areas.max() < 0.3 + 0.03
    assert len({round(a, 4) for a in local_areas.flatten().tolist()}) > 150, "every crop draws its own box"


def test_local_crops_leave_the_global_views_as_they_were_and_repeat_when_seeded():
    from simvae.augment import LocalCrops

    x = images((3, 32, 32), n=16)
    torch.manual_seed(4)
    plain = ViewAugmenter("shapes", (32, 32), views=2)(x)
    augmenter = ViewAugmenter("shapes", (32, 32), views=2, local_crops=LocalCrops())
    torch.manual_seed(4)
    assert torch.equal(augmenter(x), plain)  # the views are drawn first, as without local crops
    first = augmenter.local(x)
    assert first.shape == (16, 4, 3, 32, 32)  # the defaults: 4 crops at the images' own size
    torch.manual_seed(4)
    augmenter(x)
    assert torch.equal(augmenter.local(x), first)


def test_local_ops_replace_the_crop_scale_keep_the_rest_or_add_a_crop():
    from simvae.augment.views import local_ops

    canvas = PRESETS["fashion-mnist-canvas"].ops
    local = local_ops(canvas, [0.1, 0.4])
    assert local[0] == {"crop": {"scale": [0.1, 0.4], "ratio": canvas[0]["crop"]["ratio"]}} and local[1:] == canvas[1:]
    assert canvas[0]["crop"]["scale"] == [0.4, 1.0], "the preset itself is unchanged"
    assert local_ops([{"hflip": {}}], [0.2, 0.3]) == [{"crop": {"scale": [0.2, 0.3], "ratio": [0.75, 1.3]}}, {"hflip": {}}]
    assert local_ops([{"crop": None}], [0.2, 0.3]) == [{"crop": {"scale": [0.2, 0.3]}}]
    check_ops(local_ops(PRESETS["mnist"].ops, [0.1, 0.4]))  # still a valid op list
