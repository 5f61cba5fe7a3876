"""Supervised reference: the discriminative methods' encoder trained with labels (cross-entropy through a
linear classifier), the upper reference of the SimVAE paper's comparisons (Bizeul, Schoelkopf, Allen,
TMLR 2024; the official code's `sup_type 2` is named but not implemented, docs/model.md §5).

Every augmented view is classified with its image's content label; the representation is the encoder's
output (latent_dim features, before the classifier).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from simvae.methods.base import Method, MethodConfig, ModelSpec, upcast
from simvae.nets import BACKBONES


@dataclass
class SupervisedConfig(MethodConfig):
    name: str = "supervised"


def supervised_terms(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """Mean cross-entropy and accuracy: logits (N, K), labels (N,) int64 in [0, K) -> scalars.

    loss = -mean_n log softmax(logits_n)[labels_n]; accuracy = fraction with argmax == label (no gradient).
    """
    loss = F.cross_entropy(upcast(logits), labels)
    accuracy = (logits.detach().argmax(-1) == labels).float().mean()
    return {"loss": loss, "accuracy": accuracy}


class Supervised(Method):
    Config = SupervisedConfig
    family = "reference"
    source = "cross-entropy on the content labels: the supervised reference, no paper"
    min_views = 1

    def __init__(self, config: SupervisedConfig, spec: ModelSpec) -> None:
        super().__init__(config, spec)
        self.encoder = BACKBONES[spec.backbone].encoder(spec.image_shape, spec.latent_dim)
        self.classifier = nn.Linear(spec.latent_dim, spec.num_classes)

    def training_terms(self, views: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        n_views = views.shape[1]
        logits = self.classifier(self.encoder(views.flatten(0, 1)))
        return supervised_terms(logits, labels.repeat_interleave(n_views))

    def representations(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"encoder": self.encoder(images)}
