"""Backbones: an encoder (image -> vector) and a matching decoder (vector -> image logits)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from simvae.nets.conv import ConvDecoder, ConvEncoder
from simvae.nets.mlp import MLPDecoder, MLPEncoder


@dataclass(frozen=True)
class Backbone:
    encoder: Callable[[tuple[int, int, int], int], nn.Module]  # (image_shape, out_dim)
    decoder: Callable[[int, tuple[int, int, int]], nn.Module]  # (latent_dim, image_shape)
    description: str


BACKBONES: dict[str, Backbone] = {
    "mlp": Backbone(MLPEncoder, MLPDecoder, "the paper's MLP: 784-2000-500-500-2d / d-500-500-2000-784"),
    "conv": Backbone(ConvEncoder, ConvDecoder, "3 strided convs (32-64-128) + 256 hidden, mirrored decoder"),
}


def backbone_for(name: str, image_shape: tuple[int, int, int]) -> str:
    """Resolve "auto": the paper's MLP for grey images, the conv net for colour ones."""
    if name == "auto":
        return "mlp" if image_shape[0] == 1 else "conv"
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; available: {sorted(BACKBONES)} (set net.backbone)")
    return name
