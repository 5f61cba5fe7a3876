"""The training loop, on Lightning Fabric: one code path for 1 CPU process, N processes or N GPUs.

Data stays in memory as uint8 tensors on the training device; each step gathers a batch by index,
augments it into J views on the device and takes one optimiser step. The batch order of epoch e is
a permutation seeded by (seed, e), and checkpoints hold the global RNG state, so a resumed run
draws exactly the batches, views and noise the uninterrupted run would have drawn.

With several processes (train.devices x train.num_nodes > 1, strategy ddp) each rank trains on its own
slice of every global batch (`batch_indices`), draws its own augmentations and noise (rank r > 0 reseeds
from (seed, r) after the identical model initialisation), logs the terms averaged over ranks, and
rank 0 alone writes the checkpoint, which holds every rank's RNG state. Checkpoints also count the
images seen in total, so a run can be resumed with another number of processes: the step is then
re-derived as images_seen // (batch_size x world_size). Resume is exact only with the same world size
(and batch size); see docs/scaling.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from lightning_fabric import Fabric
from tqdm.auto import tqdm

from simvae.augment import ViewAugmenter, preset_for
from simvae.config import RunConfig
from simvae.data import Dataset, load_dataset
from simvae.errors import ConfigError, TrainingDiverged
from simvae.methods import METHODS, Method, ModelSpec, build_method
from simvae.nets import backbone_for
from simvae.train.checkpoint import (
    CHECKPOINT,
    load_checkpoint,
    restore_rng_state,
    rng_state,
    save_atomic,
)
from simvae.train.rundir import write_json, write_run_header

HISTORY = "train_history.json"


@dataclass
class Setup:
    """Everything built from a config, shared by training, evaluation and benchmarks."""

    dataset: Dataset
    method: Method
    augmenter: ViewAugmenter
    spec: ModelSpec


def build(config: RunConfig, dataset: Dataset | None = None) -> Setup:
    """Data, method and augmenter of `config`; `dataset` skips loading (benchmarks reuse one dataset)."""
    data = config.data
    if dataset is None:
        dataset = load_dataset(data.name, data.root, data.val_fraction, data.split_seed).with_train_limit(data.limit_train)
    method_class = METHODS[config.method.name]
    if config.augment.views < method_class.min_views:
        raise ConfigError(f"config value augment.views={config.augment.views} is invalid: "
                          f"{config.method.name} needs at least {method_class.min_views} views")
    try:
        backbone = backbone_for(config.net.backbone, dataset.image_shape)
        preset = preset_for(config.augment.preset, dataset.name)
    except ValueError as error:
        raise ConfigError(str(error)) from error
    spec = ModelSpec(dataset.image_shape, config.net.latent_dim, backbone, len(dataset.class_names), dataset.likelihood)
    augmenter = ViewAugmenter(preset, dataset.image_shape[1:], config.augment.views)
    return Setup(dataset, build_method(config.method, spec), augmenter, spec)


def make_fabric(config: RunConfig) -> Fabric:
    t = config.train
    precision = "32-true" if t.precision == "32" else t.precision
    return Fabric(accelerator=t.accelerator, devices=t.devices, num_nodes=t.num_nodes, strategy=t.strategy, precision=precision)


def sync_batchnorm(method: Method, config: RunConfig, fabric: Fabric) -> Method:
    """With train.sync_batchnorm, every BatchNorm layer (projection heads, ResNets) becomes torch's
    SyncBatchNorm, whose statistics are those of the union batch of all processes. Its state dict keys
    are BatchNorm's, so checkpoints load either way; on one process it computes plain BatchNorm."""
    if not config.train.sync_batchnorm:
        return method
    if fabric.world_size > 1 and fabric.device.type == "cpu":
        raise ConfigError("train.sync_batchnorm=true needs GPUs: torch's SyncBatchNorm does not run on CPU processes "
                          "(gloo); set train.sync_batchnorm=false, or train on GPUs (train.accelerator=cuda)")
    return torch.nn.SyncBatchNorm.convert_sync_batchnorm(method)


def make_optimizer(method: Method, config: RunConfig) -> torch.optim.Optimizer:
    t = config.train
    return torch.optim.Adam(method.parameters(), lr=t.lr, eps=t.adam_eps, weight_decay=t.weight_decay)


