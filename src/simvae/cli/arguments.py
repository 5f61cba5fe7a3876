"""Argument types for the command line: a value argparse cannot use becomes its one-line error (exit code 2)
naming the option, e.g. `simvae compare: error: argument --seeds: 'a' is not ...`."""

from __future__ import annotations

import argparse

from simvae.fields import NUMPY_SEEDS


def seeds(text: str) -> list[int]:
    """A comma-separated list of training seeds, e.g. 1,2,3 (each 0..2**32-1, what numpy accepts)."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or not all(item.isdigit() and int(item) <= NUMPY_SEEDS for item in items):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of seeds (integers 0..{NUMPY_SEEDS}), "
                                         "e.g. 1,2,3")
    return [int(item) for item in items]


def positive(text: str) -> int:
    """A whole number of at least 1 (epochs, jobs)."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):  # urllib reads a timeout of 0 as "never wait": every download would fail at once
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def attempts(text: str) -> int:
    if not text.strip().lstrip("-").isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative: give 0 (no retry) or more")
    return value
