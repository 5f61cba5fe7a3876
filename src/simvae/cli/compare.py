"""`simvae compare`: several methods x seeds under one budget, every probe tabulated."""

from __future__ import annotations

import argparse
from pathlib import Path

from simvae.errors import ConfigError
from simvae.experiments.compare import compare, parse_base
from simvae.methods import METHODS


def run(args: argparse.Namespace) -> None:
    methods = args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"--methods names unknown method(s) {unknown}; available: {sorted(METHODS)}")
    compare(methods, args.seeds, args.out, parse_base(args.config, args.overrides))
    print((Path(args.out) / "comparison.md").read_text())
