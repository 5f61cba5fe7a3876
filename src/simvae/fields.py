"""Config fields whose bounds are declared once, beside the field; `simvae.config` checks them at load.

    lr: float = bounded(1e-3, gt=0)
    momentum: float = bounded(0.99, ge=0, lt=1)

A list field's bounds hold for every element (and the list must not be empty). Kept apart from
`simvae.config` so that method configs can declare bounds without importing the config module,
which imports the method registry.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from simvae.errors import ConfigError

NUMPY_SEEDS = 2**32 - 1  # the largest seed numpy (and Lightning's seed_everything) take, from 0
TORCH_SEEDS = 2**64 - 1  # a torch.Generator's, from 0


@dataclass(frozen=True)
class Bounds:
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def holds(self, value: float) -> bool:
        return ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
                and (self.le is None or value <= self.le) and (self.lt is None or value < self.lt))

    def __str__(self) -> str:
        parts = [f"{op} {_number(limit)}" for op, limit in ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt))
                 if limit is not None]
        return " and ".join(parts)


def _number(limit: float) -> str:
    return str(limit) if isinstance(limit, int) else f"{limit:g}"  # 4294967295, not 4.29497e+09


def shown(value: Any, limit: int = 80) -> str:
    """repr(value), cut to `limit` characters: an error message quotes what it refuses, never megabytes of it."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def bounded(default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING, ge: float | None = None,
            gt: float | None = None, le: float | None = None, lt: float | None = None) -> Any:
    """A dataclass field with bounds; `None` (for optional fields) is always allowed."""
    return dataclasses.field(default=default, default_factory=default_factory, metadata={"bounds": Bounds(ge, gt, le, lt)})


def check_bounds(section: Any, prefix: str) -> None:
    """Raise ConfigError naming the first field of dataclass `section` whose value is out of its bounds."""
    for f in dataclasses.fields(section):
        bounds: Bounds | None = f.metadata.get("bounds")
        value = getattr(section, f.name)
        if bounds is None or value is None:
            continue
        values = value if isinstance(value, list) else [value]
        if not values or not all(bounds.holds(v) for v in values):
            expected = f"a non-empty list of values {bounds}" if isinstance(value, list) else str(bounds)
            raise ConfigError(f"config value {prefix}.{f.name}={shown(value)} is invalid: expected {expected}")
