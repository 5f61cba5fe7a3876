"""`simvae data`: the datasets and where they were found, or a download."""

from __future__ import annotations

import argparse

from simvae.data import DATASETS
from simvae.data.download import download_dataset
from simvae.errors import DataError


def run(args: argparse.Namespace) -> None:
    if args.action == "download":
        limits = {key: value for key, value in (("timeout", args.timeout), ("retries", args.retries),
                                                ("deadline", args.deadline)) if value is not None}
        print(f"{args.name} is in {download_dataset(args.name, args.root, **limits)}")
        return
    print(f"{'dataset':<16} {'where':<48} description")
    for name, entry in DATASETS.items():
        try:
            where = entry.locate(args.root)
        except DataError as error:
            where = f"MISSING — {error}"
        print(f"{name:<16} {where:<48} {entry.description}")
