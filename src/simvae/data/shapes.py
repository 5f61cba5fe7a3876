"""The embedded default dataset: white shapes on a coloured canvas, generated from a seed (no download).

Content is the shape class. Style is everything the generator varied independently of it: position,
scale, rotation and the background's hue, each recorded as a continuous factor and as a binned label for probing. The
augmentation preset for this data changes position, scale and hue, so a method that becomes invariant
to augmentations (discriminative SSL) should lose exactly these style labels, while a generative
model that must reconstruct each view (SimVAE) has a reason to keep them.
"""

from __future__ import annotations

import math

import kornia
import torch
import torch.nn.functional as F

from simvae.data.base import Dataset, ImageSet, split_train_val

SHAPES = ["square", "triangle", "ellipse", "cross", "star"]
SIZE = 32
SUPERSAMPLE = 2  # anti-aliasing: each pixel averages 2x2 bilinear sub-pixel samples
TEMPLATE = 256  # resolution of the per-class masks that are warped into place
BACKGROUND_SATURATION, BACKGROUND_VALUE = 0.8, 0.7  # the shape itself is white
EXTENT = 1.25  # the masks cover [-EXTENT, EXTENT]^2 of a shape's local coordinates
# Style factor -> (low, high, number of label bins). Centre and radius are in pixels.
FACTORS = {
    "pos_x": (11.5, 20.5, 3),
    "pos_y": (11.5, 20.5, 3),
    "scale": (6.0, 10.0, 3),
    "rotation": (0.0, 60.0, 3),  # degrees; under 72, the smallest symmetry angle of the non-round shapes
    "hue": (0.0, 1.0, 6),
}
DEFAULT_SIZES = {"train": 12000, "test": 3000}


