"""Backbones: an encoder (image -> vector) and a matching decoder (vector -> image logits)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from simvae.nets.conv import ConvDecoder, ConvEncoder
from simvae.nets.mlp import MLPDecoder, MLPEncoder
from simvae.nets.resnet import (
    CifarResNet18Encoder,
    OfficialResNetDecoder,
    OfficialResNetEncoder,
)


@dataclass(frozen=True)
class Backbone:
    encoder: Callable[[tuple[int, int, int], int], nn.Module]  # (image_shape, out_dim)
    decoder: Callable[[int, tuple[int, int, int]], nn.Module]  # (latent_dim, image_shape)
    description: str
    any_size: bool = False  # the encoder also takes images of other sizes than image_shape's (e.g. smaller local crops)


BACKBONES: dict[str, Backbone] = {
    "mlp": Backbone(MLPEncoder, MLPDecoder, "the paper's MLP: 784-2000-500-500-2d / d-500-500-2000-784"),
    "conv": Backbone(ConvEncoder, ConvDecoder, "3 strided convs (32-64-128) + 256 hidden, mirrored decoder"),
    "resnet18-official": Backbone(
        OfficialResNetEncoder, OfficialResNetDecoder,
        "the SimVAE code's ResNet-18: half width, 3 stages (32-64-128), max-pool; transposed-conv ResNet decoder",
    ),
    "resnet18": Backbone(
        CifarResNet18Encoder, OfficialResNetDecoder,
        "standard CIFAR ResNet-18 (3x3 stem, no max-pool, 64-512, avg-pool); the official ResNet decoder",
        any_size=True,
    ),
}


def backbone_for(name: str, image_shape: tuple[int, int, int]) -> str:
    """Resolve "auto": the paper's MLP for grey images, the conv net for colour ones."""
    if name == "auto":
        return "mlp" if image_shape[0] == 1 else "conv"
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; available: {sorted(BACKBONES)} (set net.backbone)")
    return name
