"""Independent runs, one after the other or as parallel processes (`simvae reproduce --jobs N`).

With N > 1, each run trains and is evaluated in its own process ("spawn": a fresh interpreter, no state
shared with the parent) with one torch thread (`train.threads=1`, an execution setting that is not part of
a run's identity) and one thread for scikit-learn's native libraries, so N runs share N cores without
oversubscribing them. Workers draw no progress bars; the parent prints one line per finished run. Finished
runs are skipped before any process starts, and interrupted ones resume, exactly as with one job. A failing (or
interrupted) run stops the others from starting (those running finish) and its error is raised in the parent.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

from simvae.config import RunConfig, config_from_dict, merge
from simvae.errors import ConfigError
from simvae.experiments.compare import finished_metrics, run_one


@dataclass(frozen=True)
class Job:
    label: str  # how the progress lines name it, e.g. "shapes/simclr/seed2"
    config: RunConfig
    run_dir: Path


def single_threaded(config: RunConfig) -> RunConfig:
    return config_from_dict(merge(config.to_dict(), {"train": {"threads": 1}}))


def limit_threads() -> None:
    """Each worker's initialiser: one thread for torch and for the BLAS/OpenMP pools scikit-learn uses."""
    torch.set_num_threads(1)
    threadpool_limits(1)


def run_quietly(config: dict, run_dir: Path) -> float:
    """A worker's task: train (or resume) and evaluate one run without progress bars; returns its seconds."""
    started = time.perf_counter()
    run_one(config_from_dict(config), run_dir, progress=False)
    return time.perf_counter() - started


def run_jobs(jobs: list[Job], n_jobs: int = 1, progress: bool = True) -> None:
    """Run every job not finished yet, `n_jobs` at a time (1: in this process, with progress bars)."""
    if n_jobs < 1:
        raise ConfigError(f"--jobs {n_jobs} is invalid: give the number of runs to train at a time, 1 or more")
    todo = [job for job in jobs if finished_metrics(job.config, job.run_dir) is None]
    print(f"{len(jobs) - len(todo)} of {len(jobs)} runs already done; {len(todo)} to run, {n_jobs} at a time", flush=True)
    if n_jobs == 1:
        for index, job in enumerate(todo, 1):
            print(f"[{index}/{len(todo)}] {job.label}", flush=True)
            run_one(job.config, job.run_dir, progress)
        return
    context = multiprocessing.get_context("spawn")
    workers = min(n_jobs, max(1, len(todo)))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=limit_threads) as pool:
        # at most `workers` runs are submitted at a time: the pool queues submitted runs ahead of its workers, so
        # submitting all of them would let queued runs start after one failed or was interrupted
        waiting = iter(todo)
        running: dict[Future, Job] = {}

        def submit_next() -> None:
            job = next(waiting, None)
            if job is not None:
                running[pool.submit(run_quietly, single_threaded(job.config).to_dict(), job.run_dir)] = job

        for _ in range(workers):
            submit_next()
        index, label = 0, "a run"
        try:
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:  # a failure raises here, before another run is submitted
                    label = running[future].label
                    future.result()
                for future in done:
                    index += 1
                    print(f"[{index}/{len(todo)}] finished {running.pop(future).label} in {future.result() / 60:.1f} min",
                          flush=True)
                    submit_next()
        except BaseException:
            print(f"[{index}/{len(todo)}] stopped at {label}; waiting for the runs in progress to stop", file=sys.stderr, flush=True)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
