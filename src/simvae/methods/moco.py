"""MoCo v2: momentum contrast with a queue of negatives (Chen, Fan, Girshick, He, arXiv 2003.04297, 2020;
He et al., CVPR 2020), with the symmetrised loss over views."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from simvae.fields import bounded
from simvae.methods.base import ModelSpec
from simvae.methods.discriminative import (
    DiscriminativeConfig,
    DiscriminativeMethod,
    ema_update,
    enqueue,
    full_precision,
    gather_no_grad,
    make_target,
    ordered_pair_mean,
)


@dataclass
class MoCoConfig(DiscriminativeConfig):
    name: str = "moco"
    temperature: float = bounded(0.2, gt=0)  # tau (MoCo v2's value)
    momentum: float = bounded(0.99, ge=0, lt=1)  # m of the key encoder's EMA
    queue_size: int = bounded(4096, ge=1)  # K, negatives kept from past batches


def moco_loss(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE of queries q (B, d) against their keys k (B, d) and the queue's negatives (K, d).

    q and k are L2-normalised here, the queue is expected normalised; k and the queue are treated
    as constants (detached). logits_b = [q_b . k_b, q_b . queue_1, ..., q_b . queue_K] / temperature,
    loss = mean_b cross-entropy(logits_b, class 0).
    """
    q = F.normalize(q, dim=-1)
    k = F.normalize(k.detach(), dim=-1)
    positive = (q * k).sum(dim=-1, keepdim=True)
    negative = q @ queue.detach().T
    logits = torch.cat([positive, negative], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=q.device))


class MoCo(DiscriminativeMethod):
    """Query encoder f + head g (trained), key encoder + head (EMA of f, g) and a FIFO queue of keys.

    Loss: the mean over ordered view pairs (i, j), i != j, of moco_loss(q_i, k_j, queue); at J = 2 the
    symmetrised (q1, k2) + (q2, k1) loss, halved. After each optimiser step (`on_step_end`) the key
    networks take the EMA step and the keys of all J views of the step (gathered over ranks, so the
    queue is the same on every rank and equals the single-process queue of the union batch) are
    enqueued, overwriting the oldest entries. The head is the shared BatchNorm MLP (MoCo v2's head
    has no BatchNorm, and its reference code shuffles BatchNorm across GPUs; neither is done here).
    """

    Config = MoCoConfig
    family = "discriminative"
    source = "Chen et al. 2020, Improved Baselines with Momentum Contrastive Learning (MoCo v2)"

    def __init__(self, config: MoCoConfig, spec: ModelSpec) -> None:
        super().__init__(config, spec)
        self.key_encoder = make_target(self.encoder)
        self.key_head = make_target(self.head)
        self.register_buffer("queue", F.normalize(torch.randn(config.queue_size, config.head_dim), dim=1))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))  # position of the oldest entry
        self._pending_keys: torch.Tensor | None = None

    def training_terms(self, views: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        q = self.embed_views(views)
        with torch.no_grad():
            k = F.normalize(self.embed_views(views, self.key_encoder, self.key_head), dim=-1)
        with full_precision(q):
            # the queue is only written in on_step_end, after backward, so it needs no copy here
            loss = ordered_pair_mean(lambda a, b: moco_loss(a, b, self.queue, self.config.temperature), q, k)
        if self.training:
            self._pending_keys = gather_no_grad(k.flatten(0, 1))
        return {"loss": loss}

    def enqueue(self, keys: torch.Tensor) -> None:
        """Write keys (n, head_dim) over the n oldest queue entries (the last K if n > K)."""
        enqueue(self.queue, self.queue_ptr, keys)

    @torch.no_grad()
    def on_step_end(self) -> None:
        ema_update(self.key_encoder, self.encoder, self.config.momentum)
        ema_update(self.key_head, self.head, self.config.momentum)
        if self._pending_keys is not None:
            self.enqueue(self._pending_keys)
            self._pending_keys = None
