"""CR-VAE: a VAE with consistency regularisation (Sinha & Dieng, "Consistency Regularization for
Variational Auto-Encoders", NeurIPS 2021); a baseline of the SimVAE paper.

The original objective for an image x and an augmentation t(x) is
ELBO(x) + ELBO(t(x)) - gamma * KL(q(z|t(x)) || q(z|x)). Here, as in the SimVAE setting, all J views
are augmentations and none is privileged, so the regulariser is symmetrised: the average of
KL(q(z|x_a) || q(z|x_b)) over all ordered pairs a != b of views of the same image (for J = 2 the mean
of the two directions), one such term per image:

loss = -(recon_weight * sum_j E_q[log p(x_j|z_j)] - beta * sum_j KL(q(z_j|x_j) || N(0, I)))
       + gamma * mean_{a != b} KL(q(z|x_a) || q(z|x_b)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from simvae.fields import bounded
from simvae.methods.likelihood import kl_gaussians
from simvae.methods.vae import VAE, VAEConfig, vae_terms


@dataclass
class CRVAEConfig(VAEConfig):
    name: str = "crvae"
    gamma: float = bounded(1.0, ge=0)  # weight of the consistency (posterior-KL) regulariser


def pairwise_posterior_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean over ordered view pairs a != b of KL(q(z|x_a) || q(z|x_b)), per image.

    mu, logvar (B, J, d) with J >= 2 -> (B,).
    """
    n_views = mu.shape[1]
    if n_views < 2:
        raise ValueError(f"the consistency term needs J >= 2 views per image, got {n_views}")
    # (B, J, 1, d) vs (B, 1, J, d): entry [a, b] is KL(q_a || q_b); the diagonal is exactly 0
    kl = kl_gaussians(mu.unsqueeze(2), logvar.unsqueeze(2), mu.unsqueeze(1), logvar.unsqueeze(1))
    return kl.sum(dim=(1, 2)) / (n_views * (n_views - 1))


def crvae_terms(
    log_px: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    beta: float = 1.0,
    gamma: float = 1.0,
    recon_weight: float = 1.0,
    z: torch.Tensor | None = None,
    pi_entropy: bool = False,
) -> dict[str, torch.Tensor]:
    """CR-VAE's terms, averaged over the B images of a batch.

    log_px (B, J); mu, logvar (and z, needed only when pi_entropy) (B, J, d), J >= 2. Returns
    vae_terms' reconstruction, kl and elbo (summed over views), consistency (mean over ordered view
    pairs of the posterior KL, see `pairwise_posterior_kl`) and
    loss = -(recon_weight * reconstruction - beta * kl) + gamma * consistency; all scalars.
    """
    terms = vae_terms(log_px, mu, logvar, beta, recon_weight, z, pi_entropy)
    consistency = pairwise_posterior_kl(mu, logvar).mean()
    terms["loss"] = terms["loss"] + gamma * consistency
    terms["consistency"] = consistency
    return terms


class CRVAE(VAE):
    Config = CRVAEConfig
    family = "generative"
    source = "Sinha & Dieng 2021, Consistency Regularization for Variational Auto-Encoders"
    min_views = 2

    def training_terms(self, views: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.encode_views(views)
        log_px = self.view_log_likelihood(views, out["logits"])
        c = self.config
        return crvae_terms(log_px, out["mu"], out["logvar"], c.beta, c.gamma, c.recon_weight, out["z"], c.pi_entropy)
