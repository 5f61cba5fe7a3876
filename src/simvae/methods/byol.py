"""BYOL: bootstrap your own latent (Grill et al., NeurIPS 2020)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from simvae.fields import bounded
from simvae.methods.base import ModelSpec, upcast
from simvae.methods.discriminative import (
    DiscriminativeConfig,
    DiscriminativeMethod,
    ema_update,
    full_precision,
    make_target,
    mlp_head,
    ordered_pair_mean,
)


@dataclass
class BYOLConfig(DiscriminativeConfig):
    name: str = "byol"
    momentum: float = bounded(0.99, ge=0, lt=1)  # tau of the target's EMA (fixed; the paper anneals it from 0.996 to 1)
    pred_hidden: int | None = bounded(None, ge=1)  # hidden width of the predictor; null = head_hidden (as in the paper)


def byol_loss(p: torch.Tensor, z_target: torch.Tensor) -> torch.Tensor:
    """Normalised MSE ||p/|p| - z/|z|||^2 = 2 - 2 cos(p, z), averaged over the batch; p, z_target (B, d).

    z_target is treated as a constant (stop-gradient).
    """
    return (2 - 2 * F.cosine_similarity(p, z_target.detach(), dim=-1)).mean()


class BYOL(DiscriminativeMethod):
    """Online f, g and predictor q; target f', g' (EMA of f, g, no gradient).

    Loss: the mean over ordered view pairs (i, j), i != j, of byol_loss(q(g(f(x_i))), g'(f'(x_j))); at
    J = 2 it is (L + L~)/2, half the paper's symmetrised sum. Per-image terms only, so DDP needs no
    gather. The target's EMA step is taken in `on_step_end`, after each optimiser step.
    """

    Config = BYOLConfig
    family = "discriminative"
    source = "Grill et al. 2020, Bootstrap Your Own Latent"

    def __init__(self, config: BYOLConfig, spec: ModelSpec) -> None:
        super().__init__(config, spec)
        hidden = config.head_hidden if config.pred_hidden is None else config.pred_hidden
        self.predictor = mlp_head(config.head_dim, hidden, config.head_dim)
        self.target_encoder = make_target(self.encoder)
        self.target_head = make_target(self.head)

    def training_terms(self, views: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.embed_views(views)
        p = upcast(self.predictor(z.flatten(0, 1))).view_as(z)
        with torch.no_grad():
            z_target = self.embed_views(views, self.target_encoder, self.target_head)
        with full_precision(p):
            return {"loss": ordered_pair_mean(byol_loss, p, z_target)}

    @torch.no_grad()
    def on_step_end(self) -> None:
        ema_update(self.target_encoder, self.encoder, self.config.momentum)
        ema_update(self.target_head, self.head, self.config.momentum)
