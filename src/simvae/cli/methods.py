"""`simvae methods`: every method with its family, source and hyper-parameters (from the registry and the config
dataclasses, simvae.methods.catalogue), as tables or as JSON."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from simvae.errors import ConfigError
from simvae.methods import METHODS
from simvae.methods.catalogue import MethodInfo, catalogue, describe


def shown(value: Any) -> str:
    """A default as one types it in an override (YAML): null, true, [1, 5]."""
    return json.dumps(value) if value is None or isinstance(value, (bool, list)) else str(value)


def columns(rows: list[list[str]], indent: str = "") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def method_lines(info: MethodInfo) -> list[str]:
    lines = [f"{info.name} ({info.family}, at least {info.min_views} view{'s' * (info.min_views > 1)}): {info.source}"]
    rows = [["method.<key>", "type", "default", "bounds", "what"]]
    rows += [[h.name, h.type, shown(h.default), h.bounds, h.comment] for h in info.hyperparameters]
    return lines + (columns(rows, "  ") if info.hyperparameters else ["  (no hyper-parameters)"])


def run(args: argparse.Namespace) -> None:
    unknown = [name for name in args.names if name not in METHODS]
    if unknown:
        raise ConfigError(f"unknown method(s) {unknown}; available: {', '.join(METHODS)}")
    infos = [describe(name) for name in args.names] if args.names else catalogue()
    if args.json:
        print(json.dumps([dataclasses.asdict(info) for info in infos], indent=2))
        return
    print("\n".join(columns([["method", "family", "source"], *([i.name, i.family, i.source] for i in infos)])))
    for info in infos:
        print("\n" + "\n".join(method_lines(info)))
    print("\nset one with method.name=NAME method.<key>=value, e.g. `simvae train method.name=simvae method.sigma2=0.1`")
