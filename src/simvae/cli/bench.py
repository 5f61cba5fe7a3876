"""`simvae bench`: training throughput against the matmul peak."""

from __future__ import annotations

import argparse
import sys

from simvae.experiments.bench import bench
from simvae.output import write_json


def run(args: argparse.Namespace) -> None:
    split = lambda text: [item.strip() for item in text.split(",") if item.strip()]
    result = bench(split(args.methods), split(args.backbone), args.data, args.batch_size, args.views, args.steps,
                   split(args.precision), args.accelerator, args.warmup, args.root,
                   tf32=[{"on": True, "off": False}[flag] for flag in split(args.tf32)], references=args.references,
                   overrides=args.overrides,
                   progress=lambda message: print(f"  timing {message} ...", file=sys.stderr))
    print(result["table"])
    if args.json:
        write_json(args.json, result)
        print(f"written to {args.json}")
