"""Backbones: an encoder (image -> vector) and a matching decoder (vector -> image logits); the shapes every
backbone keeps are in `simvae.nets.custom`. `register` adds your own by name, `provided` passes modules for one call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from torch import nn

from simvae.errors import ConfigError
from simvae.nets.conv import ConvDecoder, ConvEncoder
from simvae.nets.custom import (
    CUSTOM,
    DecoderFactory,
    EncoderFactory,
    checked_factories,
    class_name,
    missing_network_message,
    module_factories,
)
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


BUILT_IN = frozenset(BACKBONES)


def register(name: str, encoder: EncoderFactory, decoder: DecoderFactory | None = None, description: str = "") -> None:
    """Make `net.backbone=name` build your networks (in this process: register again before reloading a run).

    encoder(image_shape, out_dim) -> an nn.Module mapping images (N, C, H, W) in [0, 1] to (N, out_dim) (out_dim =
    2 x net.latent_dim for generative methods, net.latent_dim for the others); decoder(latent_dim, image_shape) -> an
    nn.Module mapping (N, latent_dim) to (N, C, H, W) pixel logits, needed by the generative methods. What they build
    is checked with one dummy batch when a run is built, before training, and a wrong shape is a ConfigError.
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name) or name in (*BUILT_IN, CUSTOM, "auto"):
        raise ConfigError(f"backbone name {name!r} cannot be registered: use lower-case letters, digits, '-', '_' or '.', "
                          f"other than auto, {CUSTOM} and the built-in {', '.join(sorted(BUILT_IN))}")
    make_encoder, make_decoder = checked_factories(encoder, decoder)
    description = description or f"registered: {getattr(encoder, '__qualname__', class_name(encoder))}"
    BACKBONES[name] = Backbone(make_encoder, make_decoder, description)


@contextmanager
def provided(encoder: nn.Module, decoder: nn.Module | None = None) -> Iterator[None]:
    """Within the block, `net.backbone=custom` builds methods around these very modules (checked shapes)."""
    if CUSTOM in BACKBONES:
        raise ConfigError("custom networks are already provided (a simvae.train or load_run call is running in this "
                          "process): pass encoder=/decoder= to one call at a time")
    make_encoder, make_decoder = module_factories(encoder, decoder)
    named = ", ".join(class_name(m) for m in (encoder, decoder) if m is not None)
    BACKBONES[CUSTOM] = Backbone(make_encoder, make_decoder, f"custom: {named}")
    try:
        yield
    finally:
        del BACKBONES[CUSTOM]


def backbone_for(name: str, image_shape: tuple[int, int, int]) -> str:
    """Resolve "auto": the paper's MLP for grey images, the conv net for colour ones."""
    if name == "auto":
        return "mlp" if image_shape[0] == 1 else "conv"
    if name == CUSTOM and name not in BACKBONES:
        raise ValueError(missing_network_message())
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; available: {sorted(BACKBONES)} (set net.backbone)")
    return name
