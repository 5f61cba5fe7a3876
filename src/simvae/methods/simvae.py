"""SimVAE: a VAE for the SSL model y -> z_j -> x_j (Bizeul, Schoelkopf, Allen, TMLR 2024; docs/model.md §1).

ELBO_SSL = sum_j E_q[log p(x_j|z_j)] + sum_j H[q(z_j|x_j)] + E_q[log p(z_1..J)],
with p(z_1..J) = integral p(y) prod_j N(z_j; y, sigma2 I) dy.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import torch

from simvae.fields import bounded
from simvae.methods.generative import GenerativeConfig, GenerativeMethod
from simvae.methods.likelihood import gaussian_entropy
from simvae.scalars import scalar


@dataclass
class SimVAEConfig(GenerativeConfig):
    name: str = "simvae"
    sigma2: float = bounded(0.15, gt=0)  # variance of p(z|y) (the official code's `beta_start`)
    p_y: Literal["gaussian", "uniform"] = "gaussian"  # gaussian: N(0, I) | uniform: flat
    y_marginal: Literal["plugin", "exact"] = "plugin"  # plugin: y := mean of the J sampled z (official) | exact: integrate y out


def simvae_log_prior(z: torch.Tensor, sigma2: float, p_y: str = "gaussian", y_marginal: str = "plugin") -> torch.Tensor:
    """log p(z_1..J) per sample, in nats: z (B, J, d) -> (B,).

    With zbar the mean over views, sum_j |z_j - y|^2 = sum_j |z_j - zbar|^2 + J |zbar - y|^2, so
    - plugin (official code): y := zbar, log p = sum_j log N(z_j; zbar, sigma2 I) + log p(y = zbar);
    - exact, gaussian p(y) = N(0, I): per dimension the J values are jointly N(0, sigma2 I + 1 1^T):
      -sum_j |z_j - zbar|^2 / (2 sigma2) - |zbar|^2 / (2 (1 + sigma2 / J)) - d/2 (J log 2 pi + log det),
      det = sigma2^(J-1) (sigma2 + J);
    - exact, flat p(y): the plugin value without log p(y), plus d/2 log(2 pi sigma2 / J).
    A flat p(y) has no normaliser: its log density is taken as 0.
    """
    _, n_views, dim = z.shape
    number = functools.partial(scalar, like=z)  # one operator per use where a Python number costs five
    zbar = z.mean(dim=1, keepdim=True)  # (B, 1, d)
    deviation = z - zbar
    spread = (deviation * deviation).sum(dim=(1, 2))  # x * x is what .pow(2) computes, in one operator (pow: 3)
    half_spread = spread * number(-0.5) / number(sigma2)
    within = half_spread - number(0.5 * n_views * dim * math.log(2 * math.pi * sigma2))
    if p_y == "uniform":  # a flat p(y): log p(y) = 0
        if y_marginal == "plugin":
            return within
        return within + number(0.5 * dim * math.log(2 * math.pi * sigma2 / n_views))
    mean_sq = (zbar * zbar).sum(dim=(1, 2))
    if y_marginal == "plugin":
        return within + (mean_sq * number(-0.5) - number(0.5 * dim * math.log(2 * math.pi)))
    log_det = (n_views - 1) * math.log(sigma2) + math.log(sigma2 + n_views)
    return (half_spread + mean_sq * number(-0.5) / number(1 + sigma2 / n_views)
            - number(0.5 * dim * (n_views * math.log(2 * math.pi) + log_det)))


def simvae_terms(
    log_px: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor, config: SimVAEConfig
) -> dict[str, torch.Tensor]:
    """ELBO_SSL's terms, averaged over the B images of a batch.

    log_px (B, J): log p(x_j|z_j) at the sampled z; logvar, z (B, J, d): the posterior's
    log-variance and the reparameterised samples. Returns reconstruction, entropy, prior, elbo
    (their sum, per image, in nats) and loss = -(recon_weight * reconstruction + entropy + prior).
    """
    batch = scalar(len(log_px), log_px)
    reconstruction = log_px.sum() / batch  # one reduction where .sum(1).mean() takes two
    entropy = gaussian_entropy(logvar, config.pi_entropy).sum() / batch
    prior = simvae_log_prior(z, config.sigma2, config.p_y, config.y_marginal).mean()  # one kernel on a GPU
    entropy_and_prior = entropy + prior
    return {
        "loss": -(reconstruction * scalar(config.recon_weight, reconstruction) + entropy_and_prior),
        "elbo": reconstruction + entropy_and_prior,
        "reconstruction": reconstruction,
        "entropy": entropy,
        "prior": prior,
    }


class SimVAE(GenerativeMethod):
    Config = SimVAEConfig
    family = "generative"
    source = "Bizeul et al. 2024, A Probabilistic Model behind Self-Supervised Learning"
    min_views = 2  # the prior over views needs J >= 2 (the official code asserts it too)

    def training_terms(self, views: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.encode_views(views)
        log_px = self.log_likelihood(out["logits"], views, sample_dims=2)  # (B, J)
        return simvae_terms(log_px, out["logvar"], out["z"], self.config)

    def sample_latents(self, n: int) -> torch.Tensor:
        # y ~ N(0, I) (also for the improper flat p(y), which cannot be sampled), then z ~ N(y, sigma2 I)
        y = super().sample_latents(n)
        return y + math.sqrt(self.config.sigma2) * torch.randn_like(y)
