"""Batched view augmentations on the training device, J independent views per image: presets and
configurable op lists (`augment.ops`), run as one fused warp plus vectorised colour operations."""

from simvae.augment.pipeline import OPS, check_ops
from simvae.augment.views import (
    PRESETS,
    LocalCrops,
    Preset,
    ViewAugmenter,
    check_local_crops,
    preset_for,
    to_float,
)

__all__ = ["OPS", "PRESETS", "LocalCrops", "Preset", "ViewAugmenter", "check_local_crops", "check_ops", "preset_for", "to_float"]
