"""`simvae train`: train a method (or continue an interrupted run), then evaluate it."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from simvae.config import RESUME_KEYS, RunConfig, load_config, parse_overrides, saved_config
from simvae.distributed import is_global_zero, launched_rank
from simvae.errors import ConfigError
from simvae.evaluation import evaluate_run
from simvae.evaluation.curves import curve_hook
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint
from simvae.runs.rundir import record_resume
from simvae.training import train

RUN_DIR_ENV = "SIMVAE_RUN_DIR"  # hands the default run directory to the processes a multi-device launch starts


def default_run_dir(config: RunConfig) -> Path:
    return Path("runs") / f"{config.method.name}-{config.data.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def resume_config(run_dir: Path, args: argparse.Namespace) -> RunConfig:
    """The saved config with the overrides a resume may make (RESUME_KEYS and eval.*), recorded in provenance.json."""
    changed = [item.split("=", 1)[0].strip() for item in args.overrides]
    refused = [key for key in changed if key not in RESUME_KEYS and not key.startswith("eval.")]
    if args.config or refused:
        raise ConfigError(f"--resume continues a run with its saved config; it may change only {', '.join(RESUME_KEYS)} "
                          f"and eval.*, not {refused or '--config'}: drop those, or train a new run")
    saved = load_checkpoint(run_dir / CHECKPOINT)["config"]
    config = saved_config(saved, parse_overrides(args.overrides))
    if changed and launched_rank() == 0:
        record_resume(run_dir, {key: value for key, value in zip(changed, (i.split("=", 1)[1] for i in args.overrides))})
    return config


def run(args: argparse.Namespace) -> None:
    if args.resume:
        run_dir = Path(args.resume)
        config = resume_config(run_dir, args)
    else:
        config = load_config(args.config, args.overrides)
        several = config.train.devices * config.train.num_nodes > 1
        run_dir = Path(args.out or (several and os.environ.get(RUN_DIR_ENV)) or default_run_dir(config))
        # ranks > 0 of a launch start after rank 0 has chosen the directory (and maybe written into it)
        if launched_rank() == 0 and (run_dir / CHECKPOINT).exists():
            raise ConfigError(f"{run_dir} already holds a run: continue it with `simvae train --resume {run_dir}` or pick another --out")
    if launched_rank() == 0:
        print(f"run directory: {run_dir}")
    previous = os.environ.get(RUN_DIR_ENV)
    os.environ[RUN_DIR_ENV] = str(run_dir)  # Fabric's launcher re-runs this command for ranks > 0 (inside train)
    try:
        state = train(config, run_dir, resume=bool(args.resume), on_epoch_end=curve_hook(config, run_dir))
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
