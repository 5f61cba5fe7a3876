"""Geometric view operations, fused into one warp per call.

Every geometric op here is axis-aligned (a scale, possibly negative, and a shift per axis), so a chain of
them is one per-view map `input = scale * output + offset` on (N, 2) tensors, with x then y. The
coordinates are normalised with `align_corners=True` (-1 and 1 are the centres of the first and last
pixel, kornia's convention). One sampling grid + `grid_sample` then applies the whole chain.

Parameters are drawn and combined in float64 (float32 on MPS), where Python-number arithmetic costs
one operator instead of five (a float32 tensor casts each wrapped number); see simvae.augment.ops_count.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from simvae.scalars import constant

CANDIDATES = 10  # crop boxes drawn per view, as torchvision and kornia do; the first that fits is kept
Affine = tuple[torch.Tensor, torch.Tensor]  # scale (N, 2) and offset (N, 2): input = scale * output + offset


def param_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def draw(shape: tuple[int, ...], low: float, high: float, device: torch.device) -> torch.Tensor:
    """Uniform in [low, high), per view."""
    return torch.empty(shape, device=device, dtype=param_dtype(device)).uniform_(low, high)


def coin(shape: tuple[int, ...], p: float, device: torch.device) -> torch.Tensor:
    """A per-view Bernoulli(p) draw, 1.0 where the op applies: a mask to multiply or blend, never to index."""
    return torch.empty(shape, device=device, dtype=param_dtype(device)).bernoulli_(p)


def identity(n: int, device: torch.device) -> Affine:
    dtype = param_dtype(device)
    return torch.ones(n, 2, device=device, dtype=dtype), torch.zeros(n, 2, device=device, dtype=dtype)


def then(affine: Affine | None, scale: torch.Tensor, offset: torch.Tensor) -> Affine:
    """`affine` (None: the identity) followed, in image order, by the map (scale, offset) on its output."""
    if affine is None:
        return scale, offset
    return affine[0] * scale, torch.addcmul(affine[1], affine[0], offset)


@functools.cache
def output_grid(height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(1, H, W, 2): each output pixel's (x, y) in align_corners coordinates, made once per shape and device."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, height, dtype=dtype), torch.linspace(-1, 1, width, dtype=dtype), indexing="ij")
    return torch.stack([x, y], dim=-1).unsqueeze(0).to(device)


def warp(images: torch.Tensor, affine: Affine, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Resample every image (N, C, H, W) through its own map, bilinearly, to (N, C, *size) (default H x W);
    outside the image is black. The map is in normalised coordinates, so it means the same at any output size."""
    # the map is axis-aligned, so the sampling grid is scale * output + offset: one addcmul on a cached grid,
    # where affine_grid would build the grid anew and multiply it by a (2, 3) matrix per view
    scale, offset = (part.to(images.dtype).view(-1, 1, 1, 2) for part in affine)
    grid = torch.addcmul(offset, scale, output_grid(*(size or images.shape[-2:]), images.device, images.dtype))
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def per_axis(values: tuple[float, float], device: torch.device) -> torch.Tensor:
    """An (x, y) constant (2,) in the parameter dtype."""
    return constant(values, device, param_dtype(device))


def pixel_scale(size: tuple[int, int]) -> tuple[float, float]:
    """W / (W - 1) and H / (H - 1): a fraction f of the width spans 2 f W / (W - 1) in align_corners coordinates."""
    height, width = size
    return width / max(width - 1, 1), height / max(height - 1, 1)


@dataclass(frozen=True)
class Crop:
    """Random resized crop (torchvision's and kornia's RandomResizedCrop), resampled to the full size.

    The box's area is a fraction in `scale` of the image's, its aspect ratio (width / height) log-uniform
    in `ratio`; ten candidates are drawn per view and the first that fits is kept, as tensor operations
    rather than a rejection loop that reads values back. Two small differences from kornia: box sizes and
    positions are continuous rather than whole pixels (so the areas spread by up to a pixel per side
    around kornia's), and when no candidate fits (probability below 1e-6 for the presets) the box is the
    whole image rather than the widest box of an allowed ratio.
    """

    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    geometric = True

    def sample(self, n: int, size: tuple[int, int], device: torch.device) -> torch.Tensor:
        """Each view's box width and height as fractions (N, 2) of the image's."""
        height, width = size
        area = draw((n, CANDIDATES, 1), *self.scale, device)
        # width / W = sqrt(area * ratio * H / W), height / H = sqrt(area / (ratio * H / W))
        shift = math.log(height / width)
        stretch = draw((n, CANDIDATES, 1), math.log(self.ratio[0]) + shift, math.log(self.ratio[1]) + shift, device).exp_()
        box = torch.cat([area * stretch, area / stretch], dim=2).sqrt_()
        # max over a boolean gives whether any candidate fits and the first that does (ties go to the first index)
        found, first = (box <= 1.0).all(2).max(1, keepdim=True)
        chosen = box.gather(1, first.unsqueeze(2).expand(-1, 1, 2)).squeeze(1)
        return torch.where(found, chosen, constant((1.0,), device, box.dtype))

    def __call__(self, affine: Affine | None, n: int, size: tuple[int, int], device: torch.device) -> Affine:
        box = self.sample(n, size, device)
        # kornia maps the box's corner pixel centres onto the output's: half-extent (w - 1) / (W - 1)
        height, width = size
        minus = (-1 / max(width - 1, 1), -1 / max(height - 1, 1))
        scale = torch.addcmul(per_axis(minus, device), box, per_axis(pixel_scale(size), device))
        room = constant((1.0,), device, scale.dtype) - scale  # the box centre moves within +-room
        return then(affine, scale, draw(scale.shape, -1.0, 1.0, device) * room)


@dataclass(frozen=True)
class Flip:
    """Mirror a view with probability p: left-right (`hflip`, axis 0 = x) or upside down (`vflip`, axis 1 = y)."""

    axis: int
    p: float = 0.5
    geometric = True

    def sample(self, n: int, device: torch.device) -> torch.Tensor:
        return coin((n,), self.p, device)  # 1 where the view is flipped

    def __call__(self, affine: Affine | None, n: int, size: tuple[int, int], device: torch.device) -> Affine:
        scale, offset = identity(n, device) if affine is None else affine
        flipped = self.sample(n, device).view(-1, 1)
        axis = constant((-2.0, 0.0) if self.axis == 0 else (0.0, -2.0), scale.device, scale.dtype)
        return torch.addcmul(scale, scale, flipped * axis), offset  # scale * (1 - 2 flipped) on the axis


@dataclass(frozen=True)
class Translate:
    """Shift a view by up to `max` of its width and height (uniform per view and axis); the gap is black."""

    max: tuple[float, float] = (0.1, 0.1)
    geometric = True

    def sample(self, n: int, device: torch.device) -> torch.Tensor:
        """Shifts (N, 2) as fractions of the width and height."""
        return draw((n, 2), -1.0, 1.0, device) * per_axis(self.max, device)

    def __call__(self, affine: Affine | None, n: int, size: tuple[int, int], device: torch.device) -> Affine:
        # sampling at -shift moves the view by +shift
        offset = self.sample(n, device) * per_axis(tuple(-2 * k for k in pixel_scale(size)), device)
        return then(affine, torch.ones_like(offset), offset)
