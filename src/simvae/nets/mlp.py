"""The paper's fully connected networks for MNIST / Fashion-MNIST (docs/model.md §3.2)."""

from __future__ import annotations

import math

from torch import nn

ENCODER_WIDTHS = (2000, 500, 500)  # 784 -> 2000 -> 500 -> 500 -> out (the official, VaDE-mirrored layout)
DECODER_WIDTHS = (500, 500, 2000)  # d -> 500 -> 500 -> 2000 -> 784


def _mlp(widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (width_in, width_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(width_in, width_out))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int], out_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), _mlp([math.prod(image_shape), *ENCODER_WIDTHS, out_dim]))

    def forward(self, x):
        return self.net(x)


class MLPDecoder(nn.Module):
    """Latent (N, d) -> logits (N, C, H, W); the likelihood applies the sigmoid."""

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.net = _mlp([latent_dim, *DECODER_WIDTHS, math.prod(image_shape)])

    def forward(self, z):
        return self.net(z).view(-1, *self.image_shape)
