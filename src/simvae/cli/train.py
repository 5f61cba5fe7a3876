"""`simvae train`: train a method (or continue an interrupted run, or extend a finished one), then evaluate it."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from simvae.config import RunConfig, load_config
from simvae.distributed import is_global_zero, launched_rank
from simvae.errors import ConfigError
from simvae.evaluation import evaluate_run
from simvae.evaluation.curves import curve_hook
from simvae.output import check_path_length
from simvae.runs.checkpoint import CHECKPOINT
from simvae.runs.resume import resume_config
from simvae.training import train

RUN_DIR_ENV = "SIMVAE_RUN_DIR"  # hands the default run directory to the processes a multi-device launch starts


def default_run_dir(config: RunConfig) -> Path:
    return Path("runs") / f"{config.method.name}-{config.data.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def run(args: argparse.Namespace) -> None:
    changes = None
    if args.resume is not None:
        run_dir = Path(args.resume)
        config, changes = resume_config(args.resume, args.overrides, args.config)
    else:
        config = load_config(args.config, args.overrides)
        several = config.train.devices * config.train.num_nodes > 1
        run_dir = Path(args.out or (several and os.environ.get(RUN_DIR_ENV)) or default_run_dir(config))
        check_path_length(run_dir)
        # ranks > 0 of a launch start after rank 0 has chosen the directory (and maybe written into it)
        if launched_rank() == 0 and (run_dir / CHECKPOINT).exists():
            raise ConfigError(f"{run_dir} already holds a run: continue it with `simvae train --resume {run_dir}` or pick another --out")
    if launched_rank() == 0:
        print(f"run directory: {run_dir}")
    previous = os.environ.get(RUN_DIR_ENV)
    os.environ[RUN_DIR_ENV] = str(run_dir)  # Fabric's launcher re-runs this command for ranks > 0 (inside train)
    try:
        state = train(config, run_dir, resume=args.resume is not None, on_epoch_end=curve_hook(config, run_dir),
                      changes=changes)
    finally:
        if previous is None:
            os.environ.pop(RUN_DIR_ENV, None)
        else:
            os.environ[RUN_DIR_ENV] = previous
    if not is_global_zero():  # evaluation and the report are rank 0's
        return
    print(f"trained {state['step']} steps in {state['wall_time']:.0f} s")
    if not args.no_eval:
        evaluate_run(run_dir)
        print((run_dir / "results.md").read_text())
