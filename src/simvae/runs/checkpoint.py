"""Atomic checkpoints holding everything a run needs to continue exactly: weights, optimiser, RNG, step."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simvae.errors import RunDirError
from simvae.output import TEMP_SUFFIX, atomic_write

CHECKPOINT = "checkpoint.pt"
# the checkpoint before the latest: when the latest one's weights already give a non-finite loss on the next
# step, a lower learning rate cannot help from there, but it can from this one (see restore_previous)
PREVIOUS = "checkpoint.prev.pt"
REQUIRED_KEYS = ("config", "model", "optimizer", "step")


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_atomic(payload: Any, path: str | Path) -> None:
    """torch.save through `atomic_write`: a crash or a full disk mid-write leaves the previous checkpoint intact."""
    atomic_write(path, lambda file: torch.save(payload, file))


def keep_previous(run_dir: Path) -> None:
    """Keep the current checkpoint as PREVIOUS before a new one replaces it: a hard link, so no copy is written
    (its blocks stay allocated until the next save, though: a run directory holds up to two checkpoints)."""
    current = run_dir / CHECKPOINT
    if not current.is_file():
        return
    link = run_dir / f".{PREVIOUS}.{os.getpid()}{TEMP_SUFFIX}"  # a temporary name, cleaned up if we die here
    link.unlink(missing_ok=True)
    try:
        os.link(current, link)
        os.replace(link, run_dir / PREVIOUS)
    except OSError:  # a file system without hard links: the NaN guard then has no earlier checkpoint to offer
        link.unlink(missing_ok=True)


def restore_previous(run_dir: Path) -> dict[str, Any] | None:
    """Make PREVIOUS the run's checkpoint again; returns its contents, or None when there is none."""
    previous = run_dir / PREVIOUS
    if not previous.is_file():
        return None
    saved = load_checkpoint(previous)
    os.replace(previous, run_dir / CHECKPOINT)
    return saved


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A simvae checkpoint; a missing, empty, truncated or foreign file raises RunDirError naming the fix."""
    path = Path(path)
    if not path.is_file():
        raise RunDirError(f"no checkpoint at {path}: train first with `simvae train`, or check the run directory")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # an empty, truncated or foreign file
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise RunDirError(f"checkpoint {path} cannot be read ({reason}); it is corrupt or not a simvae "
                          "checkpoint: restore a copy or retrain into a new --out") from None
    if not isinstance(saved, dict) or not all(key in saved for key in REQUIRED_KEYS):
        raise RunDirError(f"{path} is not a simvae checkpoint (it lacks {', '.join(REQUIRED_KEYS)}): "
                          "point at a run directory made by `simvae train`")
    return saved
