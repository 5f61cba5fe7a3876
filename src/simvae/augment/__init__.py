"""Batched view augmentations on the training device (kornia), J independent views per image."""

from simvae.augment.views import PRESETS, Preset, ViewAugmenter, preset_for, to_float

__all__ = ["PRESETS", "Preset", "ViewAugmenter", "preset_for", "to_float"]
