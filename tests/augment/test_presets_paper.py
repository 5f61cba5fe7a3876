"""The paper-dataset presets: official CIFAR-10 / CelebA and the standard SimCLR CIFAR-10 recipe.

Shapes, value range and seeded repeatability of every preset are checked in test_views.py."""

from __future__ import annotations

import pytest
import torch

from simvae.augment import PRESETS, ViewAugmenter

CASES = {"cifar10": (3, 32, 32), "celeba": (3, 64, 64), "simclr-cifar10": (3, 32, 32)}


def images(shape, n=16, seed=0):
    return torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("preset", list(CASES))
def test_per_sample_parameters_differ(preset):
    shape = CASES[preset]
    augmenter = ViewAugmenter(preset, shape[1:], views=2)
    same = images(shape, n=1).expand(16, *shape).contiguous()  # one image, 16 times
    torch.manual_seed(1)
    views = augmenter(same).flatten(0, 1)
    distinct = {tuple(v.flatten()[:64].tolist()) for v in views}
    assert len(distinct) == len(views), "every view of every copy must get its own random parameters"


def test_simclr_cifar10_recipe():
    crop, flip, jitter, grey = PRESETS["simclr-cifar10"].ops
    assert crop["crop"]["scale"] == pytest.approx([0.08, 1.0]) and crop["crop"]["ratio"] == pytest.approx([3 / 4, 4 / 3])
    assert flip == {"hflip": {"p": 0.5}}
    assert jitter["jitter"] == pytest.approx({"brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1, "p": 0.8})
    assert grey == {"grayscale": {"p": 0.2}}
    assert not PRESETS["simclr-cifar10"].binarise


def test_simclr_grayscale_and_jitter_rates():
    augmenter = ViewAugmenter("simclr-cifar10", (32, 32), views=2)
    torch.manual_seed(0)
    views = augmenter(images((3, 32, 32), n=500)).flatten(0, 1)
    grey = (views[:, 0] == views[:, 1]).flatten(1).all(1) & (views[:, 1] == views[:, 2]).flatten(1).all(1)
    assert 0.14 < grey.float().mean() < 0.26  # p = 0.2


@pytest.mark.parametrize("preset", ["cifar10", "celeba"])
def test_official_colour_presets_match_paper(preset):
    crop, flip, jitter = PRESETS[preset].ops
    assert jitter["jitter"]["p"] == 1.0  # always applied
    assert jitter["jitter"] == pytest.approx({"brightness": 0.8, "contrast": 0.8, "saturation": 0.8, "hue": 0.2, "p": 1.0})
    assert crop["crop"]["scale"] == pytest.approx([0.6, 1.0]) and crop["crop"]["ratio"] == pytest.approx([0.75, 1.3])
    assert flip == {"vflip": {"p": 0.5}}
