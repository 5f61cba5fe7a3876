"""`simvae embed RUN --out FILE`: a run's representations as an npz file, for a user's own analysis."""

from __future__ import annotations

import argparse

from simvae.cli.eval import eval_overrides
from simvae.errors import ConfigError
from simvae.evaluation.data import EvalData
from simvae.evaluation.run import export_embeddings


def run(args: argparse.Namespace) -> None:
    if args.root and not args.data:
        raise ConfigError("--root names where the --data dataset is: give --data NAME too (see `simvae data`)")
    data = EvalData(args.data, args.root) if args.data else None
    embeddings = export_embeddings(args.run_dir, args.out, device=args.device, overrides=eval_overrides(args.overrides),
                                   data=data)
    sizes = ", ".join(f"{split} {count}" for split, count in embeddings.sizes.items())
    shapes = ", ".join(f"{name} d={codes['train'].shape[1]}" for name, codes in embeddings.codes.items())
    print(f"{args.out}: {shapes}; {sizes} images; labels {', '.join(embeddings.num_classes)} "
          "(codes/<representation>/<split>, labels/<task>/<split>, meta: numpy.load(allow_pickle=False))")
