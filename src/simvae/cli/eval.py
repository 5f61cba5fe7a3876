"""`simvae eval`: probe a trained run's representation on content and style labels (again, with other settings)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simvae.config import parse_overrides
from simvae.errors import ConfigError
from simvae.evaluation import evaluate_run
from simvae.evaluation.data import EvalData
from simvae.evaluation.run import evaluate_embeddings_file, output_names


def eval_overrides(overrides: list[str]) -> dict:
    """`eval.key=value` overrides as a nested dict; anything else is refused (it would change the training)."""
    other = [item for item in overrides if not item.strip().startswith("eval.")]
    if other:
        raise ConfigError(f"simvae eval changes only evaluation settings (eval.key=value), not {other}: "
                          "train a new run to change anything else")
    return parse_overrides(overrides)


def run(args: argparse.Namespace) -> None:
    if args.root and not args.data:
        raise ConfigError("--root names where the --data dataset is: give --data NAME too (see `simvae data`)")
    data = EvalData(args.data, args.root) if args.data else None
    splits = tuple(s.strip() for s in args.splits.split(",") if s.strip())
    target = Path(args.run_dir)
    if target.suffix == ".npz" and target.is_file():  # an embeddings file: probed again, no weights or data needed
        if data:
            raise ConfigError("--data probes a run's weights on other images; an embeddings file holds codes only: "
                              "give a run directory instead")
        evaluate_embeddings_file(target, eval_overrides(args.overrides), splits)
        print((target.parent / f"{target.stem}.results.md").read_text())
        return
    metrics = evaluate_run(target, device=args.device, overrides=eval_overrides(args.overrides), splits=splits, data=data)
    print((target / output_names(data)["results"]).read_text())
    if not metrics["finished"]:
        print(f"simvae: note: {args.run_dir} has not finished training: these are the probes of its checkpoint at step "
              f"{metrics['step']} (recorded in metrics.json); continue it with `simvae train --resume {args.run_dir}`",
              file=sys.stderr)
