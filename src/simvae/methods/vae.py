"""VAE: the variational auto-encoder with an N(0, I) prior (Kingma & Welling, "Auto-Encoding Variational
Bayes", ICLR 2014), trained as the SimVAE paper's VAE baseline (docs/model.md §1; the official code's
GMMVAE with `--sup_type 0`): every augmented view is treated as an independent image.

ELBO = sum_j E_q[log p(x_j|z_j)] - sum_j KL(q(z_j|x_j) || N(0, I)),
loss = -(recon_weight * reconstruction - beta * KL); beta = 1 is the plain VAE, beta > 1 the beta-VAE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from simvae.fields import bounded
from simvae.methods.generative import GenerativeConfig, GenerativeMethod
from simvae.methods.likelihood import gaussian_entropy, kl_to_standard_normal


@dataclass
class VAEConfig(GenerativeConfig):
    name: str = "vae"
    beta: float = bounded(1.0, gt=0)  # weight of the KL term in the loss (1: VAE; > 1: beta-VAE)


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), over the last dimension."""
    return -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)


def vae_kl(
    mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor | None = None, pi_entropy: bool = False
) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per view: mu, logvar (and z) (..., d) -> (...).

    pi_entropy False: the closed form. pi_entropy True (official-code compatibility, docs/model.md
    §5 item 1): -KL is computed as H[q] + log N(z; 0, I) at the sampled z, with the
    official code's pi * sum(logvar) in place of the Gaussian entropy. That value is a one-sample
    estimate and, because of the pi scaling, not a KL (it can be negative); it needs z.
    """
    if not pi_entropy:
        return kl_to_standard_normal(mu, logvar)
    if z is None:
        raise ValueError("vae_kl with pi_entropy=True needs the sampled z")
    return -(gaussian_entropy(logvar, pi_scaled=True) + standard_normal_log_density(z))


def vae_terms(
    log_px: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    beta: float = 1.0,
    recon_weight: float = 1.0,
    z: torch.Tensor | None = None,
    pi_entropy: bool = False,
) -> dict[str, torch.Tensor]:
    """The (beta-)VAE's terms, summed over the J views and averaged over the B images of a batch.

    log_px (B, J): log p(x_j|z_j) at the sampled z; mu, logvar (and z, needed only when
    pi_entropy) (B, J, d): the posterior's parameters (and reparameterised samples). Returns
    reconstruction, kl (see `vae_kl`), elbo = reconstruction - kl (per image, in nats, beta-free)
    and loss = -(recon_weight * reconstruction - beta * kl); all scalars.
    """
    reconstruction = log_px.sum(1).mean()
    kl = vae_kl(mu, logvar, z, pi_entropy).sum(1).mean()
    return {
        "loss": -(recon_weight * reconstruction - beta * kl),
        "elbo": reconstruction - kl,
        "reconstruction": reconstruction,
        "kl": kl,
    }


class VAE(GenerativeMethod):
    Config = VAEConfig
    family = "generative"
    source = "Kingma & Welling 2014, Auto-Encoding Variational Bayes"
    min_views = 1

    def view_log_likelihood(self, views: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """log p(x_j|z_j) (B, J) for views (B, J, C, H, W) and decoder logits of the same layout."""
        return self.log_likelihood(logits.flatten(0, 1), views.flatten(0, 1)).view(views.shape[:2])

    def training_terms(self, views: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.encode_views(views)
        log_px = self.view_log_likelihood(views, out["logits"])
        c = self.config
        return vae_terms(log_px, out["mu"], out["logvar"], c.beta, c.recon_weight, out["z"], c.pi_entropy)
