"""Learning curves: cheap probes of a run's intermediate states, one file per evaluated epoch.

With `train.eval_every` = k, the training loop calls `CurveProbe` at the end of every epoch; after every
k-th epoch (and the last) it probes the representation with the linear probe and kNN at the `eval.curve_*`
settings and writes RUN/curve/epoch-003.json. Probing must not change training: it runs with the RNG state
(torch, CUDA, numpy, Python) saved and restored, leaves the model in training mode, and its time is not
counted as training time. The loop calls it before the epoch's checkpoint, so a run killed while probing
probes that epoch again on resume; an epoch whose file exists is not probed again.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from simvae.config import RunConfig
from simvae.evaluation.probes import NeighbourIndex, knn_probe, linear_probe
from simvae.evaluation.embeddings import embed_splits
from simvae.evaluation.run import check_probe_sizes, task_labels
from simvae.output import write_json
from simvae.runs import Setup
from simvae.runs.checkpoint import restore_rng_state, rng_state

CURVE = "curve"
CURVE_PROBES = ("linear", "knn")


def curve_path(run_dir: Path, epoch: int) -> Path:
    return run_dir / CURVE / f"epoch-{epoch:03d}.json"


@contextlib.contextmanager
def preserved_rng() -> Iterator[None]:
    """Whatever runs inside draws from the global generators without moving them for the code around it."""
    saved = rng_state()
    try:
        yield
    finally:
        restore_rng_state(saved)


def probe_representations(setup: Setup, config: RunConfig, device: torch.device) -> dict[str, Any]:
    """{representation: {task: {"linear": test accuracy, "knn": test accuracy}}}, every representation."""
    e = config.eval
    embeddings = embed_splits(setup, e.curve_max_train, device)
    classes = embeddings.num_classes
    check_probe_sizes(e, embeddings.sizes["train"], classes, "curve_max_train", gmm=False)
    measurable, _ = task_labels(embeddings, setup.dataset.name, notes=False)
    results: dict[str, Any] = {}
    for name, codes in embeddings.codes.items():
        neighbours = NeighbourIndex(codes, max(e.knn_k), device)
        results[name] = {}
        for task, labels in measurable.items():
            linear = linear_probe(codes, labels, classes[task], e.linear_C, e.linear_max_iter, device)
            results[name][task] = {"linear": linear["test"], "knn": knn_probe(neighbours, labels, classes[task], e.knn_k)["test"]}
    return results


class CurveProbe:
    """The training loop's epoch-end callback: `(epoch, setup) -> seconds spent probing`."""

    def __init__(self, config: RunConfig, run_dir: Path) -> None:
        self.config, self.run_dir = config, Path(run_dir)

    def due(self, epoch: int) -> bool:
        every = self.config.train.eval_every
        wanted = every is not None and (epoch % every == 0 or epoch == self.config.train.epochs)
        return wanted and not curve_path(self.run_dir, epoch).is_file()

    def __call__(self, epoch: int, setup: Setup) -> float:
        if not self.due(epoch):
            return 0.0
        started = time.perf_counter()
        device = next(setup.method.parameters()).device
        with preserved_rng():
            results = probe_representations(setup, self.config, device)
        setup.method.train()  # embedding switched it to evaluation mode
        e = self.config.eval
        settings = {"max_train": e.curve_max_train, "knn_k": e.knn_k, "linear_C": e.linear_C,
                    "linear_max_iter": e.linear_max_iter}
        seconds = time.perf_counter() - started
        write_json(curve_path(self.run_dir, epoch), {"epoch": epoch, "eval": settings, "seconds": seconds, "results": results})
        return seconds


def curve_hook(config: RunConfig, run_dir: Path) -> CurveProbe | None:
    """The callback for `train(..., on_epoch_end=...)`, or None when the run has no curves (train.eval_every null)."""
    return CurveProbe(config, run_dir) if config.train.eval_every else None


def read_curve(run_dir: Path) -> list[dict[str, Any]]:
    """A run's curve points, by epoch (empty when it has none)."""
    return sorted((json.loads(path.read_text()) for path in (run_dir / CURVE).glob("epoch-*.json")), key=lambda p: p["epoch"])


def curve_summary(run_dirs: list[Path]) -> dict[str, Any]:
    """{representation: {task: {probe: {"epochs", "mean", "std"}}}} over runs (seeds), at the epochs every run has."""
    curves = [{point["epoch"]: point["results"] for point in read_curve(run_dir)} for run_dir in run_dirs]
    epochs = sorted(set.intersection(*(set(curve) for curve in curves))) if curves else []
    if not epochs:
        return {}
    first = curves[0][epochs[0]]
    summary: dict[str, Any] = {}
    for name, tasks in first.items():
        for task in tasks:
            for probe in CURVE_PROBES:
                values = [[curve[epoch][name][task][probe] for curve in curves] for epoch in epochs]
                summary.setdefault(name, {}).setdefault(task, {})[probe] = {
                    "epochs": epochs, "mean": [statistics.fmean(v) for v in values],
                    "std": [statistics.stdev(v) if len(v) > 1 else 0.0 for v in values]}
    return summary

