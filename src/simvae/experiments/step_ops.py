"""Aten operators per full training step and per augmentation call, counted with torch.profiler.

On a GPU, small steps are bound by kernel launches, not arithmetic; the number of aten operators a
step runs (nested calls included, as `simvae.augment.ops_count` counts them) is a figure of that cost
which does not depend on the machine's speed. The step is `simvae train`'s non-logging step
(`loop_step` + `TermLog.add`) with the optimiser as it is built on CUDA (fused Adam, which torch also
runs on CPU), counted on the config's device after two warm-up steps. On CPU the count includes the
per-tensor loops of the multi-tensor operators (the optimiser's), which CUDA runs as one kernel each;
`multi_tensor_loops` says how many they are (`simvae.augment.ops_count.MULTI_TENSOR_PREFIXES`).
"""

from __future__ import annotations

from typing import Any

import torch

from simvae.augment.ops_count import aten_events, count_aten_ops, in_multi_tensor_loops, syncing
from simvae.config import RunConfig
from simvae.data import Dataset
from simvae.runs import build
from simvae.training.guard import TermLog
from simvae.training.loop import batch_indices, loop_step, make_fabric, make_optimizer

WARMUP_STEPS = 2  # the first steps create the optimiser state and warm lazy initialisations


def step_ops(config: RunConfig, dataset: Dataset) -> dict[str, Any]:
    """{"full_step": operators of one full step, "multi_tensor_loops": how many of them the per-tensor loops of
    multi-tensor operators run (0 on CUDA), "augment": operators of one augmentation call, "syncs": the
    host-syncing operators of the full step outside the optimiser (CPU Adam reads its step counters on the host;
    the fused CUDA kernel does not)}."""
    fabric = make_fabric(config)
    fabric.seed_everything(config.train.seed, workers=False, verbose=False)
    setup = build(config, dataset)
    optimizer = make_optimizer(setup.method, config, torch.device("cuda"))  # fused, as on CUDA
    model, optimizer = fabric.setup(setup.method, optimizer)
    model.train()
    images, labels = dataset.train.images.to(fabric.device), dataset.train.content.to(fabric.device)
    augmenter = setup.augmenter.to(fabric.device)
    local_crops = augmenter.local if augmenter.local_crops is not None else None  # multi-crop methods' local crops
    index = batch_indices(len(images), config.train.batch_size, 0, config.train.seed, 1, 0)[0]
    log = TermLog(fabric.device, {}, capacity=WARMUP_STEPS + 3)

    def full_step() -> None:
        log.add(loop_step(fabric, model, optimizer, augmenter, images, labels, index, local_crops), len(log.steps) + 1)

    for _ in range(WARMUP_STEPS):
        full_step()
    events = aten_events(full_step)
    batch = images[index.to(fabric.device)]
    return {"full_step": len(events), "multi_tensor_loops": in_multi_tensor_loops(events),
            "augment": count_aten_ops(augmenter, batch), "syncs": sorted(syncing(events, "Optimizer.step"))}
