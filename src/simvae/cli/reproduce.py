"""`simvae reproduce`: the paper's comparison grid and its report."""

from __future__ import annotations

import argparse

from simvae.config import parse_overrides
from simvae.experiments.reproduce import load_grid, reproduce


def run(args: argparse.Namespace) -> None:
    grid = load_grid(args.grid)
    if args.methods:
        grid = grid.with_methods(args.methods.split(","))
    if args.overrides:
        grid = grid.with_overrides(parse_overrides(args.overrides))
    if args.seeds:
        grid = grid.with_seeds(args.seeds)
    report = reproduce(grid, args.budget, args.out or f"results/reproduce-{args.budget}",
                       args.datasets.split(",") if args.datasets else None,
                       args.ablations.split(",") if args.ablations else None, jobs=args.jobs)
    print(f"report: {report} and {report.with_suffix('.md')}")
