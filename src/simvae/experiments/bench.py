"""`simvae bench`: training throughput of the full loop and of the model step alone, against the matmul peak.

For every requested method x backbone x precision it times, on one device:
- the full loop: what `simvae train` does per step (loop.loop_step: index the in-memory batch, augment
  it into J views on the device, forward, backward, optimiser step) plus reading the terms back;
- the model step alone: loop.train_step on views made beforehand (no indexing, no augmentation).
Throughput is in views per second (one view = one sample through the networks; a step has
batch_size x J of them). The ratio full / model says how much the data path costs (1.0 = nothing).

The same run measures the device's matmul peak (GFLOP/s of a large square matmul in float32 and in
bfloat16), and every row is also given as a fraction of it, with the model's FLOPs per view counted
by torch.utils.flop_counter.FlopCounterMode on one training step (forward + backward; optimiser and
augmentation not counted). A fraction of peak near 1 is unreachable for small networks; it says how
far from compute-bound a configuration is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from simvae.config import PRECISION_DTYPES, load_config
from simvae.data import Dataset, load_dataset
from simvae.errors import ConfigError
from simvae.methods import METHODS
from simvae.output import markdown_table
from simvae.runs import build
from simvae.runs.rundir import machine
from simvae.training.loop import (
    batch_indices,
    loop_step,
    make_fabric,
    make_optimizer,
    train_step,
)

DEFAULT_PRECISIONS = ("32-true", "bf16-mixed")
COLUMNS = ("method", "backbone", "precision", "views/step", "full views/s", "model views/s", "full/model",
           "GFLOP/view", "model GFLOP/s", "model % peak", "full % peak")


@dataclass
class BenchRow:
    method: str
    data: str
    backbone: str
    precision: str
    batch_size: int  # images per step
    views: int  # J
    full_views_per_s: float
    model_views_per_s: float
    full_over_model: float
    gflop_per_view: float
    model_gflops: float
    full_gflops: float
    peak_gflops: float  # the matmul peak of this precision's compute dtype
    model_fraction_of_peak: float
    full_fraction_of_peak: float

    def cells(self) -> list[str]:
        return [self.method, self.backbone, self.precision, str(self.batch_size * self.views),
                f"{self.full_views_per_s:,.0f}", f"{self.model_views_per_s:,.0f}", f"{self.full_over_model:.2f}",
                f"{self.gflop_per_view:.4f}", f"{self.model_gflops:,.1f}", f"{100 * self.model_fraction_of_peak:.1f}",
                f"{100 * self.full_fraction_of_peak:.1f}"]


def resolve_accelerator(accelerator: str) -> str:
    if accelerator == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return accelerator


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device | str, dtype: torch.dtype, size: int | None = None, min_seconds: float = 0.3) -> float:
    """GFLOP/s of (size x size) @ (size x size) in `dtype` on `device` (2 size^3 FLOPs each), best of the timed rounds."""
    device = torch.device(device)
    size = size or (8192 if device.type == "cuda" else 1024)
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    flops = 2.0 * size**3
    torch.mm(a, b)  # warm-up (kernel selection, thread pool)
    _synchronize(device)
    best, spent, rounds = float("inf"), 0.0, 0
    while rounds == 0 or (spent < min_seconds and rounds < 50):  # a slow dtype (e.g. emulated bf16) gets one round
        start = time.perf_counter()
        torch.mm(a, b)
        _synchronize(device)
        elapsed = time.perf_counter() - start
        best, spent, rounds = min(best, elapsed), spent + elapsed, rounds + 1
    return flops / best / 1e9


def _time(step: Callable[[], dict[str, torch.Tensor]], steps: int, warmup: int, device: torch.device) -> float:
    """Seconds per call of `step`, reading its terms back each time as the training loop does."""
    for _ in range(warmup):
        [value.item() for value in step().values()]
    _synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        [value.item() for value in step().values()]
    _synchronize(device)
    return (time.perf_counter() - start) / steps


def _flops_per_view(fabric, model, optimizer, views: torch.Tensor, labels: torch.Tensor) -> float:
    with FlopCounterMode(display=False) as counter:
        train_step(fabric, model, optimizer, views, labels)
    return counter.get_total_flops() / (views.shape[0] * views.shape[1])


def bench(
    methods: Sequence[str],
    backbones: Sequence[str] = ("auto",),
    data: str = "shapes",
    batch_size: int = 64,
    views: int = 2,
    steps: int = 20,
    precisions: Sequence[str] = DEFAULT_PRECISIONS,
    accelerator: str = "auto",
    warmup: int = 3,
    root: str | None = None,
    peak_size: int | None = None,
    overrides: Sequence[str] = (),
    dataset: Dataset | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time every method x backbone x precision; returns {"machine", "device", "peak_gflops", "rows", ...}.

    `batch_size` is images per step (each gives `views` views); `steps` timed steps follow `warmup`
    untimed ones, for the full loop and for the model step alone. `overrides` are extra config
    overrides (e.g. method.head_dim=64); `dataset` skips loading the data (tests).
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"unknown method(s) {unknown}; available: {sorted(METHODS)}")
    bad = [p for p in precisions if p not in PRECISION_DTYPES]
    if bad:
        raise ConfigError(f"unknown precision(s) {bad}; expected some of {sorted(PRECISION_DTYPES)}")
    if steps < 1 or warmup < 0:
        raise ConfigError(f"--steps must be >= 1 and warmup >= 0, got {steps} and {warmup}")
    accelerator = resolve_accelerator(accelerator)
    say = progress or (lambda _message: None)
    base = [f"data.name={data}", f"train.batch_size={batch_size}", f"augment.views={views}",
            f"train.accelerator={accelerator}", "train.devices=1", "train.strategy=auto", *([f"data.root={root}"] if root else [])]
    if dataset is None:
        first = load_config(overrides=[*base, f"method.name={methods[0]}", *overrides])
        dataset = load_dataset(data, first.data.root, first.data.val_fraction, first.data.split_seed)
    if len(dataset.train) < batch_size:
        raise ConfigError(f"--batch-size {batch_size} is larger than {data}'s training split ({len(dataset.train)} images)")

    device = make_fabric(load_config(overrides=[*base, *overrides])).device
    peak_dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16}
    peak_dtypes.update({str(PRECISION_DTYPES[p]).removeprefix("torch."): PRECISION_DTYPES[p] for p in precisions})
    peaks = {}
    for name, dtype in peak_dtypes.items():
        say(f"matmul peak {name}")
        peaks[name] = matmul_peak(device, dtype, peak_size)

    images = dataset.train.images.to(device)
    labels = dataset.train.content.to(device)
    n_batches = len(images) // batch_size
    rows: list[BenchRow] = []
    for method in methods:
        for backbone in backbones:
            gflop_per_view = None
            for precision in precisions:
                say(f"{method} / {backbone} / {precision}")
                config = load_config(overrides=[*base, f"method.name={method}", f"net.backbone={backbone}",
                                                f"train.precision={precision}", *overrides])
                fabric = make_fabric(config)
                fabric.seed_everything(config.train.seed, workers=False, verbose=False)
                setup = build(config, dataset)
                optimizer = make_optimizer(setup.method, config, device)
                model, optimizer = fabric.setup(setup.method, optimizer)
                model.train()
                augmenter = setup.augmenter.to(device)
                batches = batch_indices(len(images), batch_size, 0, config.train.seed, 1, 0)
                made = augmenter(images[batches[0].to(device)])  # the model-only step's pre-made views
                made_labels = labels[batches[0].to(device)]
                if gflop_per_view is None:  # FLOPs do not depend on the precision
                    gflop_per_view = _flops_per_view(fabric, model, optimizer, made, made_labels) / 1e9
                counter = iter(range(10**12))

                def full_step():
                    return loop_step(fabric, model, optimizer, augmenter, images, labels, batches[next(counter) % n_batches])

                def model_step():
                    return train_step(fabric, model, optimizer, made, made_labels)

                full = _time(full_step, steps, warmup, device)
                only = _time(model_step, steps, warmup, device)
                per_step = batch_size * views
                full_rate, model_rate = per_step / full, per_step / only
                peak = peaks[str(PRECISION_DTYPES[precision]).removeprefix("torch.")]
                rows.append(BenchRow(
                    method=method, data=dataset.name, backbone=setup.spec.backbone, precision=precision,
                    batch_size=batch_size, views=views, full_views_per_s=full_rate, model_views_per_s=model_rate,
                    full_over_model=full_rate / model_rate, gflop_per_view=gflop_per_view,
                    model_gflops=gflop_per_view * model_rate, full_gflops=gflop_per_view * full_rate, peak_gflops=peak,
                    model_fraction_of_peak=gflop_per_view * model_rate / peak,
                    full_fraction_of_peak=gflop_per_view * full_rate / peak,
                ))
    return {
        "machine": machine(),
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "data": dataset.name,
        "steps": steps,
        "warmup": warmup,
        "peak_gflops": peaks,
        "rows": [asdict(row) for row in rows],
        "columns": list(COLUMNS),
        "table": format_table(rows, peaks, machine(), str(device)),
    }


def format_table(rows: Sequence[BenchRow], peaks: dict[str, float], machine_text: str, device: str) -> str:
    """A Markdown table of the rows, headed by the machine and the matmul peaks."""
    lines = [f"machine: {machine_text}; device: {device}",
             "matmul peak: " + ", ".join(f"{name} {value:,.1f} GFLOP/s" for name, value in peaks.items()), ""]
    return "\n".join(lines + markdown_table(COLUMNS, [row.cells() for row in rows]))
