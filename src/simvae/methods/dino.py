"""DINO: self-distillation with no labels (Caron, Touvron, Misra, Jégou, Mairal, Bojanowski, Joulin, ICCV 2021)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from simvae.fields import bounded
from simvae.methods.base import ModelSpec, upcast
from simvae.methods.discriminative import (
    DiscriminativeConfig,
    DiscriminativeMethod,
    ema_update,
    full_precision,
    gather_no_grad,
    make_target,
    mlp,
)


@dataclass
class DINOConfig(DiscriminativeConfig):
    """The paper's hyper-parameters, scaled to small images and batches. head_hidden (512) and head_dim (128) are the
    projector's hidden width and bottleneck (the paper's 2048 and 256); schedules are fractions of the run's steps,
    since our runs last 1-10 epochs where the paper's last 100-800."""

    name: str = "dino"
    out_dim: int = bounded(1024, ge=2)  # K, outputs of the weight-normalised last layer (the paper's 65,536)
    norm_last_layer: bool = True  # the last layer's weight norm fixed to 1 (the paper's default); false learns it
    # BatchNorm in the projector (the paper's code's `use_bn_in_head`, off for its ViTs, whose LayerNorms keep images
    # apart): without it the projector's outputs at initialisation are the same for every image (cosine 1.000 on shapes)
    head_batchnorm: bool = True
    student_temp: float = bounded(0.1, gt=0)  # tau_s
    # tau_t after the warm-up: the paper's code's default 0.04; its 0.04 -> 0.07 for long ViT runs left our short runs'
    # teacher near uniform (entropy 6.6 of log K = 6.93 after 168 steps on shapes, against 5.8 at 0.04)
    teacher_temp: float = bounded(0.04, gt=0)
    warmup_teacher_temp: float = bounded(0.04, gt=0)  # tau_t at step 0, rising linearly to teacher_temp over:
    teacher_temp_warmup: float = bounded(0.1, ge=0, le=1)  # this fraction of the run (the paper: 30 of 300 epochs)
    center_momentum: float = bounded(0.9, ge=0, lt=1)  # m of the centre's EMA of teacher batch means
    momentum: float = bounded(0.996, ge=0, le=1)  # lambda, the teacher's EMA at step 0, raised to 1 by a cosine over the run
    # the last layer untrained over this fraction of the run: the paper's first epoch (one of the medium budget's 10);
    # it keeps the student from reaching uniform outputs by aligning its prototypes while the teacher is still random
    freeze_last_layer: float = bounded(0.1, ge=0, le=1)


def dino_loss(student: torch.Tensor, teacher: torch.Tensor, center: torch.Tensor, student_temp: float,
              teacher_temp: float | torch.Tensor) -> torch.Tensor:
    """DINO's cross-entropy between the teacher's and the student's output distributions.

    student (B, V, K): the student's outputs for V views, the G global views first, then the local crops;
    teacher (B, G, K): the teacher's outputs for the G global views, treated as constants; center (K,).
        P_t = softmax((teacher - center) / teacher_temp),  log P_s = log_softmax(student / student_temp),
        loss = mean over pairs (g, v) with v != g of  mean_b  - sum_k P_t[b, g, k] log P_s[b, v, k],
    i.e. every teacher global view against every other student view (the paper's Algorithm 1 and its
    multi-crop form).
    """
    targets = F.softmax((teacher.detach() - center) / teacher_temp, dim=-1)
    log_student = F.log_softmax(student / student_temp, dim=-1)
    n_global, n_views = teacher.shape[1], student.shape[1]
    terms = [-(targets[:, g] * log_student[:, v]).sum(-1).mean() for g in range(n_global) for v in range(n_views) if v != g]
    return torch.stack(terms).mean()


def updated_center(center: torch.Tensor, teacher: torch.Tensor, momentum: float) -> torch.Tensor:
    """c <- m c + (1 - m) mean of the teacher's outputs (B, G, K) over the batch and the global views."""
    return center * momentum + teacher.detach().flatten(0, 1).mean(dim=0) * (1 - momentum)


def cosine_momentum(base: float, progress: float) -> float:
    """The teacher's EMA momentum at `progress` (steps done / total) in [0, 1]: base at 0, 1 at the end, along a cosine."""
    return 1 - (1 - base) * (math.cos(math.pi * progress) + 1) / 2


