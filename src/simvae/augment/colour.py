"""Colour view operations, vectorised over the views: per-view factors broadcast over the pixels.

An op that applies with probability p draws a per-view Bernoulli mask and makes its factors neutral
where the mask is off, so every view runs the same kernels and nothing is read back to the host. The
formulas are torchvision's (and kornia's ColorJitter's). Constants live on the device (copied once),
since a Python number in float32 arithmetic costs five operators; see simvae.augment.ops_count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from simvae.augment.geometry import coin, constant, draw, param_dtype

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, kornia's and torchvision's grayscale weights


def _const(values: tuple[float, ...], like: torch.Tensor, shape: tuple[int, ...] = (1, -1, 1, 1)) -> torch.Tensor:
    return constant(values, like.device, like.dtype, shape)


def grey(x: torch.Tensor) -> torch.Tensor:
    """Luma of RGB images (N, 3, H, W) -> (N, 1, H, W)."""
    return (x * _const(LUMA, x)).sum(1, keepdim=True)


def shift_hue(x: torch.Tensor, sextants: torch.Tensor) -> torch.Tensor:
    """Rotate the HSV hue of RGB images by `sextants` (N, 1, 1, 1) sixths of the colour circle, keeping
    saturation and value: an RGB -> hue -> RGB round trip in about 20 operators (kornia's HSV pair takes 200)."""
    value, top = x.max(1, keepdim=True)  # the first maximal channel decides the sextant, as in RGB -> HSV
    chroma = value - x.amin(1, keepdim=True)
    # per channel c: (next - after next) / chroma + 2 c, i.e. (g - b) / chroma, (b - r) / chroma + 2, (r - g) / chroma + 4
    spread = x.index_select(1, constant((1, 2, 0), x.device, torch.long)) - x.index_select(1, constant((2, 0, 1), x.device, torch.long))
    hue = torch.addcdiv(_const((0.0, 2.0, 4.0), x), spread, chroma.clamp_min(1e-12)).gather(1, top) + sextants  # grey: 0 / eps = 0, any hue
    six = _const((6.0,), x, ())
    k = torch.remainder(hue + _const((5.0, 3.0, 1.0), x), six)  # HSV -> RGB: v - c clamp(min(k, 4 - k), 0, 1)
    return value - chroma * torch.minimum(k, _const((4.0,), x, ()) - k).clamp_(0, 1)


def applies(n: int, p: float, device: torch.device) -> torch.Tensor:
    """True (N, 1, 1, 1) where a view gets an op of probability p: a bool for `torch.where`, so the other
    views pass exactly unchanged."""
    return torch.rand((n, 1, 1, 1), device=device, dtype=param_dtype(device)) < p


def factor(n: int, low: float, high: float, device: torch.device) -> torch.Tensor:
    """A float32 factor per view (N, 1, 1, 1), uniform in [low, high)."""
    return torch.empty((n, 1, 1, 1), device=device).uniform_(low, high)


@dataclass(frozen=True)
class Jitter:
    """Colour jitter with probability p: brightness, contrast and saturation factors and a hue shift in turns.

    Applied in the fixed order brightness, contrast, saturation, hue (kornia and torchvision shuffle the
    order on every call); components with a neutral range are skipped, and saturation and hue leave
    one-channel images alone. Every view is jittered and the views the p-mask leaves out are put back.
    """

    brightness: tuple[float, float] = (1.0, 1.0)
    contrast: tuple[float, float] = (1.0, 1.0)
    saturation: tuple[float, float] = (1.0, 1.0)
    hue: tuple[float, float] = (0.0, 0.0)
    p: float = 1.0
    geometric = False

    def sample(self, n: int, device: torch.device) -> dict[str, torch.Tensor]:
        """Each active component's factor per view (N, 1, 1, 1), hue in sextants (sixths of a turn), and
        "applies" (where p < 1)."""
        ranges = {"brightness": self.brightness, "contrast": self.contrast, "saturation": self.saturation,
                  "hue": (6 * self.hue[0], 6 * self.hue[1])}
        neutral = {"brightness": 1.0, "contrast": 1.0, "saturation": 1.0, "hue": 0.0}
        params = {name: factor(n, *r, device) for name, r in ranges.items() if r != (neutral[name],) * 2}
        return params | ({"applies": applies(n, self.p, device)} if self.p < 1 else {})

    def apply(self, x: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
        colour, original = x.shape[1] == 3, x
        if "brightness" in params:
            x = (x * params["brightness"]).clamp_(0, 1)
        if "contrast" in params:
            mean = (grey(x) if colour else x).mean((1, 2, 3), keepdim=True)
            x = torch.lerp(mean, x, params["contrast"]).clamp_(0, 1)
        if "saturation" in params and colour:
            x = torch.lerp(grey(x), x, params["saturation"]).clamp_(0, 1)
        if "hue" in params and colour:
            x = shift_hue(x, params["hue"])
        return torch.where(params["applies"], x, original) if "applies" in params else x

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.apply(x, self.sample(len(x), x.device))


@dataclass(frozen=True)
class Brightness:
    """Multiply a view by a factor in `factor`, with probability p: kornia's RandomContrast (a multiplicative
    contrast, i.e. brightness on a black background), not ColorJitter's mean-preserving contrast."""

    factor: tuple[float, float] = (0.5, 1.5)
    p: float = 1.0
    geometric = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = (x * factor(len(x), *self.factor, x.device)).clamp_(0, 1)
        return torch.where(applies(len(x), self.p, x.device), out, x) if self.p < 1 else out


@dataclass(frozen=True)
class Grayscale:
    """Replace a colour view by its luma in every channel, with probability p (one-channel views pass)."""

    p: float = 0.1
    geometric = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != 3:
            return x
        return torch.where(applies(len(x), self.p, x.device), grey(x), x)


@dataclass(frozen=True)
class Blur:
    """Gaussian blur with probability p, sigma (pixels) uniform in `sigma` per view; a separable kernel of
    radius 3 sigma (at most the image size less one), reflecting at the border (kornia's default)."""

    sigma: tuple[float, float] = (0.1, 2.0)
    p: float = 0.5
    geometric = False

    def sample(self, n: int, device: torch.device) -> torch.Tensor:
        """Each view's sigma (N, 1), 0 where the view is not blurred."""
        return draw((n, 1), *self.sigma, device) * coin((n, 1), self.p, device)

    @staticmethod
    def kernels(sigma: torch.Tensor, radius: int) -> torch.Tensor:
        """Normalised 1-D kernels (N, 2 radius + 1); sigma 0 gives the identity kernel exactly."""
        offsets = torch.arange(-radius, radius + 1, device=sigma.device, dtype=sigma.dtype)
        return torch.softmax(offsets.square().neg() / (2 * sigma.clamp(min=1e-6).square()), dim=1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        radius = min(math.ceil(3 * self.sigma[1]), h - 1, w - 1)
        size = 2 * radius + 1
        weights = self.kernels(self.sample(n, x.device), radius).to(x.dtype).repeat_interleave(c, dim=0)  # one per channel
        padded = F.pad(x.reshape(1, n * c, h, w), (radius,) * 4, mode="reflect")
        rows = F.conv2d(padded, weights.view(n * c, 1, 1, size), groups=n * c)
        return F.conv2d(rows, weights.view(n * c, 1, size, 1), groups=n * c).view(n, c, h, w)


@dataclass(frozen=True)
class Binarise:
    """Threshold every pixel (the official MNIST data is binary); also applied to the clean images."""

    threshold: float = 0.5
    geometric = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x > self.threshold).float()
