"""The training loop, on Lightning Fabric: one code path for 1 CPU process, N processes or N GPUs.

Data stays in memory as uint8 tensors on the training device; each step gathers a batch by index,
augments it into J views on the device and takes one optimiser step. The batch order of epoch e is
a permutation seeded by (seed, e), and checkpoints hold the global RNG state, so a resumed run
draws exactly the batches, views and noise the uninterrupted run would have drawn.

A step never waits for the device: the loss terms stay on the device (`TermLog`) and are read on the
host every `train.log_every` steps and before each checkpoint, where the NaN guard looks at them.
Speed settings (`simvae.training.speed`): TF32 (`train.tf32`) and channels_last on CUDA, `train.compile`.

With several processes (train.devices x train.num_nodes > 1, strategy ddp) each rank trains on its own
slice of every global batch (`batch_indices`), draws its own augmentations and noise (rank r > 0 reseeds
from (seed, r) after the identical model initialisation), logs the terms averaged over ranks, and
rank 0 alone writes the checkpoint, which holds every rank's RNG state. Checkpoints also count the
images seen in total, so a run can be resumed with another number of processes: the step is then
re-derived as images_seen // (batch_size x world_size). Resume is exact only with the same world size
(and batch size); see docs/scaling.md.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from math import ceil
from pathlib import Path
from typing import Any

import torch
from lightning_fabric import Fabric
from tqdm.auto import tqdm

from simvae.config import RunConfig
from simvae.distributed import gather_objects, rank_seed
from simvae.errors import ConfigError, DiskFull
from simvae.interrupts import Interrupted, critical
from simvae.methods import Method
from simvae.output import write_json
from simvae.runs import loggers as run_loggers
from simvae.runs.checkpoint import (
    CHECKPOINT,
    keep_previous,
    load_checkpoint,
    load_weights,
    restore_rng_state,
    rng_state,
    save_atomic,
)
from simvae.runs.rundir import HISTORY, RunDirLock, network_classes, record_resume, write_run_header
from simvae.runs.setup import Setup, build, data_spec
from simvae.training.guard import (
    GoodCheckpoints,
    StopSignals,
    TermLog,
    interrupted,
    reduce_flag,
)
from simvae.training.schedule import lr_at
from simvae.training.speed import (
    CompiledForward,
    fallback_reporter,
    set_tf32,
    use_channels_last,
)

# what a multi-node launcher (torchrun, SLURM, MPI, LSF, or a hand-set NODE_RANK) sets in every process it starts
LAUNCHER_ENV = ("NODE_RANK", "GROUP_RANK", "TORCHELASTIC_RUN_ID", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                "LSB_JOBID")
EpochHook = Callable[[int, Setup], float]  # (epoch just finished, setup) -> seconds spent, not counted as training


def make_fabric(config: RunConfig) -> Fabric:
    """Lightning Fabric for the run's execution settings; settings this machine cannot honour fail in one line."""
    t = config.train
    if t.accelerator in ("cuda", "gpu") and not torch.cuda.is_available():
        raise ConfigError(f"train.accelerator={t.accelerator} but torch {torch.__version__} sees no CUDA GPU on this "
                          "machine: use train.accelerator=cpu (or auto), or install a CUDA build of torch")
    if t.accelerator == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("train.accelerator=mps but this machine has no Apple GPU (MPS): use train.accelerator=cpu (or auto)")
    if t.num_nodes > 1 and not any(name in os.environ for name in LAUNCHER_ENV):  # it would wait for the others forever
        raise ConfigError(f"train.num_nodes={t.num_nodes} needs a launcher that starts simvae on every node (torchrun "
                          f"--nnodes {t.num_nodes} ..., or SLURM's srun), and this process was not started by one: "
                          "run it under the launcher, or set train.num_nodes=1")
    try:
        return Fabric(accelerator=t.accelerator, devices=t.devices, num_nodes=t.num_nodes, strategy=t.strategy,
                      precision=t.precision)
    except Exception as error:  # Lightning's MisconfigurationException and ValueErrors: e.g. more devices than exist
        raise ConfigError(f"train settings cannot run on this machine ({str(error).splitlines()[0]}): "
                          "check train.devices, train.accelerator and train.strategy") from None


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


