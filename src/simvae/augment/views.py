"""Augmentation presets and the view augmenter.

Every preset is one kornia `AugmentationSequential` applied to the J*B stacked views in a single
call, so each view gets its own random parameters while the work stays batched on the device. The
official presets follow the SimVAE code (paper.md section 3.3): random resized crop, *vertical* flip,
colour jitter always on for colour data, binarisation for MNIST.

One deliberate departure: the official CIFAR-10 pipeline first upsamples each 32x32 image to 256x256,
jitters it there and random-resized-crops back to 32. We jitter and crop at 32 px instead. The jitter
is per-pixel (brightness, saturation, hue) or uses the image mean (contrast), which upsampling leaves
(almost) unchanged, and kornia's crop samples a continuous box bilinearly, so the views differ only by
the slight smoothing of the 256-px round trip, while the detour would cost 64x the pixels per view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import kornia.augmentation as K
import torch
from torch import nn

RATIO = (0.75, 1.3)  # the official aspect-ratio range of RandomResizedCrop


def _crop(size: tuple[int, int], scale: tuple[float, float], ratio: tuple[float, float] = RATIO) -> nn.Module:
    # "resample" warps every box to the output size in one batched grid_sample, where kornia's default
    # "slice" crops and resizes per image: half the cost of a Fashion-MNIST view pipeline
    return K.RandomResizedCrop(size, scale=scale, ratio=ratio, cropping_mode="resample")


@dataclass(frozen=True)
class Preset:
    build: Callable[[tuple[int, int]], nn.Module]  # image (H, W) -> kornia pipeline on float images
    description: str
    binarise: bool = False  # threshold at 0.5 after augmenting, and for evaluation (official MNIST)


def _crop_flip(scale: tuple[float, float]) -> Callable[[tuple[int, int]], nn.Module]:
    return lambda size: K.AugmentationSequential(
        _crop(size, scale), K.RandomVerticalFlip(p=0.5)
    )


def _jitter_crop_flip(size: tuple[int, int]) -> nn.Module:
    return K.AugmentationSequential(
        K.ColorJitter(0.8, 0.8, 0.8, 0.2, p=1.0),
        _crop(size, (0.6, 1.0)),
        K.RandomVerticalFlip(p=0.5),
    )


def _simclr(size: tuple[int, int]) -> nn.Module:
    # The SimCLR CIFAR-10 recipe (Chen et al. 2020, appendix B.9; solo-learn's and lightly's defaults):
    # no blur at 32 px, horizontal flips, jitter 0.4/0.4/0.4/0.1 applied with p = 0.8, grayscale p = 0.2.
    return K.AugmentationSequential(
        _crop(size, (0.08, 1.0), ratio=(3 / 4, 4 / 3)),
        K.RandomHorizontalFlip(p=0.5),
        K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.8),
        K.RandomGrayscale(p=0.2),
    )


def _shapes(size: tuple[int, int]) -> nn.Module:
    # Changes exactly the style factors the shapes data labels (position, scale, hue) and never the
    # shape class: no flips, since a flipped shape is still the same shape but would blur rotation.
    return K.AugmentationSequential(
        _crop(size, (0.5, 1.0)),
        K.ColorJitter(brightness=0.2, hue=0.25, p=1.0),
    )


def _canvas(size: tuple[int, int]) -> nn.Module:
    # Moves, rescales and re-brightens the item (multiplicative contrast on a black canvas), i.e. varies
    # the style factors fashion-mnist-canvas labels; the official vertical flip is kept.
    return K.AugmentationSequential(
        _crop(size, (0.4, 1.0)),
        K.RandomVerticalFlip(p=0.5),
        K.RandomContrast(contrast=(0.5, 1.5), p=1.0),
    )


PRESETS: dict[str, Preset] = {
    "fashion-mnist-canvas": Preset(_canvas, "Fashion-MNIST on a canvas: crop scale (0.4, 1), vertical flip, "
                                   "brightness x (0.5, 1.5)"),
    "mnist": Preset(_crop_flip((0.4, 1.0)), "official MNIST: crop scale (0.4, 1), vertical flip, binarise at 0.5", binarise=True),
    "fashion-mnist": Preset(_crop_flip((0.4, 1.0)), "official Fashion-MNIST: crop scale (0.4, 1), vertical flip"),
    "cifar10": Preset(_jitter_crop_flip, "official CIFAR-10: colour jitter 0.8/0.8/0.8/0.2, crop scale (0.6, 1), vertical flip "
                      "(without the official 256-px upsampling detour; see the module docstring)"),
    "simclr-cifar10": Preset(_simclr, "SimCLR CIFAR-10: crop scale (0.08, 1), horizontal flip, "
                             "colour jitter 0.4/0.4/0.4/0.1 with p 0.8, grayscale p 0.2"),
    "celeba": Preset(_jitter_crop_flip, "official CelebA: colour jitter 0.8/0.8/0.8/0.2, crop scale (0.6, 1), vertical flip"),
    "shapes": Preset(_shapes, "embedded shapes: crop scale (0.5, 1) (moves and rescales), hue jitter 0.25, brightness 0.2"),
    "none": Preset(lambda size: nn.Identity(), "no augmentation: every view is the clean image"),
}


def preset_for(preset: str, dataset: str) -> str:
    """Resolve "auto" to the dataset's own preset."""
    name = dataset if preset == "auto" else preset
    if name not in PRESETS:
        raise ValueError(f"unknown augmentation preset {name!r}; available: {sorted(PRESETS)} (set augment.preset)")
    return name


def to_float(images: torch.Tensor, binarise: bool = False) -> torch.Tensor:
    """uint8 images in [0, 255] -> float in [0, 1] (thresholded at 0.5 for binarised data)."""
    x = images.float().div_(255.0)
    return (x > 0.5).float() if binarise else x


class ViewAugmenter(nn.Module):
    """uint8 images (B, C, H, W) -> J augmented float views (B, J, C, H, W) on the images' device.

    Randomness comes from torch's global generator, so seeding torch (and restoring its state on
    resume) makes the views repeatable.
    """

    def __init__(self, preset: str, image_size: tuple[int, int], views: int) -> None:
        super().__init__()
        self.preset = PRESETS[preset]
        self.pipeline = self.preset.build(image_size)
        self.views = views

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        batch = images.shape[0]
        stacked = to_float(images).repeat_interleave(self.views, dim=0)  # view j of image i at i*J + j
        augmented = self.pipeline(stacked).clamp_(0.0, 1.0)
        if self.preset.binarise:
            augmented = (augmented > 0.5).float()
        return augmented.view(batch, self.views, *augmented.shape[1:])

    def clean(self, images: torch.Tensor) -> torch.Tensor:
        """The evaluation transform: no augmentation, only scaling (and binarising where official)."""
        return to_float(images, self.preset.binarise)
