"""beta-VAE: the VAE with its KL term up-weighted by beta > 1 (Higgins et al., "beta-VAE: Learning Basic
Visual Concepts with a Constrained Variational Framework", ICLR 2017); a baseline of the SimVAE paper.

loss = -(recon_weight * sum_j E_q[log p(x_j|z_j)] - beta * sum_j KL(q(z_j|x_j) || N(0, I))), default beta = 4;
every augmented view is an independent image, as for the VAE (see simvae.methods.vae).
"""

from __future__ import annotations

from dataclasses import dataclass

from simvae.fields import bounded
from simvae.methods.vae import VAE, VAEConfig


@dataclass
class BetaVAEConfig(VAEConfig):
    name: str = "betavae"
    beta: float = bounded(4.0, gt=0)


class BetaVAE(VAE):
    Config = BetaVAEConfig
    family = "generative"
    source = "Higgins et al. 2017, beta-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework"
