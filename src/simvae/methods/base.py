"""The one small interface every method implements, and what it is built from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn


def upcast(tensor: torch.Tensor) -> torch.Tensor:
    """Half-precision (bf16/fp16 autocast) outputs to float32, so likelihoods and losses are computed in
    float32 under mixed precision; float32 and float64 (precision 64-true) pass unchanged."""
    return tensor.float() if tensor.dtype in (torch.float16, torch.bfloat16) else tensor


# discriminative: instance discrimination, variance-covariance regularisation and distillation; latent clustering
# (DINO, SwAV: views assigned to learnt prototypes); redundancy reduction (Barlow Twins); the supervised reference
FAMILIES = ("generative", "discriminative", "latent clustering", "redundancy reduction", "reference")


@dataclass
class MethodConfig:
    """Hyper-parameters of a method; each method extends this with its own fields."""

    name: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """What a method needs to know about the data and the backbone to build its networks."""

    image_shape: tuple[int, int, int]
    latent_dim: int
    backbone: str  # a key of simvae.nets.BACKBONES
    num_classes: int  # content classes (used by the supervised reference)
    likelihood: str = "gaussian"  # the dataset's natural p(x|z), used when a method says "auto"


class Method(nn.Module):
    """A representation learner.

    `training_terms` maps a batch of J augmented views (B, J, C, H, W) in [0, 1] and the images'
    content labels (B,) to named scalar terms; "loss" is what the optimiser minimises, the other
    terms are logged. `representations` maps clean images (N, C, H, W) to named representations,
    the first being the one the method is evaluated on.

    Multi-crop methods set `uses_local_crops = True`: their `training_terms(views, labels, local_views=None)`
    also receives the N local crops (B, N, C, h, w) of `augment.local_crops` (the size h x w may differ from the
    views'), None when the config sets none. Every other method gets exactly the J global views.
    """

    Config: ClassVar[type[MethodConfig]] = MethodConfig
    min_views: ClassVar[int] = 1
    # declared by every method class itself (`simvae methods` lists them; tests/methods/test_catalogue.py checks)
    family: ClassVar[str]  # one of FAMILIES
    source: ClassVar[str]  # where the method comes from: authors, year, title
    uses_local_crops: ClassVar[bool] = False

    def __init__(self, config: MethodConfig, spec: ModelSpec) -> None:
        super().__init__()
        self.config = config
        self.spec = spec

    def training_terms(self, views: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def forward(self, views: torch.Tensor, labels: torch.Tensor, *local_views: torch.Tensor) -> dict[str, torch.Tensor]:
        # forward *is* the training objective, so DDP wrappers see the call that needs gradient sync
        return self.training_terms(views, labels, *local_views)

    def representations(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def on_step_start(self, step: int, total_steps: int) -> None:
        """Called by the training loop before each step with the steps done so far (0, 1, ...) and the run's total:
        for schedules over training (DINO's teacher momentum and temperature, SwAV's prototype freeze). A schedule
        must not depend on anything else, so a resumed run repeats it exactly; a value used inside
        `training_terms` should be a tensor updated in place, so that a compiled forward is not recompiled."""

    def on_step_end(self) -> None:
        """Called after each optimiser step (e.g. to update a momentum encoder)."""
