"""Does a representation cluster the views of each sample? Geometry diagnostics for any method.

The SimVAE model (Bizeul et al. 2024) has one content latent y per sample and J views with
z_j ~ p(z|y), so a representation that captures it puts the views of a sample close together
relative to the spread between samples. `view_variance_ratio` measures exactly that; effective rank,
alignment and uniformity (Roy & Vetterli 2007; Wang & Isola 2020) tell whether it got there by
collapsing dimensions or the whole space. All sums run in float64; results are Python floats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from simvae.errors import InputError
from simvae.methods import Method
from simvae.runs import load_trained


def view_variance_ratio(z: torch.Tensor) -> float:
    """Within-sample over between-sample variance of z (N, J, D): J views of N samples.

    within = mean over samples of the variance across views (population, summed over dims);
    between = variance across samples of the per-sample view-means (population, summed over dims).
    0 when every sample's views coincide; lower = tighter clusters of views. Bizeul et al. 2024, sec. 3.
    """
    if z.ndim != 3:
        raise ValueError(f"expected z of shape (N, J, D), got {tuple(z.shape)}")
    z = z.double()
    means = z.mean(dim=1)  # (N, D)
    within = (z - means[:, None]).pow(2).mean(dim=1).sum(dim=1).mean()
    between = means.var(dim=0, unbiased=False).sum()
    return (within / between).item()


def effective_rank(z: torch.Tensor) -> float:
    """exp(entropy) of the normalised singular values of the column-centred z (N, D); in [1, D].

    Roy & Vetterli 2007, "The effective rank: a measure of effective dimensionality".
    """
    z = z.double()
    s = torch.linalg.svdvals(z - z.mean(dim=0))
    p = s / s.sum()
    p = p[p > 0]  # 0 log 0 = 0
    return torch.exp(-(p * p.log()).sum()).item()


def alignment(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 2) -> float:
    """Mean ||f1 - f2||^alpha over the rows of the L2-normalised pairs z1, z2 (N, D); 0 = identical.

    Wang & Isola 2020, "Understanding contrastive representation learning through alignment and uniformity".
    """
    f1, f2 = F.normalize(z1.double(), dim=1), F.normalize(z2.double(), dim=1)
    return (f1 - f2).norm(dim=1).pow(alpha).mean().item()


def uniformity(z: torch.Tensor, t: float = 2) -> float:
    """log mean over pairs i < j of exp(-t ||f_i - f_j||^2), f the L2-normalised rows of z (N, D), N >= 2.

    0 when all points coincide, lower = spread more uniformly over the sphere. Wang & Isola 2020.
    """
    f = F.normalize(z.double(), dim=1)
    return torch.pdist(f).pow(2).mul(-t).exp().mean().log().item()


def diagnostics(z: torch.Tensor) -> dict[str, float]:
    """All diagnostics of z (N, J, D), J >= 2: alignment between views 0 and 1, rank and uniformity of view 0."""
    if z.ndim != 3 or z.shape[1] < 2:
        raise ValueError(f"expected z of shape (N, J >= 2, D), got {tuple(z.shape)}")
    return {"view_variance_ratio": view_variance_ratio(z), "effective_rank": effective_rank(z[:, 0]),
            "effective_rank_max": z.shape[2], "alignment": alignment(z[:, 0], z[:, 1]), "uniformity": uniformity(z[:, 0])}


@torch.no_grad()
def view_representations(method: Method, views: torch.Tensor) -> tuple[str, torch.Tensor]:
    """(name, z) of the method's primary representation of float views (B, J, C, H, W); z is (B, J, D)."""
    name, z = next(iter(method.representations(views.flatten(0, 1)).items()))
    return name, z.float().cpu().view(*views.shape[:2], -1)


def diagnose_run(run_dir: str | Path, max_samples: int = 2000, views: int | None = None, device: str = "cpu",
                 batch: int = 256) -> dict[str, Any]:
    """`diagnostics` of a trained run's primary representation of J augmented views of its first test images.

    J is `views`, or the run's augment.views (at least 2, so alignment is defined). The views are drawn
    with torch seeded to 0, so repeated calls agree; the caller's RNG state is left as it was.
    """
    if views is not None and views < 2:
        raise InputError(f"views={views} is too few: alignment needs at least 2 views")
    # building the method draws its initial weights from the global RNG too, so fork around everything
    with torch.random.fork_rng(devices=[device] if torch.device(device).type == "cuda" else []):
        _, setup = load_trained(run_dir, device)  # the method comes back in eval mode on `device`
        augmenter = setup.augmenter.to(device)
        augmenter.views = views or max(2, augmenter.views)  # this run's own augmenter; nothing is saved
        images = setup.dataset.test.images[:max_samples]
        parts = []
        torch.manual_seed(0)
        for start in range(0, len(images), batch):
            name, z = view_representations(setup.method, augmenter(images[start:start + batch].to(device)))
            parts.append(z)
    z = torch.cat(parts)
    return {**diagnostics(z), "representation": name, "samples": len(z), "views": augmenter.views}
