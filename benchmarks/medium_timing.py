"""CPU seconds of the medium budget's pieces, one torch thread: a training step, a curve probe, a final evaluation.

CPU time (not wall time) is measured because the machine may be shared: with one thread per run, a run's
CPU time is what it costs on an idle core, and `simvae reproduce --budget medium --jobs 2` on 2 idle cores
takes about the grid's total CPU time / 2 (README, "The medium budget"). A step's cost is the difference
of two resumed runs (5 and 5 + --steps steps), which cancels their set-up (data loading).

    python benchmarks/medium_timing.py --out /tmp/medium-timing          # simvae and simclr, canvas and shapes
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

from simvae.config import load_config
from simvae.evaluation.curves import CurveProbe
from simvae.evaluation.run import evaluate_run
from simvae.runs import load_trained
from simvae.training import train

MEDIUM_EVAL = {"all_representations": True, "max_train": 10000}


def cpu_seconds(work) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def step_cost(config, run: Path, steps: int) -> float:
    """CPU seconds per training step."""
    train(config, run, max_steps=3, progress=False)  # warm-up
    shutil.copy(run / "checkpoint.pt", run / "start.pt")
    costs = []
    for extra in (5, 5 + steps):
        shutil.copy(run / "start.pt", run / "checkpoint.pt")
        costs.append(cpu_seconds(lambda extra=extra: train(config, run, resume=True, max_steps=3 + extra, progress=False)))
    return (costs[1] - costs[0]) / steps


def measure(data: str, method: str, run: Path, steps: int) -> str:
    shutil.rmtree(run, ignore_errors=True)
    config = load_config(overrides=[f"data.name={data}", "data.limit_train=20000", f"method.name={method}",
                                    "train.epochs=1", "train.threads=1", "train.eval_every=1"])
    per_step = step_cost(config, run, steps)
    config, setup = load_trained(run, "cpu", {"eval": MEDIUM_EVAL})
    curve = cpu_seconds(lambda: CurveProbe(config, run)(1, setup))
    final = cpu_seconds(lambda: evaluate_run(run, progress=False, overrides={"eval": MEDIUM_EVAL}))
    return f"{data:<22} {method:<7} {per_step:.3f} cpu-s/step, curve probe {curve:.0f} cpu-s, final evaluation {final:.0f} cpu-s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="scratch directory for the runs")
    parser.add_argument("--steps", type=int, default=30, help="timed training steps")
    args = parser.parse_args()
    torch.set_num_threads(1)
    threadpool_limits(1)
    for data in ("fashion-mnist-canvas", "shapes"):
        for method in ("simvae", "simclr"):
            print(measure(data, method, Path(args.out) / f"{data}-{method}", args.steps), flush=True)


if __name__ == "__main__":
    main()
