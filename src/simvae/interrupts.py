"""SIGINT and SIGTERM at any moment of a command: one way to stop, and files that are never left half-written.

`interrupt(number)` is what a signal handler calls to stop the program: it raises `Interrupted` (a
KeyboardInterrupt, so code that cleans up after Ctrl-C still does), except

* inside a `critical()` section (an atomic write of a checkpoint, a result or a figure), where the signal
  waits until the section has ended: a signal during a save never leaves a temporary file or a half-renamed
  result behind, and a second Ctrl-C during a checkpoint write waits for it;
* once the program is already stopping, when further signals are ignored: the handler is not re-entrant,
  so the clean-up that follows the first signal (closing files, removing temporaries) runs to its end.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the program (outside the training loop, which checkpoints instead)."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


_state: dict[str, int | None] = {"depth": 0, "pending": None, "stopping": None}


def interrupt(signal_number: int) -> None:
    """Stop the program for `signal_number`: raise Interrupted now, or at the end of the current critical section."""
    if _state["stopping"] is not None:
        return  # already stopping: let the clean-up run
    if _state["depth"]:
        _state["pending"] = signal_number
        return
    _state["stopping"] = signal_number
    raise Interrupted(signal_number)


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """A section a signal may not interrupt (it is delivered when the outermost section ends)."""
    _state["depth"] += 1
    try:
        yield
    finally:
        _state["depth"] -= 1
        if not _state["depth"] and _state["pending"] is not None:
            number, _state["pending"] = _state["pending"], None
            interrupt(number)


def reset() -> None:
    """Forget a previous stop (a new command in the same process, e.g. the tests' fork server)."""
    _state.update(depth=0, pending=None, stopping=None)
