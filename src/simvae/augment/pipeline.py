"""View pipelines from op lists: the registry of operations, their validation, and one call's execution.

An op list is what `augment.ops` holds in a config, a list of one-key mappings:

    - crop: {scale: [0.4, 1.0], ratio: [0.75, 1.33]}
    - vflip: {p: 0.5}

The presets are such lists too (simvae.augment.views), so both take the same path. Geometric ops
(crop, flips, translate) are composed into one affine warp that runs first; colour ops then run in the
listed order on the warped views (see docs/augmentations.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from simvae.augment.colour import Binarise, Blur, Brightness, Grayscale, Jitter
from simvae.augment.geometry import Crop, Flip, Translate, warp
from simvae.errors import ConfigError

Op = Any  # one of the op classes of simvae.augment.geometry and simvae.augment.colour


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bound(x: float) -> str:
    return "inf" if x == math.inf else f"{x:g}"


@dataclass(frozen=True)
class Param:
    """One op parameter: `parse` returns the value the op takes, or None when the value is invalid."""

    parse: Callable[[Any], Any]
    expected: str


def number(low: float, high: float, low_open: bool = False) -> Param:
    def parse(v: Any) -> float | None:
        return float(v) if _number(v) and (low < v if low_open else low <= v) and v <= high else None
    return Param(parse, f"a value in {'(' if low_open else '['}{_bound(low)}, {_bound(high)}]")


def interval(low: float, high: float, low_open: bool = False) -> Param:
    """A range [a, b] with a <= b, both within the bounds."""
    one = number(low, high, low_open)

    def parse(v: Any) -> tuple[float, float] | None:
        if not (isinstance(v, (list, tuple)) and len(v) == 2):
            return None
        a, b = one.parse(v[0]), one.parse(v[1])
        return (a, b) if a is not None and b is not None and a <= b else None
    return Param(parse, f"a range [low, high] within {one.expected[len('a value in '):]}")


def spread(centre: float, limit: float, low: float) -> Param:
    """torchvision's jitter strength: s means the range [max(low, centre - s), centre + s]; a range also works."""
    one, pair = number(0, limit), interval(low, centre + limit)

    def parse(v: Any) -> tuple[float, float] | None:
        s = one.parse(v)
        return (max(low, centre - s), centre + s) if s is not None else pair.parse(v)
    return Param(parse, f"{one.expected} (or {pair.expected})")


def per_axis(param: Param) -> Param:
    """One value for both axes, or a pair [x, y]."""
    def parse(v: Any) -> tuple[float, float] | None:
        if isinstance(v, (list, tuple)) and len(v) == 2:
            x, y = param.parse(v[0]), param.parse(v[1])
            return (x, y) if x is not None and y is not None else None
        s = param.parse(v)
        return None if s is None else (s, s)
    return Param(parse, f"{param.expected}, or a pair [x, y] of such values")


PROBABILITY = number(0, 1)
STRENGTH = spread(1.0, math.inf, 0.0)

# name -> (the op's constructor, its parameters); the defaults are the constructors'
OPS: dict[str, tuple[Callable[..., Op], dict[str, Param]]] = {
    "crop": (Crop, {"scale": interval(0, 1, low_open=True), "ratio": interval(0, math.inf, low_open=True)}),
    "hflip": (lambda **kw: Flip(axis=0, **kw), {"p": PROBABILITY}),
    "vflip": (lambda **kw: Flip(axis=1, **kw), {"p": PROBABILITY}),
    "translate": (Translate, {"max": per_axis(number(0, 1))}),
    "jitter": (Jitter, {"brightness": STRENGTH, "contrast": STRENGTH, "saturation": STRENGTH,
                        "hue": spread(0.0, 0.5, -0.5), "p": PROBABILITY}),
    "brightness": (Brightness, {"factor": interval(0, math.inf), "p": PROBABILITY}),
    "grayscale": (Grayscale, {"p": PROBABILITY}),
    "blur": (Blur, {"sigma": interval(0, math.inf, low_open=True), "p": PROBABILITY}),
    "binarise": (Binarise, {"threshold": number(0, 1)}),
}


def check_op(entry: Any, where: str) -> Op:
    """One op-list entry ({name: {param: value}}) -> the op; ConfigError naming the entry otherwise."""
    if not (isinstance(entry, Mapping) and len(entry) == 1):
        raise ConfigError(f"config value {where}={entry!r} is invalid: expected one operation as a mapping "
                          f"{{name: {{parameter: value}}}}, e.g. {{hflip: {{p: 0.5}}}}")
    (name, values), = entry.items()
    if name not in OPS:
        raise ConfigError(f"{where}: unknown operation {name!r}; available: {', '.join(OPS)}")
    build, params = OPS[name]
    values = {} if values is None else values
    if not isinstance(values, Mapping):
        raise ConfigError(f"config value {where}.{name}={values!r} is invalid: expected a mapping of its parameters "
                          f"({', '.join(params)}), e.g. {{}} for the defaults")
    kwargs = {}
    for key, value in values.items():
        if key not in params:
            raise ConfigError(f"{where}.{name}: unknown parameter {key!r}; available: {', '.join(params)}")
        parsed = params[key].parse(value)
        if parsed is None:
            raise ConfigError(f"config value {where}.{name}.{key}={value!r} is invalid: expected {params[key].expected}")
        kwargs[key] = parsed
    return build(**kwargs)


def check_ops(ops: Any, where: str = "augment.ops") -> list[Op]:
    """Validate an op list (as written in a config) into its ops; ConfigError names a bad op or parameter."""
    if not isinstance(ops, (list, tuple)):
        raise ConfigError(f"config value {where}={ops!r} is invalid: expected a list of operations, "
                          "e.g. [{crop: {scale: [0.4, 1]}}, {hflip: {}}]")
    return [check_op(entry, f"{where}[{i}]") for i, entry in enumerate(ops)]


class Pipeline:
    """The ops of one op list, run on float views (N, C, H, W) in [0, 1] with per-view parameters.

    `size` (height, width) makes the warp's output that size (the local crops of multi-crop methods); it needs a
    geometric op, without which there is no warp.
    """

    def __init__(self, ops: list[Op], size: tuple[int, int] | None = None) -> None:
        self.geometric = [op for op in ops if op.geometric]
        self.colour = [op for op in ops if not op.geometric]
        if size is not None and not self.geometric:
            raise ValueError("a pipeline with an output size needs a geometric op (e.g. a crop)")
        self.size = size

    def __call__(self, views: torch.Tensor) -> torch.Tensor:
        if self.geometric:
            affine = None  # the identity, which the first op's map replaces rather than multiplies
            for op in self.geometric:
                affine = op(affine, len(views), tuple(views.shape[-2:]), views.device)
            views = warp(views, affine, self.size)
        for op in self.colour:
            views = op(views)
        return views

    @property
    def binarise(self) -> Binarise | None:
        """The threshold op, which the clean (evaluation) images get too."""
        return next((op for op in self.colour if isinstance(op, Binarise)), None)
