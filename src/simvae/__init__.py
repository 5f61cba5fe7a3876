"""simvae: self-supervised representation learning under one probabilistic model (SimVAE and its peers).

The Python API (see README, "Python"): `train`, `evaluate`, `load_run` and the `Run` they return; every
failure a user can fix raises a `SimvaeError` (simvae.errors) with the message the CLI prints.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The public names and the module defining each, imported on first use: `import simvae` (and so the `simvae`
# command, whose modules live in this package) then costs nothing until the API is used, and `simvae --help`
# parses its arguments without importing torch, Lightning Fabric, matplotlib or scikit-learn.
EXPORTS = {"Run": "simvae.api", "evaluate": "simvae.api", "load_run": "simvae.api", "train": "simvae.api",
           "SimvaeError": "simvae.errors"}

if TYPE_CHECKING:  # what type checkers and IDEs see
    from simvae.api import Run, evaluate, load_run, train
    from simvae.errors import SimvaeError


def __getattr__(name: str) -> Any:
    if name not in EXPORTS:
        raise AttributeError(f"module 'simvae' has no attribute {name!r}")
    value = getattr(importlib.import_module(EXPORTS[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *EXPORTS})


__all__ = ["Run", "SimvaeError", "__version__", "evaluate", "load_run", "train"]
