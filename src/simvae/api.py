"""The public Python API: what the CLI does, as functions (`simvae/__init__.py` exports exactly these).

    run = simvae.train("fashion-mnist", out="runs/fm", train={"epochs": 5})  # a shipped config, or a YAML path
    metrics = simvae.evaluate("runs/fm", mlp_steps=500)
    z = simvae.load_run("runs/fm").encode(images)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from simvae.config import RunConfig, config_from_dict, load_config, merge
from simvae.evaluation import evaluate_run
from simvae.evaluation.curves import curve_hook
from simvae.experiments.compare import check_same_config
from simvae.output import check_path_length
from simvae.runs.checkpoint import CHECKPOINT
from simvae.runs.run import Run, load_run
from simvae.training.loop import train as train_loop


def train(config: RunConfig | str | Path | dict[str, Any] | None = None, *, out: str | Path,
          evaluate: bool = True, progress: bool = True, **sections: dict[str, Any]) -> Run:
    """Train a run into `out` (resuming it if `out` holds an unfinished one made with the same settings; other
    settings are refused, naming them), evaluate it, and return it loaded.

    `config` is a RunConfig, a YAML path or the name of a shipped config (`fashion-mnist`), a nested dict, or None
    for the defaults; `sections` override it section by section, e.g. `train={"epochs": 3}, method={"name": "vae"}`.
    """
    if isinstance(config, RunConfig):
        config = config.to_dict()
    base = load_config(config).to_dict() if isinstance(config, (str, Path)) else dict(config or {})
    resolved = config_from_dict(merge(base, sections))
    out = Path(out)
    check_path_length(out)
    check_same_config(resolved, out)
    train_loop(resolved, out, resume=(out / CHECKPOINT).is_file(), progress=progress,
               on_epoch_end=curve_hook(resolved, out))
    if evaluate:
        evaluate_run(out, progress=progress)
    return load_run(out)


def evaluate(run_dir: str | Path, device: str | torch.device | None = None, progress: bool = True,
             **eval_settings: Any) -> dict[str, Any]:
    """Probe a trained run (as `simvae eval RUN eval.key=value`) on `device` (default: where it trained);
    returns what metrics.json holds."""
    return evaluate_run(run_dir, progress=progress, device=device, overrides={"eval": eval_settings})


__all__ = ["Run", "evaluate", "load_run", "train"]
