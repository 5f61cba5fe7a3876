"""Every method's objective as plain functions on tensors, for your own training loop.

These are the functions simvae's methods call (re-exported from `simvae.methods.*`, not copies), so a loop
written with them optimises exactly what `simvae train` does. Conventions:

* views are stacked as (B, J, ...): B images, J >= 2 augmented views of each (J = 1 where a method allows it);
* generative terms are in nats, summed over pixels / latent dimensions and over views, averaged over the B images;
  a `*_terms` function returns a dict of scalars whose "loss" is what to minimise (the other entries are for logs);
* encoders of generative methods output 2d numbers per image, the mean and the log-variance of q(z|x)
  (`mu, logvar = encoder(x).chunk(2, dim=-1)`); decoders output pixel logits (`log_likelihood` applies the sigmoid).

SimVAE in ten lines (x: (B, J, C, H, W) views in [0, 1]; `examples/own_training_loop.py` runs it):

    mu, logvar = encoder(x.flatten(0, 1)).chunk(2, dim=-1)
    z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
    log_px = log_likelihood(decoder(z), x.flatten(0, 1), "bernoulli").view(x.shape[:2])
    terms = simvae_terms(log_px, logvar.view(*x.shape[:2], -1), z.view(*x.shape[:2], -1), SimVAEConfig(sigma2=0.15))
    terms["loss"].backward()
"""

from __future__ import annotations

# generative: pieces of the ELBOs
from simvae.methods.likelihood import gaussian_entropy, kl_gaussians, kl_to_standard_normal, log_likelihood

# generative: SimVAE (ELBO_SSL), the VAE and beta-VAE (vae_terms with beta > 1, the beta-VAE's default is 4), CR-VAE
from simvae.methods.simvae import SimVAEConfig, simvae_log_prior, simvae_terms
from simvae.methods.vae import vae_kl, vae_terms
from simvae.methods.crvae import crvae_terms, pairwise_posterior_kl

# discriminative: SimCLR's NT-Xent / InfoNCE, VICReg, MoCo's InfoNCE against a queue, BYOL, SimSiam
from simvae.methods.simclr import nt_xent
from simvae.methods.vicreg import vicreg_covariance, vicreg_terms, vicreg_variance, vicreg_view_terms
from simvae.methods.moco import moco_loss
from simvae.methods.byol import byol_loss
from simvae.methods.simsiam import simsiam_loss

# latent clustering: DINO (student against a centred, sharpened teacher), SwAV (swapped Sinkhorn-Knopp codes);
# redundancy reduction: Barlow Twins
from simvae.methods.dino import cosine_momentum, dino_loss, updated_center
from simvae.methods.swav import sinkhorn, swav_loss
from simvae.methods.barlowtwins import barlow_twins_terms

# helpers of the multi-view and momentum methods
from simvae.methods.discriminative import ema_update, ordered_pair_mean

# the supervised reference
from simvae.methods.supervised import supervised_terms

__all__ = [
    "SimVAEConfig", "barlow_twins_terms", "byol_loss", "cosine_momentum", "crvae_terms", "dino_loss", "ema_update", "gaussian_entropy", "kl_gaussians",
    "kl_to_standard_normal", "log_likelihood", "moco_loss", "nt_xent", "ordered_pair_mean", "pairwise_posterior_kl",
    "simsiam_loss", "simvae_log_prior", "simvae_terms", "sinkhorn", "supervised_terms", "swav_loss", "updated_center",
    "vae_kl", "vae_terms",
    "vicreg_covariance", "vicreg_terms", "vicreg_variance", "vicreg_view_terms",
]
