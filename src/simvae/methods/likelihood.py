"""Terms shared by the generative methods: log-likelihoods of p(x|z), Gaussian entropy, KL.

All functions are pure and return one value per sample (summed over pixels or latent dimensions). Their
numbers are cached tensors (`simvae.scalars.scalar`), the same arithmetic as Python numbers in one operator
where a Python number costs five, and autograd's backward as many again.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from simvae.scalars import scalar

LIKELIHOODS = ("bernoulli", "gaussian")


def log_likelihood(logits: torch.Tensor, x: torch.Tensor, kind: str, log_var_x: float = -4.6,
                   sample_dims: int = 1) -> torch.Tensor:
    """log p(x | z) per sample, in nats: logits and x of the same shape, x in [0, 1]; the first `sample_dims`
    dimensions index the samples (1 for (N, C, H, W) -> (N,); 2 for views (B, J, C, H, W) -> (B, J), which then
    need no flattening), the others are summed. The decoder mean is sigmoid(logits), so a decoder outputs logits.

    bernoulli: sum of x log m + (1 - x) log(1 - m) (also used, as in the official code, for
    non-binary Fashion-MNIST); gaussian: N(x; m, exp(log_var_x) I) with its normalising constant.
    """
    dims = tuple(range(sample_dims, x.dim()))
    if kind == "bernoulli":
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dims)
    if kind == "gaussian":
        error = torch.sigmoid(logits) - x
        squared = (error * error).sum(dims)  # what .pow(2) computes, in one operator (pow: 3, and 10 in the backward)
        pixels = math.prod(x.shape[sample_dims:])
        return (squared * scalar(-0.5, squared) / scalar(math.exp(log_var_x), squared)
                - scalar(0.5 * pixels * (math.log(2 * math.pi) + log_var_x), squared))
    raise ValueError(f"unknown likelihood {kind!r}; expected one of {LIKELIHOODS}")


def gaussian_entropy(logvar: torch.Tensor, pi_scaled: bool = False) -> torch.Tensor:
    """H[N(mu, diag exp(logvar))] = 1/2 sum(log 2 pi + 1 + logvar), over the last dimension: (..., d) -> (...), nats.

    `pi_scaled` reproduces the official code's pi * sum(logvar) (docs/model.md §5, item 1), which
    weights the entropy 2 pi times too strongly; it exists only for comparison with that code.
    """
    if pi_scaled:
        return logvar.sum(-1) * scalar(math.pi, logvar)
    return (logvar + scalar(math.log(2 * math.pi) + 1, logvar)).sum(-1) * scalar(0.5, logvar)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)), over the last dimension: mu, logvar (..., d) -> (...), nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)


def kl_gaussians(mu_p: torch.Tensor, logvar_p: torch.Tensor, mu_q: torch.Tensor, logvar_q: torch.Tensor) -> torch.Tensor:
    """KL(N(mu_p, diag exp(logvar_p)) || N(mu_q, diag exp(logvar_q))), over the last dimension: (..., d) -> (...),
    nats (the arguments broadcast)."""
    return 0.5 * (logvar_q - logvar_p + (logvar_p.exp() + (mu_p - mu_q).pow(2)) / logvar_q.exp() - 1).sum(-1)
