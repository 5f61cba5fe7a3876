"""simvae: self-supervised representation learning under one probabilistic model (SimVAE and its peers)."""

__version__ = "0.1.0"
