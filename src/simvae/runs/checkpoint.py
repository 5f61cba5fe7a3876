"""Atomic checkpoints holding everything a run needs to continue exactly: weights, optimiser, RNG, step.

A checkpoint holds tensors and plain Python values only, and is read with `torch.load(weights_only=True)`: a
file that carries anything else (a pickled callable, an object of another class) is refused before any of it
runs. Checkpoints written before RNG states were stored as tensors hold numpy's MT19937 state as an ndarray;
exactly the four numpy names that rebuild that array are admitted, so those runs still resume bit-exactly.
"""

from __future__ import annotations

import os
import pickle
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simvae.errors import RunDirError
from simvae.fields import shown
from simvae.interrupts import critical
from simvae.output import TEMP_SUFFIX, atomic_write, check_path_length

CHECKPOINT = "checkpoint.pt"
# the checkpoint before the latest: when the latest one's weights already give a non-finite loss on the next
# step, a lower learning rate cannot help from there, but it can from this one (see restore_previous)
PREVIOUS = "checkpoint.prev.pt"
REQUIRED_KEYS = ("config", "model", "optimizer", "step")
# what rebuilds the uint32 ndarray of numpy's RNG state in checkpoints written before it was a tensor (and nothing
# else: the weights-only unpickler still refuses every other global, and these four cannot call anything)
OLD_NUMPY_STATE = [np._core.multiarray._reconstruct, np.ndarray, np.dtype, np.dtypes.UInt32DType,
                   (np._core.multiarray._reconstruct, "numpy.core.multiarray._reconstruct")]  # as numpy 1 names it
REFUSED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)|got <class '([\w.]+)'>")


def rng_state() -> dict[str, Any]:
    """Every global generator's state as tensors and plain values (what a weights-only load admits)."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(position),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def numpy_state(saved: dict[str, Any] | tuple) -> tuple:
    """np.random.set_state's tuple from `rng_state`'s dict, or from the tuple older checkpoints hold."""
    if isinstance(saved, dict):
        return (saved["name"], saved["keys"].numpy().astype(np.uint32), saved["pos"], saved["has_gauss"],
                saved["cached_gaussian"])
    return saved


def restore_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(numpy_state(state["numpy"]))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_atomic(payload: Any, path: str | Path) -> None:
    """torch.save through `atomic_write`: a crash or a full disk mid-write leaves the previous checkpoint intact. The
    directory must exist (a run directory deleted while training is not recreated)."""
    atomic_write(path, lambda file: torch.save(payload, file), parents=False)


def keep_previous(run_dir: Path) -> None:
    """Keep the current checkpoint as PREVIOUS before a new one replaces it: a hard link, so no copy is written
    (its blocks stay allocated until the next save, though: a run directory holds up to two checkpoints)."""
    current = run_dir / CHECKPOINT
    if not current.is_file():
        return
    link = run_dir / f".{PREVIOUS}.{os.getpid()}{TEMP_SUFFIX}"  # a temporary name, cleaned up if we die here
    with critical():
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
    check_path_length(path)
    if not path.is_file():
        raise RunDirError(f"no checkpoint at {path}: train first with `simvae train`, or check the run directory")
    try:
        with torch.serialization.safe_globals(OLD_NUMPY_STATE):
            saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # an empty, truncated or foreign file, or one carrying code
        refused = REFUSED_GLOBAL.search(str(error)) if isinstance(error, pickle.UnpicklingError) else None
        if refused:
            raise RunDirError(f"checkpoint {path} holds {refused.group(1) or refused.group(2)}, not only tensors and "
                              "plain values: loading it could run code, so simvae refuses it; use checkpoints written "
                              "by `simvae train` (retrain, or get the run again from a source you trust)") from None
        raise RunDirError(f"checkpoint {path} cannot be read ({_reason(error)}); it is corrupt or not a simvae "
                          "checkpoint: restore a copy or retrain into a new --out") from None
    if not isinstance(saved, dict) or not all(key in saved for key in REQUIRED_KEYS):
        raise RunDirError(f"{path} is not a simvae checkpoint (it lacks {', '.join(REQUIRED_KEYS)}): "
                          "point at a run directory made by `simvae train`")
    problem = damage(saved)
    if problem:
        raise RunDirError(f"{path} is a damaged simvae checkpoint ({problem}): it was edited or is corrupt; {RESTORE}")
    return saved


RESTORE = "restore a copy or retrain into a new --out"
# what each part of a checkpoint is (beyond REQUIRED_KEYS, the parts are optional: older checkpoints lack some)
PARTS: dict[str, type | tuple[type, ...]] = {"config": dict, "model": dict, "optimizer": dict, "step": int,
                                              "epoch": int, "images_seen": int, "finished": bool, "history": list,
                                              "running": dict, "wall_time": (int, float), "rng": dict,
                                              "rng_ranks": list, "world_size": int, "data_spec": dict}


def damage(saved: dict[str, Any]) -> str | None:
    """What is wrong with a loaded checkpoint's parts (wrong types, an empty optimiser), or None."""
    for key, kind in PARTS.items():
        value = saved.get(key)
        if key in saved and (not isinstance(value, kind) or kind is int and isinstance(value, bool)):
            return f"{key} is {shown(value)}, not {getattr(kind, '__name__', 'a number')}"
    if saved["step"] < 0:
        return f"step is {saved['step']}"
    if not all(isinstance(value, torch.Tensor) for value in saved["model"].values()):
        return "model holds values that are not tensors"
    groups = saved["optimizer"].get("param_groups")
    if not isinstance(groups, list) or not groups or not isinstance(saved["optimizer"].get("state"), dict):
        return "the optimizer state has no parameter groups"
    return None


def load_weights(module: torch.nn.Module | torch.optim.Optimizer, state: dict[str, Any], path: Path) -> None:
    """`module.load_state_dict(state)` (a network's or an optimiser's); a state that does not fit what the config
    builds (another latent size, other parameter groups) is RunDirError naming the checkpoint."""
    what = "optimiser state" if isinstance(module, torch.optim.Optimizer) else "weights"
    try:
        module.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError, TypeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RunDirError(f"{path} holds {what} that do not fit the networks its config builds ({first[:200]}): "
                          f"the checkpoint was edited or is corrupt; {RESTORE}") from None
    if isinstance(module, torch.optim.Optimizer):  # Adam only notices moments of the wrong shape at its next step
        for group in module.param_groups:
            for param in group["params"]:
                moments = [v for v in module.state.get(param, {}).values() if isinstance(v, torch.Tensor) and v.dim()]
                if any(moment.shape != param.shape for moment in moments):
                    raise RunDirError(f"{path} holds {what} that do not fit the networks its config builds (moments "
                                      f"of another shape than a parameter {tuple(param.shape)}): the checkpoint was "
                                      f"edited or is corrupt; {RESTORE}")


def _reason(error: Exception) -> str:
    """The gist of a failed load in a few words (torch's weights-only messages run over many lines)."""
    if isinstance(error, pickle.UnpicklingError):
        return "not a pickle of tensors and plain values"
    return str(error).splitlines()[0] if str(error) else type(error).__name__
