"""`simvae bench`: training throughput of the full loop and of the model step alone, against the matmul peak.

For every requested method x backbone x precision it times, on one device:
- the full loop: what `simvae train` does per step (loop.loop_step: index the in-memory batch, augment
  it into J views on the device, forward, backward, optimiser step), the terms read back at the end;
- the model step alone: loop.train_step on views made beforehand (no indexing, no augmentation).
Throughput is in views per second (one view = one sample through the networks; a step has
batch_size x J of them). The ratio full / model says how much the data path costs (1.0 = nothing).

Each row runs in a math mode: its autocast dtype, or for float32 rows TF32 or strict float32 (CUDA, `--tf32
on,off`; the CPU has no TF32). The same run measures the device's matmul peak in each math mode used (a large
square matmul), and every row is also given as a fraction of the peak *of its own mode* (the model's FLOPs
per view counted by torch.utils.flop_counter.FlopCounterMode on one training step, forward + backward). A
fraction near 1 is unreachable for small networks; it says how far from compute-bound a configuration is. A
row that computes faster than the measured peak (cuDNN's TF32 or Winograd kernels, a square matmul that is not
the device's best shape) raises its mode's peak to its own rate, and the table says so: no row reads above 100%.

Every row also counts the aten operators of one full step and of one augmentation call (torch.profiler,
`simvae.experiments.step_ops`): kernel launches, a figure that does not depend on the machine; the step
again with each multi-tensor operator (the optimiser's) counted once, as CUDA launches it, rather than with
the per-tensor loop its CPU implementation runs. With
`references`, the plain-torch programs of ../shared/bench run in the same call and each row is given as a
ratio to the matching one (`simvae.experiments.references`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from simvae.config import PRECISION_DTYPES, load_config
from simvae.data import Dataset, load_dataset
from simvae.errors import ConfigError
from simvae.experiments.references import reference_for, run_references
from simvae.experiments.step_ops import step_ops
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
from simvae.training.speed import math_mode, set_tf32, use_channels_last

MODE_DTYPES = {"float32": torch.float32, "tfloat32": torch.float32, "bfloat16": torch.bfloat16,
               "float16": torch.float16, "float64": torch.float64}

DEFAULT_PRECISIONS = ("32-true", "bf16-mixed")
COLUMNS = ("method", "backbone", "precision", "math", "views/step", "full views/s", "model views/s", "full/model",
           "ops/step", "ops/step (multi-tensor as 1)", "ops/augment", "GFLOP/view", "model GFLOP/s", "model % peak",
           "full % peak", "full/reference")


@dataclass
class BenchRow:
    method: str
    data: str
    backbone: str
    precision: str
    math_mode: str  # float32, tfloat32, bfloat16, ...: what the matmuls compute in, and whose peak is used
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
    ops_per_step: int  # aten operators of one full step (nested calls included)
    ops_per_augment: int  # of one augmentation call
    ops_in_multi_tensor_loops: int = 0  # of the step's, those the CPU loops of multi-tensor operators run (CUDA: 0)
    reference: str | None = None  # the plain-torch reference figure compared with, if run
    full_over_reference: float | None = None

    def cells(self) -> list[str]:
        ratio = "-" if self.full_over_reference is None else f"{self.full_over_reference:.2f} ({self.reference})"
        return [self.method, self.backbone, self.precision, self.math_mode, str(self.batch_size * self.views),
                f"{self.full_views_per_s:,.0f}", f"{self.model_views_per_s:,.0f}", f"{self.full_over_model:.2f}",
                str(self.ops_per_step), str(self.ops_per_step - self.ops_in_multi_tensor_loops), str(self.ops_per_augment),
                f"{self.gflop_per_view:.4f}", f"{self.model_gflops:,.1f}", f"{100 * self.model_fraction_of_peak:.1f}",
                f"{100 * self.full_fraction_of_peak:.1f}", ratio]


def resolve_accelerator(accelerator: str) -> str:
    if accelerator == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return accelerator


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device | str, mode: str, size: int | None = None, min_seconds: float = 0.3) -> float:
    """GFLOP/s of (size x size) @ (size x size) in math `mode` on `device` (2 size^3 FLOPs each), best of the timed
    rounds; TF32 is switched on for "tfloat32" and off for "float32" while it runs."""
    device = torch.device(device)
    dtype = MODE_DTYPES[mode]
    set_tf32(mode == "tfloat32", device)
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
    """Seconds per call of `step`; the terms are read back once at the end, as the training loop reads them
    once every train.log_every steps (a step itself never waits for the device)."""
    for _ in range(warmup):
        step()
    _synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        terms = step()
    torch.stack(list(terms.values())).tolist()
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
    tf32: Sequence[bool] = (True,),
    references: str | None = None,
    overrides: Sequence[str] = (),
    dataset: Dataset | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time every method x backbone x precision; returns {"machine", "device", "peak_gflops", "rows", ...}.

    `batch_size` is images per step (each gives `views` views); `steps` timed steps follow `warmup`
    untimed ones, for the full loop and for the model step alone. `tf32` lists the train.tf32 settings to
    run float32 rows in (they differ on CUDA only); `references` is the directory of the plain-torch
    reference programs to run too. `overrides` are extra config overrides (e.g. method.head_dim=64);
    `dataset` skips loading the data (tests).
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
    # one row per precision and math mode: TF32 on/off differ only for float32 rows on CUDA
    modes: dict[tuple[str, str], bool] = {}
    for precision in precisions:
        for flag in tf32:
            modes.setdefault((precision, math_mode(precision, flag, device)), flag)
    settings = [(precision, flag, mode) for (precision, mode), flag in modes.items()]
    peaks = {}
    for mode in dict.fromkeys(mode for _, _, mode in settings):
        say(f"matmul peak {mode}")
        peaks[mode] = matmul_peak(device, mode, peak_size)
    refs = run_references(references, batch_size) if references else []

    images = dataset.train.images.to(device)
    labels = dataset.train.content.to(device)
    rows = [row for method in methods for backbone in backbones
            for row in _rows(method, backbone, settings, base, overrides, dataset, images, labels, device, peaks,
                             refs, steps, warmup, say)]
    measured = peaks
    rows, peaks = raise_peaks_to_rows(rows, measured)
    return {
        "machine": machine(),
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "data": dataset.name,
        "steps": steps,
        "warmup": warmup,
        "peak_gflops": peaks,
        "matmul_peak_gflops": measured,  # before raising a peak to a row that beat it (raise_peaks_to_rows)
        "references": refs,
        "rows": [asdict(row) for row in rows],
        "columns": list(COLUMNS),
        "table": format_table(rows, peaks, machine(), str(device), refs, measured),
    }


def _rows(method: str, backbone: str, settings: list[tuple[str, bool, str]], base: list[str], overrides: Sequence[str],
          dataset: Dataset, images: torch.Tensor, labels: torch.Tensor, device: torch.device, peaks: dict[str, float],
          refs: list[dict[str, Any]], steps: int, warmup: int, say: Callable[[str], None]) -> list[BenchRow]:
    """The rows of one method x backbone, one per (precision, TF32) setting."""
    rows: list[BenchRow] = []
    gflop_per_view = None
    for precision, tf32, mode in settings:
        say(f"{method} / {backbone} / {precision} / {mode}")
        config = load_config(overrides=[*base, f"method.name={method}", f"net.backbone={backbone}",
                                        f"train.precision={precision}", f"train.tf32={tf32}", *overrides])
        set_tf32(tf32, device)
        ops = step_ops(config, dataset)
        fabric = make_fabric(config)
        fabric.seed_everything(config.train.seed, workers=False, verbose=False)
        setup = build(config, dataset)
        use_channels_last(setup.method, device)
        optimizer = make_optimizer(setup.method, config, device)
        model, optimizer = fabric.setup(setup.method, optimizer)
        model.train()
        augmenter = setup.augmenter.to(device)
        batches = batch_indices(len(images), config.train.batch_size, 0, config.train.seed, 1, 0)
        n_batches = len(batches)
        made = augmenter(images[batches[0].to(device)])  # the model-only step's pre-made views
        made_labels = labels[batches[0].to(device)]
        if gflop_per_view is None:  # FLOPs do not depend on the precision
            gflop_per_view = _flops_per_view(fabric, model, optimizer, made, made_labels) / 1e9
        counter = iter(range(10**12))
        full = _time(lambda: loop_step(fabric, model, optimizer, augmenter, images, labels,  # noqa: B023
                                       batches[next(counter) % n_batches]), steps, warmup, device)  # noqa: B023
        only = _time(lambda: train_step(fabric, model, optimizer, made, made_labels), steps, warmup, device)  # noqa: B023
        per_step = config.train.batch_size * config.augment.views
        full_rate, model_rate, peak = per_step / full, per_step / only, peaks[mode]
        reference = reference_for(setup.spec.backbone, mode, refs)
        rows.append(BenchRow(
            method=method, data=dataset.name, backbone=setup.spec.backbone, precision=precision, math_mode=mode,
            batch_size=config.train.batch_size, views=config.augment.views, full_views_per_s=full_rate,
            model_views_per_s=model_rate, full_over_model=full_rate / model_rate, gflop_per_view=gflop_per_view,
            model_gflops=gflop_per_view * model_rate, full_gflops=gflop_per_view * full_rate, peak_gflops=peak,
            model_fraction_of_peak=gflop_per_view * model_rate / peak, full_fraction_of_peak=gflop_per_view * full_rate / peak,
            ops_per_step=ops["full_step"], ops_per_augment=ops["augment"], ops_in_multi_tensor_loops=ops["multi_tensor_loops"],
            reference=f"{reference['program']} {reference['setting']}" if reference else None,
            full_over_reference=full_rate / reference["views_per_s"] if reference else None,
        ))
    return rows


def raise_peaks_to_rows(rows: Sequence[BenchRow], peaks: dict[str, float]) -> tuple[list[BenchRow], dict[str, float]]:
    """Where a row computes faster than its mode's measured matmul peak, the square matmul under-measured the device
    (or the row's FLOPs are nominal, e.g. cuDNN's Winograd convolutions): that mode's peak becomes the best row's
    rate, so no row reads above 100%. Returns the rows and the peaks they are measured against."""
    used = dict(peaks)
    for row in rows:
        used[row.math_mode] = max(used[row.math_mode], row.model_gflops, row.full_gflops)
    rows = [replace(row, peak_gflops=used[row.math_mode], model_fraction_of_peak=row.model_gflops / used[row.math_mode],
                    full_fraction_of_peak=row.full_gflops / used[row.math_mode]) for row in rows]
    return rows, used


def format_table(rows: Sequence[BenchRow], peaks: dict[str, float], machine_text: str, device: str,
                 refs: Sequence[dict[str, Any]] = (), measured: dict[str, float] | None = None) -> str:
    """A Markdown table of the rows, headed by the machine and the peaks (saying which were raised to a row's rate),
    followed by the references run."""
    measured = measured or peaks

    def peak_text(mode: str) -> str:
        raised = f" (the best row's; the matmul measured {measured[mode]:,.1f})" if peaks[mode] > measured[mode] else ""
        return f"{mode} {peaks[mode]:,.1f} GFLOP/s{raised}"

    lines = [f"machine: {machine_text}; device: {device}", "peak: " + ", ".join(peak_text(mode) for mode in peaks), ""]
    lines += markdown_table(COLUMNS, [row.cells() for row in rows])
    if refs:
        lines += ["", "plain-torch references (same device, same batch):", ""]
        lines += markdown_table(("program", "setting", "views/s"), [
            [ref["program"], ref.get("setting", "-"),
             f"{ref['views_per_s']:,.0f}" if "views_per_s" in ref else f"did not run: {ref['error']}"] for ref in refs])
    return "\n".join(lines)
