"""Augmentation presets and the view augmenter.

Every preset is an op list (simvae.augment.pipeline), the same form as `augment.ops` in a config, so a
preset and a user's list run the same code: the J*B stacked views get their own random parameters,
drawn on the images' device in a handful of batched operators. The official presets follow the SimVAE
code (docs/model.md §3.3): random resized crop, *vertical* flip, colour jitter always on for colour
data, binarisation for MNIST.

Two deliberate departures. The official CIFAR-10 pipeline first upsamples each 32x32 image to 256x256,
jitters it there and random-resized-crops back to 32. We crop at 32 px and then jitter: the jitter is
per-pixel (brightness, saturation, hue) or uses the image mean (contrast, whose mean is then the crop's
rather than the whole image's), and the crop samples a continuous box bilinearly, so the views differ
only by the slight smoothing of the 256-px round trip, while the detour would cost 64x the pixels per
view. And every pipeline warps first, then changes colours (see docs/augmentations.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from simvae.augment.geometry import constant
from simvae.augment.pipeline import Pipeline, check_ops, interval
from simvae.errors import ConfigError
from simvae.fields import bounded, check_bounds

RATIO = [0.75, 1.3]  # the official aspect-ratio range of RandomResizedCrop
OpList = list[dict[str, Any]]


@dataclass(frozen=True)
class Preset:
    ops: OpList  # as `augment.ops` would state it
    description: str

    @property
    def binarise(self) -> bool:
        """Thresholded at 0.5 after augmenting, and for evaluation (official MNIST)."""
        return any("binarise" in op for op in self.ops)


def _crop(scale: list[float], ratio: list[float] = RATIO) -> dict[str, Any]:
    return {"crop": {"scale": scale, "ratio": ratio}}


VFLIP = {"vflip": {"p": 0.5}}
OFFICIAL_JITTER = {"jitter": {"brightness": 0.8, "contrast": 0.8, "saturation": 0.8, "hue": 0.2, "p": 1.0}}

PRESETS: dict[str, Preset] = {
    # moves, rescales and re-brightens the item (multiplicative contrast on a black canvas, kornia's
    # RandomContrast), i.e. varies the style factors fashion-mnist-canvas labels; the official vertical flip is kept
    "fashion-mnist-canvas": Preset([_crop([0.4, 1.0]), VFLIP, {"brightness": {"factor": [0.5, 1.5], "p": 1.0}}],
                                   "Fashion-MNIST on a canvas: crop scale (0.4, 1), vertical flip, brightness x (0.5, 1.5)"),
    "mnist": Preset([_crop([0.4, 1.0]), VFLIP, {"binarise": {"threshold": 0.5}}],
                    "official MNIST: crop scale (0.4, 1), vertical flip, binarise at 0.5"),
    "fashion-mnist": Preset([_crop([0.4, 1.0]), VFLIP], "official Fashion-MNIST: crop scale (0.4, 1), vertical flip"),
    "cifar10": Preset([_crop([0.6, 1.0]), VFLIP, OFFICIAL_JITTER],
                      "official CIFAR-10: colour jitter 0.8/0.8/0.8/0.2, crop scale (0.6, 1), vertical flip "
                      "(without the official 256-px upsampling detour; see the module docstring)"),
    # The SimCLR CIFAR-10 recipe (Chen et al. 2020, appendix B.9; solo-learn's and lightly's defaults):
    # no blur at 32 px, horizontal flips, jitter 0.4/0.4/0.4/0.1 applied with p = 0.8, grayscale p = 0.2.
    "simclr-cifar10": Preset([_crop([0.08, 1.0], [3 / 4, 4 / 3]), {"hflip": {"p": 0.5}},
                              {"jitter": {"brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1, "p": 0.8}},
                              {"grayscale": {"p": 0.2}}],
                             "SimCLR CIFAR-10: crop scale (0.08, 1), horizontal flip, "
                             "colour jitter 0.4/0.4/0.4/0.1 with p 0.8, grayscale p 0.2"),
    "celeba": Preset([_crop([0.6, 1.0]), VFLIP, OFFICIAL_JITTER],
                     "official CelebA: colour jitter 0.8/0.8/0.8/0.2, crop scale (0.6, 1), vertical flip"),
    # changes exactly the style factors the shapes data labels (position, scale, hue) and never the shape
    # class: no flips, since a flipped shape is still the same shape but would blur rotation
    "shapes": Preset([_crop([0.5, 1.0]), {"jitter": {"brightness": 0.2, "hue": 0.25, "p": 1.0}}],
                     "embedded shapes: crop scale (0.5, 1) (moves and rescales), hue jitter 0.25, brightness 0.2"),
    "none": Preset([], "no augmentation: every view is the clean image"),
}


@dataclass
class LocalCrops:
    """Multi-crop's small views (`augment.local_crops`; Caron et al. 2020, SwAV; DINO): `number` crops per image, each
    of an area fraction in `scale` of the image, resampled to `size` x `size` pixels, with the rest of the view
    pipeline (flips, colour) as the global views get it. Used only by methods that declare `uses_local_crops`.

    Defaults scaled to small images: 4 local crops (SwAV's 2x160 + 4x96 setting; DINO uses 6-10) of 10-40% of the
    image (DINO's (0.05, 0.4), with the lower end raised: 5% of a 28-px image is a 6-px patch); `size` null keeps
    the images' size, which every backbone takes, where the papers use 96 px against 224 (only backbones that
    take any input size, e.g. resnet18, accept a smaller one).
    """

    number: int = bounded(4, ge=1)
    size: int | None = bounded(None, ge=4)
    scale: list[float] = bounded(default_factory=lambda: [0.1, 0.4], gt=0, le=1)


LOCAL_SCALE = interval(0, 1, low_open=True)


def check_local_crops(local: LocalCrops, where: str = "augment.local_crops") -> None:
    check_bounds(local, where)
    if LOCAL_SCALE.parse(local.scale) is None:
        raise ConfigError(f"config value {where}.scale={local.scale!r} is invalid: expected {LOCAL_SCALE.expected}")


def local_ops(ops: OpList, scale: list[float]) -> OpList:
    """The op list of local crops: `ops` with each crop's area range replaced by `scale` (its aspect ratios kept), or
    a crop of that scale first where `ops` has none."""
    if not any("crop" in op for op in ops):
        return [_crop(list(scale)), *ops]
    return [{"crop": {**(op["crop"] or {}), "scale": list(scale)}} if "crop" in op else op for op in ops]


def preset_for(preset: str, dataset: str) -> str:
    """Resolve "auto" to the dataset's own preset."""
    name = dataset if preset == "auto" else preset
    if name not in PRESETS:
        raise ValueError(f"unknown augmentation preset {name!r}; available: {sorted(PRESETS)} (set augment.preset)")
    return name


def to_float(images: torch.Tensor, binarise: bool = False) -> torch.Tensor:
    """uint8 images in [0, 255] -> float in [0, 1] (thresholded at 0.5 for binarised data)."""
    x = images.float().div_(constant((255.0,), images.device, torch.float32))  # a Python 255 would cost 4 more operators
    return (x > 0.5).float() if binarise else x


def stacked(images: torch.Tensor, copies: int) -> torch.Tensor:
    """uint8 images (B, C, H, W) -> float (B * copies, C, H, W), copy j of image i at i * copies + j."""
    batch, *shape = images.shape
    # the uint8 -> float copy also lays the copies out (no reshape copy after)
    return to_float(images.unsqueeze(1).expand(batch, copies, *shape)).view(-1, *shape)


class ViewAugmenter(nn.Module):
    """uint8 images (B, C, H, W) -> J augmented float views (B, J, C, H, W) on the images' device.

    The pipeline is the preset's op list, or `ops` (an `augment.ops` list) when given and non-empty.
    Randomness comes from torch's global generator of the images' device, so seeding torch (and restoring
    its state on resume) makes the views repeatable; no value is read back to the host.

    With `local_crops`, `local(images)` makes the multi-crop methods' N local crops (B, N, C, h, w) as well, in
    one batched call of their own (their output size may differ from the global views'); the training loop
    calls it after `forward`, and only for methods that use local crops (`Method.uses_local_crops`).
    """

    def __init__(self, preset: str, image_size: tuple[int, int], views: int, *, ops: OpList | None = None,
                 local_crops: LocalCrops | None = None) -> None:
        super().__init__()
        self.ops = ops or PRESETS[preset].ops
        self.pipeline = Pipeline(check_ops(self.ops))
        self.image_size = tuple(image_size)
        self.views = views
        self.local_crops = local_crops
        if local_crops is not None:
            size = self.image_size if local_crops.size is None else (local_crops.size, local_crops.size)
            self.local_pipeline = Pipeline(check_ops(local_ops(self.ops, local_crops.scale)), size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        batch, *shape = images.shape
        views = stacked(images, self.views)
        if self.ops:
            views = self.pipeline(views).clamp_(0.0, 1.0)
        return views.view(batch, self.views, *shape)

    def local(self, images: torch.Tensor) -> torch.Tensor:
        """The local crops (B, N, C, h, w) of uint8 images (B, C, H, W); needs `local_crops`."""
        number = self.local_crops.number
        crops = self.local_pipeline(stacked(images, number)).clamp_(0.0, 1.0)
        return crops.view(len(images), number, images.shape[1], *self.local_pipeline.size)

    def clean(self, images: torch.Tensor) -> torch.Tensor:
        """The evaluation transform: no augmentation, only scaling (and binarising where official)."""
        binarise = self.pipeline.binarise
        x = to_float(images)
        return binarise(x) if binarise else x
