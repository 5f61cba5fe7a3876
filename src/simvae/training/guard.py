"""What watches a training run without slowing it: the loss terms kept on the device and checked for
NaN/Inf when read (`TermLog`), the checkpoint a NaN can be continued from (`GoodCheckpoints`), and
SIGTERM/SIGINT turned into a checkpoint at the current step (`StopSignals`)."""

from __future__ import annotations

import math
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import torch
import torch.distributed as dist
from lightning_fabric import Fabric

from simvae.config import RunConfig
from simvae.errors import TrainingDiverged, TrainingInterrupted
from simvae.output import write_json
from simvae.runs.checkpoint import CHECKPOINT, restore_previous


class TermLog:
    """The loss terms of every step since they were last read, kept on the training device: adding a step's
    terms stacks them into one row of a preallocated window (one kernel, never a wait). `flush` reads the
    window in one transfer, checks every step's loss (the first non-finite one stops the run, named) and
    adds the rows, in step order, to the running sums of the current loss-curve window."""

    def __init__(self, device: torch.device, running: dict[str, float], capacity: int) -> None:
        self.device = device
        self.capacity = capacity  # rows between reads (train.log_every); the window doubles if more come
        self.names: list[str] = []
        self.window: torch.Tensor | None = None
        self.steps: list[int] = []  # the step of each filled row
        self.read: dict[str, float] = dict(running)

    def add(self, terms: dict[str, torch.Tensor], step: int) -> None:
        values = list(terms.values())
        if self.window is None:
            self.names = list(terms)
            self.window = torch.empty(self.capacity, len(values), dtype=values[0].dtype, device=self.device)
        if len(self.steps) == len(self.window):
            self.window = torch.cat([self.window, torch.empty_like(self.window)])
        # a row of (1,) views is torch.stack's result in fewer operators (stack unsqueezes each term: two per term)
        torch.cat([value.view(1) for value in values], out=self.window[len(self.steps)])
        self.steps.append(step)

    def flush(self, checkpoints: GoodCheckpoints, config: RunConfig, epoch: int) -> dict[str, float]:
        """The running sums as floats (one device-to-host copy); raises TrainingDiverged if a loss was not finite."""
        if self.window is None or not self.steps:
            return dict(self.read)
        rows = self.window[: len(self.steps)].tolist()
        loss = self.names.index("loss")
        for step, row in zip(self.steps, rows):
            if not math.isfinite(row[loss]):
                raise TrainingDiverged(diverged_message(step, epoch, dict(zip(self.names, row)), checkpoints.path,
                                                        checkpoints.usable(step), config))
        sums = [self.read.get(name, 0.0) for name in self.names]
        for row in rows:
            sums = [total + value for total, value in zip(sums, row)]
        self.read, self.steps = dict(zip(self.names, sums)), []
        return dict(self.read)

    def point(self, step: int, steps_per_epoch: int, count: int) -> dict[str, float]:
        """The loss-curve point of the last `count` steps (call right after `flush`); starts a new window."""
        point = {"step": step, "epoch": step / steps_per_epoch, **{k: v / count for k, v in self.read.items()}}
        self.read = {}
        return point


class GoodCheckpoints:
    """The step of the run's checkpoint, and which checkpoint the NaN advice can continue from.

    A checkpoint is written once the losses up to its step were finite, but its weights may still give a
    non-finite loss on the next step: resuming there fails again whatever the learning rate. Then the one
    before it (kept as PREVIOUS) is made the checkpoint again, with its loss curve.
    """

    def __init__(self, run_dir: Path, history: Path, latest: int | None, writer: bool) -> None:
        self.path, self.history, self.latest, self.writer = run_dir / CHECKPOINT, history, latest, writer

    def saved(self, step: int) -> None:
        self.latest = step

    def usable(self, first_bad: int) -> int | None:
        """The step of a checkpoint whose next step had a finite loss (None if none), restored if need be."""
        if self.latest is None or self.latest < first_bad - 1:
            return self.latest
        previous = restore_previous(self.path.parent) if self.writer else None
        if previous is None:
            return None
        write_json(self.history, previous["history"])
        return previous["step"]


def diverged_message(step: int, epoch: int, terms: dict[str, float], checkpoint: Path, last_good: int | None,
                     config: RunConfig) -> str:
    shown = ", ".join(f"{k}={v:.4g}" for k, v in terms.items())
    lower = f"{config.train.lr / 10:g}"
    if last_good is not None:
        advice = (f"the last good checkpoint {checkpoint} (step {last_good}) is kept: continue it with a lower "
                  f"learning rate, `simvae train --resume {checkpoint.parent} train.lr={lower}`")
    else:
        advice = (f"no checkpoint before step {step - 1} was kept: train again into a new --out with a lower "
                  f"learning rate, e.g. train.lr={lower}")
    return (f"loss is not finite at step {step} (epoch {epoch}): {shown}; {advice}. Other likely fixes: "
            "precision 32-true, a larger method.log_var_x for a Gaussian likelihood or a smaller method.recon_weight, "
            "and data without NaN or wrongly scaled pixels.")


class StopSignals:
    """While active (in the main thread), SIGTERM and SIGINT only set `requested`: the loop then checkpoints the
    step it is on and stops, instead of dying mid-step and losing up to `checkpoint_every` steps. A second
    SIGINT interrupts at once (the checkpoint being written, if any, stays atomic)."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested: int | None = None
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self.previous = {number: signal.signal(number, self._handle) for number in self.SIGNALS}
        return self

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.requested == signal.SIGINT and number == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = number

    def __exit__(self, *exc: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)


def reduce_flag(fabric: Fabric, requested: int | None) -> int | None:
    """The largest signal number any rank received (None if none): every rank then stops at the same step."""
    flag = torch.tensor(requested or 0, device=fabric.device)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return int(flag.item()) or None


def interrupted(number: int, step: int, run_dir: Path) -> TrainingInterrupted:
    name = signal.Signals(number).name
    return TrainingInterrupted(f"stopped by {name} at step {step}; the checkpoint {run_dir / CHECKPOINT} holds it: "
                               f"continue with `simvae train --resume {run_dir}`", number)
