"""SimSiam: simple Siamese representation learning (Chen & He, CVPR 2021)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from simvae.fields import bounded
from simvae.methods.base import ModelSpec, upcast
from simvae.methods.discriminative import (
    DiscriminativeConfig,
    DiscriminativeMethod,
    full_precision,
    mlp_head,
    ordered_pair_mean,
)


@dataclass
class SimSiamConfig(DiscriminativeConfig):
    name: str = "simsiam"
    pred_hidden: int | None = bounded(None, ge=1)  # predictor bottleneck width; null = head_dim // 4 (the paper's 512 for 2048)


def simsiam_loss(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """D(p, stopgrad(z)) = -cos(p, z), averaged over the batch; p, z (B, d). z gets no gradient."""
    return -F.cosine_similarity(p, z.detach(), dim=-1).mean()


class SimSiam(DiscriminativeMethod):
    """Encoder f, projector g and predictor h; loss over ordered view pairs (i, j), i != j:
    mean of D(h(g(f(x_i))), stopgrad(g(f(x_j)))); at J = 2 exactly the paper's D(p1, z2)/2 + D(p2, z1)/2.
    Per-image terms only, so DDP needs no gather.
    """

    Config = SimSiamConfig
    family = "discriminative"
    source = "Chen & He 2021, Exploring Simple Siamese Representation Learning"

    def __init__(self, config: SimSiamConfig, spec: ModelSpec) -> None:
        super().__init__(config, spec)
        hidden = max(1, config.head_dim // 4) if config.pred_hidden is None else config.pred_hidden
        self.predictor = mlp_head(config.head_dim, hidden, config.head_dim)

    def training_terms(self, views: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.embed_views(views)
        p = upcast(self.predictor(z.flatten(0, 1))).view_as(z)
        with full_precision(p):
            return {"loss": ordered_pair_mean(simsiam_loss, p, z)}
