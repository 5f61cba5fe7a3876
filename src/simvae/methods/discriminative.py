"""What the discriminative SSL methods share: a deterministic encoder f and a projection head g.

f is the backbone's encoder with `latent_dim` outputs (the generative encoder without its variance
half, so parameter counts stay comparable); g is an MLP latent_dim -> head_hidden -> head_dim with
BatchNorm1d + ReLU in the hidden layer (SimCLR's head, Chen et al. 2020). Losses act on g(f(x));
the representation evaluated is f(x), taken before the head (docs/model.md §2: the head absorbs
the loss's collapsed-cluster structure, the features before it keep more style).

Multi-view convention: all methods need J >= 2 views; for J > 2 a two-view loss is averaged over
all ordered pairs (i, j), i != j, of views of the same image (`ordered_pair_mean`).

Distributed training: batch-coupled losses gather embeddings over ranks (simvae.distributed)
so that the loss and the gradient equal those of a single process on the union batch; losses that
are a mean of per-image terms need no gather. BatchNorm statistics stay per rank unless
train.sync_batchnorm converts the layers to torch's SyncBatchNorm (GPUs; see docs/scaling.md).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from simvae.distributed import gather_no_grad, gather_with_grad  # noqa: F401  (re-exported for the methods)
from simvae.fields import bounded
from simvae.methods.base import Method, MethodConfig, ModelSpec, upcast
from simvae.nets import BACKBONES


@dataclass
class DiscriminativeConfig(MethodConfig):
    head_hidden: int = bounded(512, ge=1)  # hidden width of the projection head g
    head_dim: int = bounded(128, ge=1)  # output width of g, where the loss is computed


def mlp_head(dim_in: int, hidden: int, dim_out: int) -> nn.Sequential:
    """Linear -> BatchNorm1d -> ReLU -> Linear (the projection head / predictor of SimCLR, BYOL, SimSiam)."""
    return nn.Sequential(nn.Linear(dim_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, dim_out))


def mlp(widths: list[int], batchnorm: bool, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear layers of the given widths with (BatchNorm1d and) `activation` between them, none after the last
    (Barlow Twins' projector: BatchNorm + ReLU; DINO's: GELU, with or without BatchNorm)."""
    layers: list[nn.Module] = []
    for i, (dim_in, dim_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(dim_in, dim_out))
        if i < len(widths) - 2:
            layers += [nn.BatchNorm1d(dim_out), activation()] if batchnorm else [activation()]
    return nn.Sequential(*layers)


def ordered_pair_mean(
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], a: torch.Tensor, b: torch.Tensor
) -> torch.Tensor:
    """Mean over ordered view pairs (i, j), i != j, of loss(a[:, i], b[:, j]); a, b (B, J, ...).

    For J = 2 this is (loss(a1, b2) + loss(a2, b1)) / 2, the symmetrised two-view loss.
    """
    n_views = a.shape[1]
    terms = [loss(a[:, i], b[:, j]) for i in range(n_views) for j in range(n_views) if i != j]
    return torch.stack(terms).mean()


def full_precision(tensor: torch.Tensor) -> contextlib.AbstractContextManager:
    """Autocast disabled on `tensor`'s device: losses are computed in float32 under mixed precision."""
    return torch.autocast(device_type=tensor.device.type, enabled=False)


class DiscriminativeMethod(Method):
    """Deterministic encoder f (image -> latent_dim) and projection head g (latent_dim -> head_dim)."""

    Config = DiscriminativeConfig
    min_views = 2

    def __init__(self, config: DiscriminativeConfig, spec: ModelSpec) -> None:
        super().__init__(config, spec)
        self.encoder = BACKBONES[spec.backbone].encoder(spec.image_shape, spec.latent_dim)
        self.head = self.build_head()

    def build_head(self) -> nn.Module:
        """g: latent_dim -> head_dim, SimCLR's head; a method with another projector overrides this."""
        return mlp_head(self.spec.latent_dim, self.config.head_hidden, self.config.head_dim)

    def embed_views(self, views: torch.Tensor, encoder: nn.Module | None = None, head: nn.Module | None = None) -> torch.Tensor:
        """g(f(x)) for every view: views (B, J, C, H, W) -> (B, J, head_dim), in (at least) float32.

        All B*J views go through the networks as one batch (one set of BatchNorm statistics).
        `encoder`/`head` default to the online f and g (momentum methods pass their targets).
        """
        encoder = self.encoder if encoder is None else encoder
        head = self.head if head is None else head
        batch, n_views = views.shape[:2]
        out = head(encoder(views.flatten(0, 1)))
        return upcast(out).view(batch, n_views, -1)

    def embed_crops(self, views: torch.Tensor, local_views: torch.Tensor | None) -> torch.Tensor:
        """g(f(x)) of the J global views (B, J, C, H, W) then the N local crops (B, N, C, h, w): (B, J + N, head_dim).

        As in DINO's and SwAV's multi-crop wrappers, the encoder runs once per resolution (once in all when the
        local crops have the views' size) and the head once on every crop.
        """
        if local_views is None:
            return self.embed_views(views)
        same_size = local_views.shape[-2:] == views.shape[-2:]
        groups = [torch.cat([views, local_views], dim=1)] if same_size else [views, local_views]
        batch = views.shape[0]
        features = torch.cat([self.encoder(g.flatten(0, 1)).view(batch, g.shape[1], -1) for g in groups], dim=1)
        return upcast(self.head(features.flatten(0, 1))).view(batch, features.shape[1], -1)

    def representations(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.encoder(images)
        return {"encoder": features, "head": self.head(features)}


def make_target(module: nn.Module) -> nn.Module:
    """A frozen copy of `module`, to be moved by `ema_update` (MoCo's key encoder, BYOL's target)."""
    target = copy.deepcopy(module)
    target.requires_grad_(False)
    return target


@torch.no_grad()
def enqueue(queue: torch.Tensor, pointer: torch.Tensor, rows: torch.Tensor) -> None:
    """Write rows (n, d) over the n oldest entries of the FIFO `queue` (K, d), whose oldest entry is at `pointer` (a 0-d
    long tensor, advanced in place); with n >= K the queue holds the last K rows. On the device, without a host sync."""
    size = queue.shape[0]
    rows = rows.to(queue.dtype)
    if len(rows) >= size:
        queue.copy_(rows[-size:])
        pointer.zero_()
        return
    index = (pointer + torch.arange(len(rows), device=queue.device)) % size
    queue[index] = rows
    pointer.copy_((pointer + len(rows)) % size)


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """target <- momentum * target + (1 - momentum) * online, parameter by parameter.

    Buffers (BatchNorm running statistics) are not averaged: the target keeps its own, from its own
    forward passes in training mode, as in the reference implementations.
    """
    for p_target, p_online in zip(target.parameters(), online.parameters(), strict=True):
        p_target.mul_(momentum).add_(p_online.detach(), alpha=1.0 - momentum)