def train_step(fabric: Fabric, model, optimizer: torch.optim.Optimizer, views: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """One optimiser step on a batch of views; returns the detached loss terms."""
    terms = model(views, labels)
    optimizer.zero_grad(set_to_none=True)
    fabric.backward(terms["loss"])
    optimizer.step()
    getattr(model, "module", model).on_step_end()
    return {name: value.detach().float() for name, value in terms.items()}


def loop_step(fabric: Fabric, model, optimizer: torch.optim.Optimizer, augmenter: Callable[[torch.Tensor], torch.Tensor],
              images: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> dict[str, torch.Tensor]:
    """One step of the training loop: gather the batch by index, augment it into views, `train_step`.

    The terms are averaged over ranks (one all-reduce) when there are several, so every rank logs and
    checks the same values: for a loss that is a mean over images that is the union batch's value, for a
    gathered (batch-coupled) loss it is the value every rank already computed.
    """
    index = index.to(fabric.device)
    terms = train_step(fabric, model, optimizer, augmenter(images[index]), labels[index])
    if fabric.world_size > 1:
        names = list(terms)
        mean = fabric.all_reduce(torch.stack([terms[name] for name in names]), reduce_op="mean")
        terms = dict(zip(names, mean.unbind()))
    return terms


def batch_indices(n: int, batch: int, epoch: int, seed: int, world: int, rank: int) -> list[torch.Tensor]:
    """This rank's image indices for every step of an epoch (incomplete last batch dropped)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    steps = n // (batch * world)
    return [order[(s * world + rank) * batch:(s * world + rank + 1) * batch] for s in range(steps)]


def _rank_seed(seed: int, rank: int, salt: int = 0) -> int:
    """The seed from which rank > 0 draws its augmentations and noise (rank 0 keeps the run's own stream)."""
    return (seed * 1_000_003 + rank * 7_919 + salt) % (2**63 - 1)


def _all_rng_states(fabric: Fabric) -> list[dict[str, Any]]:
    """Every rank's RNG state, in rank order (collective: all ranks must call it)."""
    if fabric.world_size == 1:
        return [rng_state()]
    import torch.distributed as dist

    states: list[Any] = [None] * fabric.world_size
    dist.all_gather_object(states, rng_state())
    return states


def _diverged_message(step: int, epoch: int, terms: dict[str, torch.Tensor], checkpoint: Path, last_good: int | None) -> str:
    shown = ", ".join(f"{k}={v.item():.4g}" for k, v in terms.items())
    kept = f"the last good checkpoint {checkpoint} (step {last_good}) is kept" if last_good is not None else "no checkpoint was written yet"
    return (f"loss is not finite at step {step} (epoch {epoch}): {shown}; {kept}. Likely fixes: lower train.lr, "
            "use precision 32-true, raise method.log_var_x for a Gaussian likelihood or lower method.recon_weight, "
            "and check the data for NaN or wrongly scaled pixels; resume with `simvae train --resume RUN_DIR`.")


def train(config: RunConfig, run_dir: str | Path, resume: bool = False, max_steps: int | None = None,
          progress: bool = True, fabric: Fabric | None = None) -> dict[str, Any]:
    """Train `config` into `run_dir`; returns the final checkpoint's payload (without tensors moved).

    `resume` continues from run_dir/checkpoint.pt. `max_steps` stops (with a checkpoint) once that
    many steps are done in total, as an interruption would.
    """
    run_dir = Path(run_dir)
    fabric = fabric or make_fabric(config)
    if fabric.world_size > 1 and not getattr(fabric, "_launched", False):
        fabric.launch()
    t = config.train
    if t.threads:
        torch.set_num_threads(t.threads)
    fabric.seed_everything(t.seed, workers=False, verbose=False)
    setup = build(config)
    setup.method = sync_batchnorm(setup.method, config, fabric)
    optimizer = make_optimizer(setup.method, config)
    world, rank = fabric.world_size, fabric.global_rank
    if rank > 0:  # same initial weights everywhere (built above), but each rank its own views and noise
        fabric.seed_everything(_rank_seed(t.seed, rank), workers=False, verbose=False)
    images_per_step = t.batch_size * world  # global images per optimiser step
    # `running` holds the sums of the terms since the last loss-curve point, so a resumed run's curve is identical
    state: dict[str, Any] = {"step": 0, "epoch": 0, "history": [], "running": {}, "wall_time": 0.0, "finished": False,
                             "images_seen": 0}
    checkpoint_path = run_dir / CHECKPOINT
    rederive_step = False
    if resume:
        saved = load_checkpoint(checkpoint_path)
        setup.method.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        saved_world = saved.get("world_size", 1)
        saved_images_per_step = saved["config"]["train"]["batch_size"] * saved_world
        ranks_rng = saved.get("rng_ranks")
        if saved_world == world and ranks_rng is not None and len(ranks_rng) == world:
            restore_rng_state(ranks_rng[rank])
        else:  # another world size: rank 0 continues the saved stream, the others fork from it
            restore_rng_state(saved["rng"])
            if rank > 0:
                fabric.seed_everything(_rank_seed(t.seed, rank, saved["step"]), workers=False, verbose=False)
        state = {k: saved.get(k, v) for k, v in state.items()}
        if "images_seen" not in saved:  # a checkpoint written before images were counted
            state["images_seen"] = saved["step"] * saved_images_per_step
        rederive_step = saved_images_per_step != images_per_step
    elif fabric.is_global_zero:
        write_run_header(run_dir, config)
    model, optimizer = fabric.setup(setup.method, optimizer)
    method = setup.method
    images = setup.dataset.train.images.to(fabric.device)
    labels = setup.dataset.train.content.to(fabric.device)
    augmenter = setup.augmenter.to(fabric.device)

    steps_per_epoch = len(images) // (t.batch_size * fabric.world_size)
    if steps_per_epoch == 0:
        raise ConfigError(f"config value train.batch_size={t.batch_size} is larger than the training split "
                          f"({len(images)} images over {fabric.world_size} process(es)); lower it")
    total_steps = steps_per_epoch * t.epochs
    if rederive_step:
        # resumed with another world size (or batch size): the step of this run that has seen as many images;
        # the remainder (< batch_size x world_size images) is re-drawn, so the run is no longer exact
        state["step"] = min(state["images_seen"] // images_per_step, total_steps)
        state["epoch"] = state["step"] // steps_per_epoch

    def save(finished: bool = False) -> None:
        state["finished"] = finished
        ranks_rng = _all_rng_states(fabric)  # collective: every rank takes part, rank 0 writes
        if fabric.is_global_zero:
            payload = {"model": method.state_dict(), "optimizer": optimizer.state_dict(), "rng": ranks_rng[0],
                       "rng_ranks": ranks_rng, "world_size": world, "config": config.to_dict(), **state}
            save_atomic(payload, checkpoint_path)
            write_json(run_dir / HISTORY, state["history"])
        fabric.barrier()

    last_good = state["step"] if resume else None
    bar = tqdm(total=total_steps, initial=state["step"], desc=f"{config.method.name} on {config.data.name}",
               disable=not (progress and fabric.is_global_zero), dynamic_ncols=True)
    started = time.perf_counter() - state["wall_time"]
    running = state["running"]
    model.train()
    while state["step"] < total_steps and not state["finished"]:
        epoch = state["step"] // steps_per_epoch
        batches = batch_indices(len(images), t.batch_size, epoch, t.seed, world, rank)
        for index in batches[state["step"] % steps_per_epoch:]:
            terms = loop_step(fabric, model, optimizer, augmenter, images, labels, index)
            if not torch.isfinite(terms["loss"]):  # the same on every rank: the terms are averaged over ranks
                bar.close()
                raise TrainingDiverged(_diverged_message(state["step"] + 1, epoch, terms, checkpoint_path, last_good))
            state["step"] += 1
            state["images_seen"] += images_per_step
            for name, value in terms.items():
                running[name] = running.get(name, 0.0) + value.item()
            if state["step"] % t.log_every == 0 or state["step"] == total_steps:
                count = (state["step"] - 1) % t.log_every + 1
                point = {name: value / count for name, value in running.items()}
                state["history"].append({"step": state["step"], "epoch": state["step"] / steps_per_epoch, **point})
                bar.set_postfix({k: f"{v:.3g}" for k, v in point.items()}, refresh=False)
                running.clear()
            bar.update(1)
            state["epoch"] = state["step"] // steps_per_epoch
            state["wall_time"] = time.perf_counter() - started
            if state["step"] % t.checkpoint_every == 0 or state["step"] % steps_per_epoch == 0:
                save()
                last_good = state["step"]
            if max_steps is not None and state["step"] >= max_steps:
                save()
                bar.close()
                return state
    bar.close()
    save(finished=True)
    return state


def load_trained(run_dir: str | Path, device: str | torch.device = "cpu") -> tuple[RunConfig, Setup]:
    """Rebuild a run's config, data and method from its directory, with the trained weights loaded."""
    from simvae.config import config_from_dict

    saved = load_checkpoint(Path(run_dir) / CHECKPOINT)
    config = config_from_dict(saved["config"])
    setup = build(config)
    setup.method.load_state_dict(saved["model"])
    setup.method.to(device).eval()
    return config, setup
