"""SwAV: swapping assignments between views (Caron, Misra, Mairal, Goyal, Bojanowski, Joulin, NeurIPS 2020)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from simvae.fields import bounded
from simvae.methods.base import ModelSpec
from simvae.methods.discriminative import (
    DiscriminativeConfig,
    DiscriminativeMethod,
    enqueue,
    full_precision,
    gather_with_grad,
)


@dataclass
class SwAVConfig(DiscriminativeConfig):
    """The paper's hyper-parameters, scaled to small images and batches (head: 512 hidden, 128 out; the paper's
    2048 and 128)."""

    name: str = "swav"
    prototypes: int = bounded(100, ge=2)  # K (the paper's 3,000 for ImageNet): ~10x our datasets' classes, ~ a batch
    temperature: float = bounded(0.1, gt=0)  # tau of the swapped prediction's softmax
    epsilon: float = bounded(0.05, gt=0)  # entropic regularisation of the Sinkhorn-Knopp assignment
    sinkhorn_iterations: int = bounded(3, ge=1)
    freeze_prototypes: float = bounded(0.05, ge=0, le=1)  # prototypes untrained over this fraction of the run (the paper: 1 epoch)
    queue_size: int = bounded(0, ge=0)  # past global embeddings beside the batch in the assignment (0: none; the paper's 3,840 at batch 256)


@torch.no_grad()
def sinkhorn(scores: torch.Tensor, epsilon: float, iterations: int, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Sinkhorn-Knopp codes Q (N, K) for scores (N, K) of N samples against K prototypes (SwAV's Algorithm):

        Q = exp(scores / epsilon)^T / sum, then `iterations` times: rows (prototypes) scaled to sum 1/K, columns
        (samples) to 1/N; returned times N, so each sample's code sums to 1.

    The equipartition constraint spreads the N samples evenly over the K prototypes. `weights` (N,) of 0 or 1 leave
    samples out (a queue's unwritten rows), as if they were not there. No gradient flows through the codes.
    """
    codes = torch.exp((scores - scores.max()) / epsilon).T  # the shift cancels in the first normalisation
    if weights is not None:
        codes = codes * weights
    n_samples = codes.shape[1] if weights is None else weights.sum()
    codes = codes / codes.sum()
    for _ in range(iterations):
        codes = codes / codes.sum(dim=1, keepdim=True) / codes.shape[0]
        codes = codes / codes.sum(dim=0, keepdim=True).clamp_min(torch.finfo(codes.dtype).tiny) / n_samples
    return (codes * n_samples).T


def swav_loss(scores: torch.Tensor, n_global: int, temperature: float, epsilon: float, iterations: int,
              queue_scores: torch.Tensor | None = None, queue_weights: torch.Tensor | None = None) -> torch.Tensor:
    """The swapped prediction for scores (B, V, K): cosine similarities of V views' embeddings (the n_global global
    views first, then the local crops) with the K prototypes.

    Each global view g gets codes q_g = sinkhorn(scores[:, g]) (computed without gradient; with a queue, its scores
    (Q, K) are assigned together with the batch's and `queue_weights` (Q,) leave unwritten rows out), and
        loss = mean over pairs (g, v), v != g, of  mean_b  - sum_k q_g[b, k] log softmax(scores[b, v] / temperature)_k.
    """
    batch, n_views, _ = scores.shape
    log_predictions = F.log_softmax(scores / temperature, dim=-1)
    terms = []
    for g in range(n_global):
        own = scores[:, g].detach()
        if queue_scores is None:
            codes = sinkhorn(own, epsilon, iterations)
        else:
            weights = torch.cat([queue_weights.to(own.dtype), own.new_ones(batch)])
            codes = sinkhorn(torch.cat([queue_scores.detach(), own]), epsilon, iterations, weights)[-batch:]
        terms += [-(codes * log_predictions[:, v]).sum(-1).mean() for v in range(n_views) if v != g]
    return torch.stack(terms).mean()


class SwAV(DiscriminativeMethod):
    """Encoder f, projection head g (Linear-BatchNorm-ReLU-Linear) and K L2-normalised prototypes (a linear layer
    without bias, renormalised after every step); every view's normalised embedding is scored against them.

    The global views' codes come from Sinkhorn-Knopp on the scores of the union batch (the embeddings are gathered
    over ranks with their gradient, so loss and gradients are a single process's on the union batch) and, with
    `queue_size`, of the queue's past global embeddings (gathered too, so the queue is the same on every rank;
    rows not yet written take no part). During the first `freeze_prototypes` of the run the prototypes get a zero
    gradient (Adam then leaves them unchanged; the paper drops their gradient, the same without weight decay,
    which DDP needs every parameter to get a gradient for).
    """

    Config = SwAVConfig
    uses_local_crops = True
    family = "latent clustering"
    source = "Caron et al. 2020, Unsupervised Learning of Visual Features by Contrasting Cluster Assignments"

    def __init__(self, config: SwAVConfig, spec: ModelSpec) -> None:
        super().__init__(config, spec)
        self.prototypes = nn.Linear(config.head_dim, config.prototypes, bias=False)
        self.normalise_prototypes()
        self.register_buffer("queue", torch.zeros(config.queue_size, config.head_dim))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("queue_filled", torch.zeros((), dtype=torch.long))  # rows written so far, at most queue_size
        self.register_buffer("prototype_gate", torch.ones(()), persistent=False)  # 0 while the prototypes are frozen
        self._pending: torch.Tensor | None = None

    @torch.no_grad()
    def normalise_prototypes(self) -> None:
        self.prototypes.weight.copy_(F.normalize(self.prototypes.weight, dim=1))

    def training_terms(self, views: torch.Tensor, labels: torch.Tensor,
                       local_views: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        c = self.config
        z = F.normalize(self.embed_crops(views, local_views), dim=-1)
        with full_precision(z):
            z = gather_with_grad(z)
            weight = self.prototypes.weight
            weight = weight.detach() + self.prototype_gate * (weight - weight.detach())  # its value, gated gradient
            scores = z @ weight.T
            queue_scores = queue_weights = None
            if c.queue_size:
                queue_scores = self.queue @ weight.detach().T
                queue_weights = torch.arange(c.queue_size, device=z.device) < self.queue_filled
            loss = swav_loss(scores, views.shape[1], c.temperature, c.epsilon, c.sinkhorn_iterations, queue_scores,
                             queue_weights)
        if self.training and c.queue_size:
            self._pending = z[:, :views.shape[1]].detach().flatten(0, 1)
        return {"loss": loss}

    def on_step_start(self, step: int, total_steps: int) -> None:
        self.prototype_gate.fill_(0.0 if step < self.config.freeze_prototypes * total_steps else 1.0)

    @torch.no_grad()
    def on_step_end(self) -> None:
        self.normalise_prototypes()
        if self._pending is not None:
            enqueue(self.queue, self.queue_ptr, self._pending)
            self.queue_filled.add_(len(self._pending)).clamp_(max=self.config.queue_size)
            self._pending = None
