"""Devices asked for by name (`simvae eval --device`, `simvae.load_run(..., device=)`, `simvae.evaluate`): one this
machine lacks is one line naming the fix, before anything is loaded onto it."""

from __future__ import annotations

import torch

from simvae.errors import ConfigError

FIX = "evaluate on the CPU (--device cpu, device=\"cpu\", or leave it unset)"


def usable_device(device: str | torch.device) -> torch.device:
    """`device` as a torch.device if this machine has it; ConfigError naming it and the fix otherwise."""
    try:
        found = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ConfigError(f"device {device!r} is not a device name ({str(error).splitlines()[0]}): use cpu, cuda, "
                          "cuda:N or mps") from None
    if found.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device} was asked for but torch {torch.__version__} sees no CUDA GPU on this "
                              f"machine: {FIX}, or install a CUDA build of torch")
        if found.index is not None and found.index >= torch.cuda.device_count():
            raise ConfigError(f"device {device} was asked for but this machine has {torch.cuda.device_count()} CUDA "
                              f"GPU(s), numbered from 0: pick one of those, or {FIX}")
    if found.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {device} was asked for but this machine has no Apple GPU (MPS): {FIX}")
    if found.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"device {device} is not one simvae evaluates on: use cpu, cuda, cuda:N or mps")
    return found
