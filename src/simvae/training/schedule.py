"""Learning-rate schedules (`train.schedule`, `train.warmup_epochs`) as pure functions of the optimiser step.

Nothing is stateful: the rate of step s is computed from s, the run's total steps and the config, and set before
every optimiser step. So a resumed run takes exactly the rates the uninterrupted run took, and a run extended to
more epochs (`--resume RUN train.epochs=N`) re-derives its schedule for the new total from where it stands.

* constant: train.lr at every step;
* warmup-cosine: linear warm-up over the first round(warmup_epochs x steps_per_epoch) steps, from train.lr / W at
  the first step to train.lr at step W, then a half cosine from train.lr down towards 0 at the last step (solo-learn's
  and lightly's shape). With warmup_epochs > 0 the constant schedule warms up the same way.
"""

from __future__ import annotations

import math

from simvae.config import TrainConfig

SCHEDULES = ("constant", "warmup-cosine")


def warmup_steps(warmup_epochs: float, steps_per_epoch: int) -> int:
    return round(warmup_epochs * steps_per_epoch)


def lr_factor(step: int, total_steps: int, warmup: int, schedule: str) -> float:
    """The multiple of train.lr that optimiser step `step` takes (0-based) in a run of `total_steps` steps whose
    first `warmup` steps warm up."""
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    if schedule == "warmup-cosine":
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * progress))
    raise ValueError(f"unknown schedule {schedule!r}; expected one of {SCHEDULES}")


def lr_at(step: int, total_steps: int, steps_per_epoch: int, train: TrainConfig) -> float:
    """The learning rate of optimiser step `step` (0-based) of a run of `total_steps` steps, `steps_per_epoch` of
    them an epoch, under `train.schedule` and `train.warmup_epochs`."""
    warmup = warmup_steps(train.warmup_epochs, steps_per_epoch)
    return train.lr * lr_factor(step, total_steps, warmup, train.schedule)
