"""simvae: self-supervised representation learning under one probabilistic model (SimVAE and its peers).

The Python API (see README, "Python"): `train`, `evaluate`, `load_run` and the `Run` they return.
"""

__version__ = "0.1.0"

from simvae.api import Run, evaluate, load_run, train  # noqa: E402  (after __version__, which provenance reads)

__all__ = ["Run", "__version__", "evaluate", "load_run", "train"]
