"""A run: built from its config (data, method, augmenter), saved as a directory (checkpoint, provenance)."""

from simvae.runs.setup import Setup, build, load_data, load_trained

__all__ = ["Setup", "build", "load_data", "load_trained"]
