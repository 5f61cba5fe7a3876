"""A small convolutional encoder/decoder for colour images whose sides are multiples of 8 (32x32, 64x64)."""

from __future__ import annotations

from torch import nn

CHANNELS = (32, 64, 128)
HIDDEN = 256


def _check_size(image_shape: tuple[int, int, int]) -> tuple[int, int]:
    _, height, width = image_shape
    if height % 8 or width % 8:
        raise ValueError(f"the conv backbone needs image sides divisible by 8, got {height}x{width}; use net.backbone=mlp")
    return height // 8, width // 8


class ConvEncoder(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int], out_dim: int) -> None:
        super().__init__()
        h, w = _check_size(image_shape)
        channels = (image_shape[0], *CHANNELS)
        convs = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            convs += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU()]
        self.net = nn.Sequential(*convs, nn.Flatten(), nn.Linear(CHANNELS[-1] * h * w, HIDDEN), nn.ReLU(),
                                 nn.Linear(HIDDEN, out_dim))

    def forward(self, x):
        return self.net(x)


class ConvDecoder(nn.Module):
    """Latent (N, d) -> logits (N, C, H, W), mirroring ConvEncoder with transposed convolutions."""

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int]) -> None:
        super().__init__()
        h, w = _check_size(image_shape)
        channels = (*reversed(CHANNELS), image_shape[0])
        deconvs: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
            deconvs.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1))
            if i < len(channels) - 2:
                deconvs.append(nn.ReLU())
        self.net = nn.Sequential(nn.Linear(latent_dim, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CHANNELS[-1] * h * w), nn.ReLU(),
                                 nn.Unflatten(1, (CHANNELS[-1], h, w)), *deconvs)

    def forward(self, z):
        return self.net(z)