def _polygon(name: str) -> torch.Tensor:
    """Vertices (V, 2) of a shape with radius about 1, centred at the origin."""
    def ring(count: int, radius: float | list[float], start: float = 90.0) -> torch.Tensor:
        angles = torch.deg2rad(start + torch.arange(count) * 360.0 / count)
        radii = torch.tensor(radius).repeat(count // len(radius)) if isinstance(radius, list) else radius
        return torch.stack([radii * torch.cos(angles), radii * torch.sin(angles)], dim=1)

    if name == "square":
        return ring(4, 1.0, start=45.0)
    if name == "triangle":
        return ring(3, 1.15)
    if name == "ellipse":
        return ring(32, 1.1) * torch.tensor([1.0, 0.5])
    if name == "star":
        return ring(10, [1.15, 0.5])
    if name == "cross":
        a, w = 1.0, 0.35
        return torch.tensor([[w, w], [w, a], [-w, a], [-w, w], [-a, w], [-a, -w],
                             [-w, -w], [-w, -a], [w, -a], [w, -w], [a, -w], [a, w]])
    raise KeyError(name)


def _inside(vertices: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Even-odd point-in-polygon test. vertices (N, V, 2), points (P, 2) -> bool (N, P)."""
    a = vertices.unsqueeze(2)  # (N, V, 1, 2)
    b = vertices.roll(-1, dims=1).unsqueeze(2)
    px, py = points[:, 0], points[:, 1]
    straddles = (a[..., 1] > py) != (b[..., 1] > py)
    x_cross = a[..., 0] + (py - a[..., 1]) * (b[..., 0] - a[..., 0]) / (b[..., 1] - a[..., 1] + 1e-12)
    crossings = straddles & (px < x_cross)
    return crossings.sum(dim=1) % 2 == 1


def _template(name: str) -> torch.Tensor:
    """A shape's mask (1, T, T) on a fine grid covering [-EXTENT, EXTENT]^2 of its local coordinates."""
    grid = (torch.arange(TEMPLATE) + 0.5) / TEMPLATE * 2 * EXTENT - EXTENT
    ys, xs = torch.meshgrid(grid, grid, indexing="ij")
    inside = _inside(_polygon(name).unsqueeze(0), torch.stack([xs.flatten(), ys.flatten()], dim=1))
    return inside.float().view(1, TEMPLATE, TEMPLATE)


def render(shape: torch.Tensor, factors: dict[str, torch.Tensor], chunk: int = 1024) -> torch.Tensor:
    """Render shapes (N,) with their continuous factors into uint8 images (N, 3, SIZE, SIZE).

    Each class's fine mask is warped (rotation, scale, translation) by one batched grid_sample onto a
    supersampled canvas, then average-pooled: anti-aliased shapes, about 15k images a second.
    """
    n = len(shape)
    templates = torch.stack([_template(name) for name in SHAPES])  # (classes, 1, T, T)
    theta = torch.deg2rad(factors["rotation"])
    cos, sin = theta.cos(), theta.sin()
    inverse_rotation = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)  # R(-theta)
    gain = (SIZE / 2) / (factors["scale"] * EXTENT)
    centre = torch.stack([factors["pos_x"], factors["pos_y"]], -1)
    # canvas coordinate in [-1, 1] -> template coordinate in [-1, 1]:  R(-theta) (u - c) / (s * EXTENT)
    linear = inverse_rotation * gain[:, None, None]
    offset = (inverse_rotation @ (SIZE / 2 - centre).unsqueeze(-1)).squeeze(-1) / (factors["scale"] * EXTENT)[:, None]
    affine = torch.cat([linear, offset.unsqueeze(-1)], dim=-1)
    coverage = torch.empty(n, 1, SIZE, SIZE)
    for class_index in range(len(SHAPES)):
        members = (shape == class_index).nonzero().flatten()
        for index in members.split(chunk) if len(members) else ():
            grid = F.affine_grid(affine[index], [len(index), 1, SIZE * SUPERSAMPLE, SIZE * SUPERSAMPLE], align_corners=False)
            template = templates[class_index : class_index + 1].expand(len(index), -1, -1, -1)
            warped = F.grid_sample(template, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
            coverage[index] = F.avg_pool2d(warped, SUPERSAMPLE)
    # The colour is the background's, a global property a decoder learns in a few hundred steps (a colour
    # carried only by a small shape on black takes a VAE thousands of steps to stop drawing grey blobs).
    hsv = torch.stack([factors["hue"] * 2 * math.pi, torch.full((n,), BACKGROUND_SATURATION), torch.full((n,), BACKGROUND_VALUE)], 1)
    background = kornia.color.hsv_to_rgb(hsv.view(n, 3, 1, 1))
    return ((coverage + (1 - coverage) * background) * 255).round().clamp(0, 255).to(torch.uint8)


def generate(count: int, seed: int) -> ImageSet:
    generator = torch.Generator().manual_seed(seed)
    shape = torch.randint(len(SHAPES), (count,), generator=generator)
    factors = {name: low + (high - low) * torch.rand(count, generator=generator) for name, (low, high, _) in FACTORS.items()}
    styles = {name: bin_factor(factors[name], name) for name in FACTORS}
    return ImageSet(render(shape, factors), shape, styles)


def bin_factor(values: torch.Tensor, name: str) -> torch.Tensor:
    low, high, bins = FACTORS[name]
    return ((values - low) / (high - low) * bins).long().clamp(0, bins - 1)


def load_shapes(val_fraction: float, split_seed: int, seed: int = 0, sizes: dict[str, int] | None = None) -> Dataset:
    sizes = {**DEFAULT_SIZES, **(sizes or {})}
    train, val = split_train_val(generate(sizes["train"], seed), val_fraction, split_seed)
    test = generate(sizes["test"], seed + 1)
    style_classes = {name: bins for name, (_, _, bins) in FACTORS.items()}
    return Dataset("shapes", train, val, test, list(SHAPES), style_classes, likelihood="gaussian",
                   source=f"generated (simvae.data.shapes, seed {seed})")
