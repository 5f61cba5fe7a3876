"""Ranks: who this process is, and cross-rank gathers for losses that depend on the whole batch.

Rule followed by every batch-coupled loss in simvae.methods: each rank gathers the embeddings of all
ranks with `gather_with_grad` and computes the loss of the *union* batch (so the logged value is the
single-process value on the union batch). `gather_with_grad`'s backward sums the gradient that every
rank's copy of the loss sends to a rank's own slice (a world-size factor), and DDP's gradient
averaging divides that factor out again, so the parameter gradient equals the single-process
gradient on the union batch. Values that need no gradient (e.g. MoCo's keys for the queue) use
`gather_no_grad`. Without an initialised process group, or with a single rank, both are the identity.

The union-batch equality does not extend to BatchNorm layers, whose statistics stay per rank unless
the model is converted to SyncBatchNorm.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist


def world_size() -> int:
    """Number of ranks of the default process group; 1 when torch.distributed is not in use."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenation of `x` over all ranks along dim 0 (rank order), differentiable.

    x (n, ...) -> (world * n, ...); every rank must pass the same shape. The backward pass sums the
    gradients of all ranks onto each rank's own slice (torch.distributed.nn.functional.all_gather).
    Identity when torch.distributed is not initialised or the world has one rank.
    """
    if world_size() == 1:
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x), dim=0)


@torch.no_grad()
def gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenation of `x` over all ranks along dim 0 (rank order), detached from the graph.

    x (n, ...) -> (world * n, ...); identity (detached) on a single process.
    """
    x = x.detach()
    if world_size() == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


def launched_rank() -> int:
    """This process's global rank as set by a launcher (torchrun, SLURM, Fabric's own), before training starts."""
    for name in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


def is_global_zero() -> bool:
    """Rank 0 of an initialised process group (after training), or the launcher's rank 0."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return launched_rank() == 0


def rank_seed(seed: int, rank: int, salt: int = 0) -> int:
    """The seed from which rank > 0 draws its augmentations and noise (rank 0 keeps the run's own stream)."""
    return (seed * 1_000_003 + rank * 7_919 + salt) % (2**63 - 1)


def gather_objects(value: Any) -> list[Any]:
    """Every rank's `value` (any picklable object), in rank order (collective: all ranks must call it)."""
    if world_size() == 1:
        return [value]
    values: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(values, value)
    return values