def make_optimizer(method: Method, config: RunConfig, device: torch.device | None = None) -> torch.optim.Optimizer:
    """Adam; fused into one kernel on CUDA (the default foreach implementation elsewhere)."""
    t = config.train
    fused = device is not None and device.type == "cuda"
    return torch.optim.Adam(method.parameters(), lr=t.lr, eps=t.adam_eps, weight_decay=t.weight_decay,
                            fused=fused or None)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def train_step(fabric: Fabric, model, optimizer: torch.optim.Optimizer, views: torch.Tensor, labels: torch.Tensor,
               *local_views: torch.Tensor) -> dict[str, torch.Tensor]:
    """One optimiser step on a batch of views (and local crops, for methods that use them); returns the detached
    loss terms (on the device, in the dtype the method computed them: float32, or float64 under precision 64-true)."""
    terms = model(views, labels, *local_views)
    optimizer.zero_grad(set_to_none=True)
    fabric.backward(terms["loss"])
    optimizer.step()
    getattr(model, "module", model).on_step_end()
    return {name: value.detach() for name, value in terms.items()}


def loop_step(fabric: Fabric, model, optimizer: torch.optim.Optimizer, augmenter: Callable[[torch.Tensor], torch.Tensor],
              images: torch.Tensor, labels: torch.Tensor, index: torch.Tensor,
              local_crops: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """One step of the training loop: gather the batch by index, augment it into views (and, with `local_crops`,
    the augmenter's `local`, into local crops too), `train_step`.

    The terms are averaged over ranks (one all-reduce on the device) when there are several, so every
    rank logs and checks the same values: for a loss that is a mean over images that is the union
    batch's value, for a gathered (batch-coupled) loss it is the value every rank already computed.
    """
    index = index.to(fabric.device, non_blocking=True)
    batch = images[index]
    views = augmenter(batch)  # drawn before the local crops: the global views are those of a run without them
    local_views = () if local_crops is None else (local_crops(batch),)
    terms = train_step(fabric, model, optimizer, views, labels[index], *local_views)
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


def new_state() -> dict[str, Any]:
    """Where a run stands, as saved in its checkpoint beside the tensors. `running` holds the sums of the
    terms since the last loss-curve point, so a resumed run's curve is identical."""
    return {"step": 0, "epoch": 0, "history": [], "running": {}, "wall_time": 0.0, "finished": False, "images_seen": 0}


def restore(run_dir: Path, setup: Setup, optimizer: torch.optim.Optimizer, config: RunConfig, fabric: Fabric) -> dict[str, Any]:
    """Load weights, optimiser and this rank's RNG from the run's checkpoint; returns the saved state.

    The learning rate is the config's (a resume may lower it, e.g. after the NaN guard stopped the run).
    With another world size, rank 0 continues the saved stream and the other ranks fork from it.
    """
    saved = load_checkpoint(run_dir / CHECKPOINT)
    load_weights(setup.method, saved["model"], run_dir / CHECKPOINT)
    load_weights(optimizer, saved["optimizer"], run_dir / CHECKPOINT)
    for group in optimizer.param_groups:
        group["lr"] = config.train.lr
    world, rank = fabric.world_size, fabric.global_rank
    ranks_rng = saved.get("rng_ranks")
    if saved.get("world_size", 1) == world and ranks_rng is not None and len(ranks_rng) == world:
        restore_rng_state(ranks_rng[rank])
    else:
        restore_rng_state(saved["rng"])
        if rank > 0:
            fabric.seed_everything(rank_seed(config.train.seed, rank, saved["step"]), workers=False, verbose=False)
    state = {key: saved.get(key, default) for key, default in new_state().items()}
    state["images_per_step"] = saved["config"]["train"]["batch_size"] * saved.get("world_size", 1)
    state["saved_epochs"] = saved["config"]["train"]["epochs"]
    return state


def extension(state: dict[str, Any], saved_epochs: int, config: RunConfig, total_steps: int, steps_per_epoch: int,
              run_dir: Path) -> dict[str, Any] | None:
    """A resume with more epochs than the run was made for continues it (no longer finished); what provenance
    records of that (None when the resume does not extend the run). Fewer epochs than reached is refused."""
    if state["step"] > total_steps:
        reached = state["step"] / steps_per_epoch
        raise ConfigError(f"{run_dir} has already trained to epoch {reached:g} (step {state['step']}), beyond "
                          f"train.epochs={config.train.epochs}: give train.epochs={ceil(reached)} or more to continue it")
    if config.train.epochs <= saved_epochs:
        return None
    state["finished"] = False
    return {"from_epochs": saved_epochs, "to_epochs": config.train.epochs, "at_step": state["step"],
            "learning_rate": learning_rate_plan(config)}


def learning_rate_plan(config: RunConfig) -> str:
    """How an extended run's learning rate continues, as provenance records it: a schedule over train.epochs
    (`train.schedule=warmup-cosine`) is re-derived for the new number of epochs, so the rate jumps back up."""
    if config.train.schedule == "constant":
        return f"constant, train.lr={config.train.lr:g}"
    return f"train.schedule={config.train.schedule} re-derived for train.epochs={config.train.epochs}"


def save(fabric: Fabric, run_dir: Path, setup: Setup, optimizer: torch.optim.Optimizer, config: RunConfig,
         state: dict[str, Any], lock: RunDirLock | None) -> None:
    """Checkpoint and loss curve, written atomically by rank 0, which holds `lock` (collective: every rank sends its
    RNG state). A signal waits until both are written."""
    ranks_rng = gather_objects(rng_state())
    if fabric.is_global_zero:
        lock.check()  # the directory is still the one locked: never write into a recreated one
        payload = {"model": setup.method.state_dict(), "optimizer": optimizer.state_dict(), "rng": ranks_rng[0],
                   "rng_ranks": ranks_rng, "world_size": fabric.world_size, "config": config.to_dict(),
                   "data_spec": data_spec(setup), **state}
        try:
            with critical():
                keep_previous(run_dir)
                save_atomic(payload, run_dir / CHECKPOINT)
                write_json(run_dir / HISTORY, state["history"], parents=False)
        except FileNotFoundError:  # the run directory went away during the save
            lock.check()
            raise
    fabric.barrier()


def train(config: RunConfig, run_dir: str | Path, resume: bool = False, max_steps: int | None = None,
          progress: bool = True, on_epoch_end: EpochHook | None = None, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train `config` into `run_dir`; returns the final state (step, epoch, history, wall time, ...).

    `resume` continues from run_dir/checkpoint.pt, for more epochs than the run was made for if
    `config.train.epochs` says so; `changes` (the settings the resume changed) are recorded in provenance.json
    once the lock is held. `max_steps` stops (with a checkpoint) once that many steps are done in total, as an
    interruption would. Rank 0 holds the run directory's lock throughout; SIGTERM or SIGINT checkpoint the
    current step and raise TrainingInterrupted. Rank 0 calls `on_epoch_end` (e.g.
    `simvae.evaluation.curves.CurveProbe`) after each epoch, before its checkpoint.
    """
    run_dir = Path(run_dir)
    fabric = make_fabric(config)
    if fabric.world_size > 1:
        fabric.launch()  # starts the other ranks (Fabric's launcher re-runs this command) unless a launcher did
    lock = RunDirLock(run_dir, resuming=resume) if fabric.is_global_zero else None
    with lock or contextlib.nullcontext(), StopSignals() as signals:
        try:
            return _train(config, run_dir, fabric, signals, resume, max_steps, progress, on_epoch_end, lock, changes)
        except Interrupted as stopped:  # a second Ctrl-C: at once (after the checkpoint being written, if any)
            raise interrupted(stopped.signal_number, None, run_dir) from None


def _train(config: RunConfig, run_dir: Path, fabric: Fabric, signals: StopSignals, resume: bool,
           max_steps: int | None, progress: bool, on_epoch_end: EpochHook | None, lock: RunDirLock | None,
           changes: dict[str, Any] | None) -> dict[str, Any]:
    t = config.train
    if t.threads:
        torch.set_num_threads(t.threads)

    # 1. the model: the same initial weights on every rank, then each rank its own views and noise
    fabric.seed_everything(t.seed, workers=False, verbose=False)
    setup = build(config)
    setup.method = use_channels_last(sync_batchnorm(setup.method, config, fabric), fabric.device)
    set_tf32(t.tf32, fabric.device)
    compiled = CompiledForward(setup.method, t.compile, fallback_reporter(t.compile, run_dir if fabric.is_global_zero else None))
    optimizer = make_optimizer(setup.method, config, fabric.device)
    world, rank = fabric.world_size, fabric.global_rank
    if rank > 0:
        fabric.seed_everything(rank_seed(t.seed, rank), workers=False, verbose=False)

    # 2. where the run stands: a new run directory, or the checkpoint to continue from
    if resume:
        state = restore(run_dir, setup, optimizer, config, fabric)
        saved_images_per_step, saved_epochs = state.pop("images_per_step"), state.pop("saved_epochs")
    else:
        state, saved_images_per_step = new_state(), t.batch_size * world
    if progress and fabric.is_global_zero:
        print(f"data: {setup.dataset.source}")  # the files actually read (also in provenance.json)
    model, optimizer = fabric.setup(setup.method, optimizer)

    # 3. the data, on the training device once
    images = setup.dataset.train.images.to(fabric.device)
    labels = setup.dataset.train.content.to(fabric.device)
    augmenter = setup.augmenter.to(fabric.device)
    local_crops = augmenter.local if augmenter.local_crops is not None else None
    images_per_step = t.batch_size * world
    steps_per_epoch = len(images) // images_per_step
    if steps_per_epoch == 0:
        raise ConfigError(f"config value train.batch_size={t.batch_size} is larger than the training split "
                          f"({len(images)} images over {world} process(es)); lower it")
    total_steps = steps_per_epoch * t.epochs
    if saved_images_per_step != images_per_step:
        # resumed with another world size (or batch size): the step of this run that has seen as many images;
        # the remainder (< batch_size x world_size images) is re-drawn, so the run is no longer exact
        state["step"] = min(state["images_seen"] // images_per_step, total_steps)
        state["epoch"] = state["step"] // steps_per_epoch
    if resume:
        extended = extension(state, saved_epochs, config, total_steps, steps_per_epoch, run_dir)
        if fabric.is_global_zero and (changes or extended):
            record_resume(run_dir, changes or {}, extended)
    elif fabric.is_global_zero:  # only now: a start refused above leaves nothing behind
        write_run_header(run_dir, config, setup.dataset.source, network_classes(setup.method))

    # 4. the loop, logged to train_history.json (with the checkpoints) and the run's loggers (rank 0)
    log = TermLog(fabric.device, state["running"], t.log_every)
    loggers = run_loggers.make_loggers(t.loggers, run_dir) if fabric.is_global_zero else []
    checkpoints = GoodCheckpoints(run_dir, run_dir / HISTORY, state["step"] if resume else None, fabric.is_global_zero)
    bar = tqdm(total=total_steps, initial=state["step"], desc=f"{config.method.name} on {config.data.name}",
               disable=not (progress and fabric.is_global_zero), dynamic_ncols=True)
    started = time.perf_counter() - state["wall_time"]
    model.train()
    try:
        while state["step"] < total_steps and not state["finished"]:
            epoch = state["step"] // steps_per_epoch
            for index in batch_indices(len(images), t.batch_size, epoch, t.seed, world, rank)[state["step"] % steps_per_epoch:]:
                set_lr(optimizer, lr_at(state["step"], total_steps, steps_per_epoch, t))
                setup.method.on_step_start(state["step"], total_steps)
                terms = compiled.run(lambda: loop_step(fabric, model, optimizer, augmenter, images, labels, index,  # noqa: B023
                                                       local_crops))
                log.add(terms, state["step"] + 1)
                step = state["step"] = state["step"] + 1
                state["images_seen"] += images_per_step
                state["epoch"] = step // steps_per_epoch
                state["wall_time"] = time.perf_counter() - started
                at_log = step % t.log_every == 0 or step == total_steps
                at_save = step % t.checkpoint_every == 0 or step % steps_per_epoch == 0
                at_limit = max_steps is not None and step >= max_steps
                # one process checks the signal flag every step; several agree on it where they sync anyway
                stop = signals.requested if world == 1 else (reduce_flag(fabric, signals.requested) if at_log else None)
                if at_log or at_save or at_limit or stop:
                    state["running"] = log.flush(checkpoints, config, epoch)
                    if at_log:
                        point = log.point(step, steps_per_epoch, (step - 1) % t.log_every + 1)
                        state["history"].append(point)
                        run_loggers.log_metrics(loggers, {**{f"train/{k}": v for k, v in point.items() if k != "step"},
                                                          "train/lr": lr_at(step - 1, total_steps, steps_per_epoch, t)}, step)
                        state["running"] = {}
                        bar.set_postfix({k: f"{v:.3g}" for k, v in point.items() if k not in ("step", "epoch")}, refresh=False)
                bar.update(1)
                if on_epoch_end is not None and step % steps_per_epoch == 0 and fabric.is_global_zero:
                    if lock is not None:
                        lock.check()  # the probes write into the run directory
                    started += on_epoch_end(step // steps_per_epoch, setup)
                if at_save or at_limit or stop:
                    save(fabric, run_dir, setup, optimizer, config, state, lock)
                    checkpoints.saved(step)
                if stop:
                    raise interrupted(stop, step, run_dir)
                if at_limit:
                    return state
        save(fabric, run_dir, setup, optimizer, config, {**state, "finished": True}, lock)
        state["finished"] = True
        return state
    except DiskFull as full:  # a checkpoint or a log: what "the same command" is for a run is resuming its checkpoint
        resumable = (run_dir / CHECKPOINT).is_file()
        then = f"continue with `simvae train --resume {run_dir}`" if resumable else "train again"
        raise DiskFull(full.device, full.path, full.kept, then) from None
    finally:
        bar.close()
        run_loggers.close(loggers)
