"""VICReg: variance-invariance-covariance regularisation (Bardes, Ponce, LeCun, ICLR 2022)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from simvae.fields import bounded
from simvae.methods.discriminative import (
    DiscriminativeConfig,
    DiscriminativeMethod,
    full_precision,
    gather_with_grad,
)


@dataclass
class VICRegConfig(DiscriminativeConfig):
    name: str = "vicreg"
    sim_weight: float = bounded(25.0, ge=0)  # lambda, invariance
    var_weight: float = bounded(25.0, ge=0)  # mu, variance
    cov_weight: float = bounded(1.0, ge=0)  # nu, covariance
    eps: float = bounded(1e-4, gt=0)  # inside the standard deviation's square root
    target_std: float = bounded(1.0, gt=0)  # gamma, the hinge's target standard deviation


def vicreg_variance(z: torch.Tensor, eps: float = 1e-4, target_std: float = 1.0) -> torch.Tensor:
    """v(Z) = mean_d max(0, target_std - sqrt(Var(z_d) + eps)) for z (N, D), unbiased variance -> a scalar."""
    std = torch.sqrt(z.var(dim=0) + eps)
    return F.relu(target_std - std).mean()


def vicreg_covariance(z: torch.Tensor) -> torch.Tensor:
    """c(Z) = sum of squared off-diagonal entries of Cov(Z) / D, for z (N, D), Cov with 1/(N-1) -> a scalar."""
    n, dim = z.shape
    centred = z - z.mean(dim=0)
    cov = centred.T @ centred / (n - 1)
    off_diagonal = cov - torch.diag(torch.diagonal(cov))
    return off_diagonal.pow(2).sum() / dim


def vicreg_terms(
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    sim_weight: float = 25.0,
    var_weight: float = 25.0,
    cov_weight: float = 1.0,
    eps: float = 1e-4,
    target_std: float = 1.0,
) -> dict[str, torch.Tensor]:
    """VICReg's terms for two batches of embeddings z_a, z_b (N, D), N >= 2.

    invariance = mean squared difference (over N and D); variance = (v(Z_a) + v(Z_b)) / 2;
    covariance = c(Z_a) + c(Z_b); loss = sim_weight * invariance + var_weight * variance +
    cov_weight * covariance. As in the official code (facebookresearch/vicreg), the variance is
    averaged over the two branches and the covariance summed (the paper's equation sums both).
    """
    invariance = F.mse_loss(z_a, z_b)
    variance = 0.5 * (vicreg_variance(z_a, eps, target_std) + vicreg_variance(z_b, eps, target_std))
    covariance = vicreg_covariance(z_a) + vicreg_covariance(z_b)
    loss = sim_weight * invariance + var_weight * variance + cov_weight * covariance
    return {"loss": loss, "invariance": invariance, "variance": variance, "covariance": covariance}


def vicreg_view_terms(
    z: torch.Tensor,
    sim_weight: float = 25.0,
    var_weight: float = 25.0,
    cov_weight: float = 1.0,
    eps: float = 1e-4,
    target_std: float = 1.0,
) -> dict[str, torch.Tensor]:
    """VICReg's terms for J >= 2 views: z (B, J, D), B >= 2 -> the mean over the J(J-1)/2 view pairs (i < j) of
    `vicreg_terms(z[:, i], z[:, j])`: scalars loss, invariance, variance, covariance (ordered or unordered pairs give
    the same mean: the terms are symmetric). At J = 2 it is exactly `vicreg_terms(z[:, 0], z[:, 1])`.
    """
    n_views = z.shape[1]
    if n_views < 2:
        raise ValueError(f"VICReg needs J >= 2 views per image, got z of shape {tuple(z.shape)}")
    pairs = [vicreg_terms(z[:, i], z[:, j], sim_weight, var_weight, cov_weight, eps, target_std)
             for i in range(n_views) for j in range(i + 1, n_views)]
    return {key: torch.stack([p[key] for p in pairs]).mean() for key in pairs[0]}


class VICReg(DiscriminativeMethod):
    """Encoder + projection head ("expander") trained with VICReg, the terms averaged over view pairs
    (`vicreg_view_terms`). Under DDP the embeddings of all ranks are gathered (with gradient) before the
    terms are computed, so the variance/covariance statistics (and the loss) are those of the union batch
    (simvae.distributed).
    """

    Config = VICRegConfig
    family = "discriminative"
    source = "Bardes et al. 2022, VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised Learning"

    def training_terms(self, views: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        c = self.config
        z = self.embed_views(views)
        with full_precision(z):
            return vicreg_view_terms(gather_with_grad(z), c.sim_weight, c.var_weight, c.cov_weight, c.eps, c.target_std)
