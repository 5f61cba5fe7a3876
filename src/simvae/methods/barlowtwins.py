"""Barlow Twins: self-supervised learning via redundancy reduction (Zbontar, Jing, Misra, LeCun, Deny, ICML 2021)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from simvae.fields import bounded
from simvae.methods.discriminative import (
    DiscriminativeConfig,
    DiscriminativeMethod,
    full_precision,
    gather_with_grad,
    mlp,
)


@dataclass
class BarlowTwinsConfig(DiscriminativeConfig):
    """The paper's loss; its projector (3 layers of 8192) scaled to 512 hidden and 128 out, like every head here
    (a wider output helps the paper's ImageNet results; head_dim sets it)."""

    name: str = "barlowtwins"
    lambda_offdiag: float = bounded(5e-3, ge=0)  # lambda, weight of the redundancy-reduction (off-diagonal) term
    eps: float = bounded(1e-5, gt=0)  # inside the standard deviation's square root (BatchNorm's, as the paper's code)


def standardise(z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each dimension of z (N, D) to zero mean and unit variance over the batch (biased variance, as BatchNorm)."""
    centred = z - z.mean(dim=0)
    return centred / torch.sqrt(centred.pow(2).mean(dim=0) + eps)


def barlow_twins_terms(z_a: torch.Tensor, z_b: torch.Tensor, lambda_offdiag: float = 5e-3,
                       eps: float = 1e-5) -> dict[str, torch.Tensor]:
    """The terms for two batches of embeddings z_a, z_b (N, D) of the same N images.

    C = standardise(z_a)^T standardise(z_b) / N is the (D, D) cross-correlation of the batch-standardised
    embeddings; invariance = sum_i (1 - C_ii)^2, redundancy = sum_{i != j} C_ij^2,
    loss = invariance + lambda_offdiag * redundancy.
    """
    correlation = standardise(z_a, eps).T @ standardise(z_b, eps) / len(z_a)
    diagonal = torch.diagonal(correlation)
    invariance = (1 - diagonal).pow(2).sum()
    redundancy = correlation.pow(2).sum() - diagonal.pow(2).sum()
    return {"loss": invariance + lambda_offdiag * redundancy, "invariance": invariance, "redundancy": redundancy}


class BarlowTwins(DiscriminativeMethod):
    """Encoder + projector (3 linear layers, BatchNorm + ReLU between) trained with the Barlow Twins loss.

    For J > 2 views the terms are averaged over all pairs of views (C of (b, a) is the transpose of C of (a, b),
    with the same terms). Under DDP the embeddings of all ranks are gathered (with gradient) first, so the
    standardisation and the cross-correlation are the union batch's (simvae.distributed).
    """

    Config = BarlowTwinsConfig
    family = "redundancy reduction"
    source = "Zbontar et al. 2021, Barlow Twins: Self-Supervised Learning via Redundancy Reduction"

    def build_head(self) -> nn.Module:
        c = self.config
        return mlp([self.spec.latent_dim, c.head_hidden, c.head_hidden, c.head_dim], batchnorm=True)

    def training_terms(self, views: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        c = self.config
        z = self.embed_views(views)
        with full_precision(z):
            z = gather_with_grad(z)
            n_views = z.shape[1]
            pairs = [barlow_twins_terms(z[:, i], z[:, j], c.lambda_offdiag, c.eps)
                     for i in range(n_views) for j in range(i + 1, n_views)]
            return {key: torch.stack([p[key] for p in pairs]).mean() for key in pairs[0]}
