"""SIGINT and SIGTERM in the `simvae` command: exit code 128 + signal and one line, at any moment.

Until `main` runs (`python -m simvae.cli.main` importing torch and the rest), nothing has been written yet, so
a signal ends the program at once (`exit_at_once`). While a command runs, a signal calls
`simvae.interrupts.interrupt` (`handled`): the command stops where it is, except that an atomic write finishes
first; training replaces that with its own handler, which checkpoints the current step."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from simvae.interrupts import interrupt, reset

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def message(number: int) -> str:
    return (f"simvae: stopped by {signal.Signals(number).name} before the command finished (every file it wrote is "
            "whole): run it again to finish")


def _exit(number: int, frame: FrameType | None) -> None:
    os.write(2, (message(number) + "\n").encode())
    os._exit(128 + number)


def exit_at_once() -> None:
    """A signal ends the program at once, with its one line (for the imports before `main` runs)."""
    for number in SIGNALS:
        signal.signal(number, _exit)


def ignore() -> None:
    """Signals no longer stop the program (it is only exiting)."""
    for number in SIGNALS:
        signal.signal(number, signal.SIG_IGN)


def _interrupt(number: int, frame: FrameType | None) -> None:
    interrupt(number)


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """While a command runs (in the main thread), SIGINT and SIGTERM raise simvae.interrupts.Interrupted (after the
    atomic write in progress, if any); the handlers before it are restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    reset()
    previous = {number: signal.signal(number, _interrupt) for number in SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
