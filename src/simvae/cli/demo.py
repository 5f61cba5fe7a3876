"""`simvae demo`: SimVAE on the embedded shapes for a few minutes, then the probe table."""

from __future__ import annotations

import argparse
from pathlib import Path

from simvae.cli.train import default_run_dir
from simvae.config import load_config
from simvae.evaluation import evaluate_run
from simvae.training import train

# The demo: SimVAE on the embedded shapes, sized to finish in a few minutes on 2 CPU cores.
DEMO_OVERRIDES = ["data.name=shapes", "method.name=simvae", "train.epochs=3"]


def run(args: argparse.Namespace) -> None:
    overrides = [*DEMO_OVERRIDES, *args.overrides] + ([f"train.epochs={args.epochs}"] if args.epochs is not None else [])
    config = load_config(None, overrides)
    run_dir = Path(args.out) if args.out else default_run_dir(config)
    print(f"demo: {config.method.name} on the embedded '{config.data.name}' data for {config.train.epochs} epochs -> {run_dir}")
    state = train(config, run_dir)
    evaluate_run(run_dir)
    print(f"\ntrained {state['step']} steps in {state['wall_time']:.0f} s; figures in {run_dir / 'figures'}\n")
    print((run_dir / "results.md").read_text())