def warmed_up(start: float, end: float, progress: float, warmup: float) -> float:
    """start, rising linearly to end over the first `warmup` of the run, then end."""
    return end if progress >= warmup else start + (end - start) * progress / warmup


class DINO(DiscriminativeMethod):
    """Student: encoder f, projector g (3 layers, BatchNorm and GELU), L2 normalisation and a weight-normalised
    linear layer to K outputs; teacher: an EMA of all three (no gradient). The teacher sees the J global views,
    the student the global views and the local crops (`augment.local_crops`; `uses_local_crops`).

    `on_step_start` sets the teacher temperature of the step (a buffer, so a compiled forward is not recompiled);
    after the optimiser step (`on_step_end`) the teacher takes its EMA step with the cosine momentum of that step
    and the centre its EMA step towards the batch mean of the teacher's outputs, gathered over ranks (the union
    batch's mean, as the paper's all-reduce). The loss is a mean over images, so DDP needs no other gather.

    During the first `freeze_last_layer` of the run the last layer gets a zero gradient (as SwAV's prototypes).
    Not done: the paper's gradient clipping (3.0).
    """

    Config = DINOConfig
    uses_local_crops = True
    family = "latent clustering"
    source = "Caron et al. 2021, Emerging Properties in Self-Supervised Vision Transformers"

    def __init__(self, config: DINOConfig, spec: ModelSpec) -> None:
        super().__init__(config, spec)
        self.prototypes = weight_norm(nn.Linear(config.head_dim, config.out_dim, bias=False))
        scale = self.prototypes.parametrizations.weight.original0  # g of w = g v / |v|, per output
        scale.data.fill_(1.0)
        scale.requires_grad_(not config.norm_last_layer)
        self.teacher_encoder = make_target(self.encoder)
        self.teacher_head = make_target(self.head)
        self.teacher_prototypes = make_target(self.prototypes)
        self.register_buffer("center", torch.zeros(config.out_dim))
        self.register_buffer("teacher_temp", torch.tensor(config.warmup_teacher_temp), persistent=False)
        self.register_buffer("last_layer_gate", torch.ones(()), persistent=False)  # 0 while the last layer is frozen
        self._progress = 0.0
        self._pending_teacher: torch.Tensor | None = None

    def build_head(self) -> nn.Module:
        c = self.config
        return mlp([self.spec.latent_dim, c.head_hidden, c.head_hidden, c.head_dim], batchnorm=c.head_batchnorm,
                   activation=nn.GELU)

    def training_terms(self, views: torch.Tensor, labels: torch.Tensor,
                       local_views: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        c = self.config
        z = F.normalize(self.embed_crops(views, local_views), dim=-1)
        weight = self.prototypes.weight
        weight = weight.detach() + self.last_layer_gate * (weight - weight.detach())  # its value, gated gradient
        student = upcast(F.linear(z, weight))
        with torch.no_grad():
            z = self.embed_views(views, self.teacher_encoder, self.teacher_head)
            teacher = upcast(self.teacher_prototypes(F.normalize(z, dim=-1)))
        with full_precision(student):
            loss = dino_loss(student, teacher, self.center, c.student_temp, self.teacher_temp)
        if self.training:
            self._pending_teacher = gather_no_grad(teacher)
        return {"loss": loss}

    def on_step_start(self, step: int, total_steps: int) -> None:
        c = self.config
        self._progress = step / max(total_steps, 1)
        self.teacher_temp.fill_(warmed_up(c.warmup_teacher_temp, c.teacher_temp, self._progress, c.teacher_temp_warmup))
        self.last_layer_gate.fill_(0.0 if step < c.freeze_last_layer * total_steps else 1.0)

    @torch.no_grad()
    def on_step_end(self) -> None:
        momentum = cosine_momentum(self.config.momentum, self._progress)
        for teacher, student in ((self.teacher_encoder, self.encoder), (self.teacher_head, self.head),
                                 (self.teacher_prototypes, self.prototypes)):
            ema_update(teacher, student, momentum)
        if self._pending_teacher is not None:
            self.center.copy_(updated_center(self.center, self._pending_teacher, self.config.center_momentum))
            self._pending_teacher = None
