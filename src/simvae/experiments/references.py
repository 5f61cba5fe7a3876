"""The plain-torch reference programs (`../shared/bench/`: gpu_limit_mlp.py, gpu_limit_resnet18.py), run beside
`simvae bench` on the same device so that simvae's throughput can be given as a ratio to what plain torch reaches."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

DEFAULT_DIR = Path("../shared/bench")
PROGRAMS = {"mlp": "gpu_limit_mlp.py", "resnet18": "gpu_limit_resnet18.py"}
# setting name, views/s, as each program prints them
PATTERNS = {
    "mlp": [re.compile(r"(eager) full step .*= ([\d,]+) views/s"), re.compile(r"(CUDA graph) full step .*= ([\d,]+) views/s")],
    "resnet18": [re.compile(r"resnet18 simclr (\S+), .*= ([\d,]+) views/s")],
}
# the resnet18 reference's setting for a bench row's math mode
RESNET_SETTINGS = {"float32": "fp32", "tfloat32": "tf32", "bfloat16": "bf16+channels_last"}


def run_references(directory: str | Path, batch_size: int, timeout: float = 300) -> list[dict[str, Any]]:
    """One entry per printed figure ({"program", "setting", "views_per_s"}), or per program that failed
    ({"program", "error"}: e.g. the ResNet-18 reference needs CUDA and torchvision)."""
    found: list[dict[str, Any]] = []
    for kind, name in PROGRAMS.items():
        path = Path(directory) / name
        if not path.is_file():
            found.append({"program": name, "error": f"{path} not found: pass --references DIR"})
            continue
        try:
            done = subprocess.run([sys.executable, str(path), str(batch_size)], capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            found.append({"program": name, "error": f"no result within {timeout:.0f} s"})
            continue
        figures = [{"program": name, "kind": kind, "setting": match[1], "views_per_s": float(match[2].replace(",", ""))}
                   for line in done.stdout.splitlines() for pattern in PATTERNS[kind] for match in [pattern.search(line)]
                   if match]
        if not figures:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            found.append({"program": name, "error": f"exit {done.returncode}: {last[:200]}"})
        found.extend(figures)
    return found


def reference_for(backbone: str, mode: str, references: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The reference figure a bench row compares with: the MLP program's fastest setting for the MLP, the
    ResNet-18 program's setting in the row's math mode for the ResNet-18 backbones; None where none ran."""
    if backbone == "mlp":
        candidates = [ref for ref in references if ref.get("kind") == "mlp"]
    elif backbone.startswith("resnet18"):
        candidates = [ref for ref in references if ref.get("setting") == RESNET_SETTINGS.get(mode)]
    else:
        candidates = []
    return max(candidates, key=lambda ref: ref["views_per_s"], default=None)
