"""What the generative methods share: a Gaussian encoder q(z|x), a decoder p(x|z) and its likelihood."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from simvae.fields import bounded
from simvae.methods.base import Method, MethodConfig, ModelSpec, upcast
from simvae.methods.likelihood import log_likelihood
from simvae.nets import BACKBONES
from simvae.scalars import scalar


@dataclass
class GenerativeConfig(MethodConfig):
    likelihood: Literal["auto", "bernoulli", "gaussian"] = "auto"  # auto: the dataset's
    log_var_x: float = -4.6  # log sigma_x^2 of the Gaussian likelihood (official -4.6)
    recon_weight: float = bounded(1.0, gt=0)  # multiplies log p(x|z); the official code uses exp(4.6) ~ 99.5 for BCE too
    pi_entropy: bool = False  # official-code compatibility: entropy as pi * sum(logvar) (docs/model.md, quirks)


class GenerativeMethod(Method):
    """Gaussian encoder (2d outputs: mean and log-variance) and a decoder giving pixel logits."""


    def __init__(self, config: GenerativeConfig, spec: ModelSpec) -> None:
        super().__init__(config, spec)
        backbone = BACKBONES[spec.backbone]
        self.encoder = backbone.encoder(spec.image_shape, 2 * spec.latent_dim)
        self.decoder = backbone.decoder(spec.latent_dim, spec.image_shape)
        self.likelihood = spec.likelihood if config.likelihood == "auto" else config.likelihood

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def log_likelihood(self, logits: torch.Tensor, x: torch.Tensor, sample_dims: int = 1) -> torch.Tensor:
        # likelihood terms stay in (at least) float32 even under mixed precision
        return log_likelihood(upcast(logits), upcast(x), self.likelihood, self.config.log_var_x, sample_dims)

    def encode_views(self, views: torch.Tensor) -> dict[str, torch.Tensor]:
        """Encode, sample (reparameterised) and decode every view; outputs keep the (B, J) layout."""
        batch, n_views = views.shape[:2]
        flat = views.flatten(0, 1)
        mu, logvar = self.encode(flat)
        z = mu + torch.randn_like(mu) * (logvar * scalar(0.5, logvar)).exp()
        logits = self.decoder(z)
        unflat = lambda t: t.view(batch, n_views, *t.shape[1:])  # noqa: E731
        return {"mu": unflat(upcast(mu)), "logvar": unflat(upcast(logvar)), "z": unflat(upcast(z)), "logits": unflat(logits)}

    def representations(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"mean": self.encode(images)[0]}

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(self.encode(images)[0]))

    def sample_latents(self, n: int) -> torch.Tensor:
        """Draws from the method's prior p(z); N(0, I) unless a method overrides it."""
        return torch.randn(n, self.spec.latent_dim, device=next(self.parameters()).device)

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        return torch.sigmoid(self.decoder(self.sample_latents(n)))
