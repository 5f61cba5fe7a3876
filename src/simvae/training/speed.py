"""Speed settings of a training run (docs/scaling.md, "Speed settings"): TF32 and channels_last on CUDA,
and `train.compile`, with a one-line fallback to eager execution where torch.compile cannot run."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from simvae.config import PRECISION_DTYPES
from simvae.output import write_json
from simvae.runs.checkpoint import restore_rng_state, rng_state
from simvae.runs.rundir import PROVENANCE

T = TypeVar("T")


def set_tf32(enabled: bool, device: torch.device) -> None:
    """On CUDA, float32 matmuls and cuDNN convolutions in TF32 (10-bit mantissa) or in full float32."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = enabled
        torch.backends.cudnn.allow_tf32 = enabled


def math_mode(precision: str, tf32: bool, device: torch.device) -> str:
    """The arithmetic a run's matmuls use: its autocast dtype, or tf32/float32 for float32 runs (TF32 is CUDA only)."""
    dtype = str(PRECISION_DTYPES[precision]).removeprefix("torch.")
    return "tfloat32" if dtype == "float32" and tf32 and device.type == "cuda" else dtype


def has_convolutions(module: nn.Module) -> bool:
    return any(isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)) for layer in module.modules())


def use_channels_last(method: nn.Module, device: torch.device) -> nn.Module:
    """Conv backbones on CUDA keep their 4-d weights channels_last (NHWC), the layout Tensor Cores read."""
    if device.type == "cuda" and has_convolutions(method):
        method.to(memory_format=torch.channels_last)
    return method


class CompiledForward:
    """`train.compile`: the method's forward (its training objective) compiled by torch.compile.

    Compilation happens at the first step. If it fails there (no C++ compiler, an unsupported Python or
    operator, ...), `run` restores the RNG state, puts the eager forward back, calls `on_fallback` with
    the reason once and reruns that step eagerly, so the run continues as if it had been eager.
    """

    def __init__(self, method: nn.Module, mode: str, on_fallback: Callable[[str], None]) -> None:
        self.method, self.mode, self.on_fallback = method, mode, on_fallback
        self.pending = mode != "none"
        if self.pending:
            method.forward = torch.compile(method.forward, mode=mode)  # instance attribute: state_dict keys unchanged

    def run(self, step: Callable[[], T]) -> T:
        if not self.pending:
            return step()
        saved = rng_state()
        try:
            result = step()
        except Exception as error:  # noqa: BLE001 (a real bug raises again in the eager rerun below)
            del self.method.forward
            restore_rng_state(saved)
            self.on_fallback(f"{type(error).__name__}: {first_line(error)}")
            result = step()
        self.pending = False
        return result


def first_line(error: BaseException, limit: int = 200) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else "no message"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fallback_reporter(mode: str, run_dir: Path | None) -> Callable[[str], None]:
    """Prints the fallback in one line and records it in the run's provenance.json (`compile_fallback`)."""

    def report(reason: str) -> None:
        print(f"simvae: train.compile={mode} is unavailable here ({reason}); training eagerly", file=sys.stderr)
        if run_dir is not None and (run_dir / PROVENANCE).is_file():
            record = json.loads((run_dir / PROVENANCE).read_text())
            write_json(run_dir / PROVENANCE, {**record, "compile_fallback": {"mode": mode, "reason": reason}})

    return report
