"""Devices asked for by name: one this machine lacks is one line naming the fix (ConfigError), before anything loads."""

from __future__ import annotations

import pytest
import torch

from simvae.devices import usable_device
from simvae.errors import ConfigError


def test_the_cpu_is_always_usable():
    assert usable_device("cpu") == torch.device("cpu") and usable_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("device, gpus, words", [
    ("cuda", 0, ["device cuda was asked for", "sees no CUDA GPU", "--device cpu"]),
    ("cuda:7", 0, ["device cuda:7 was asked for", "sees no CUDA GPU"]),
    ("cuda:7", 2, ["device cuda:7 was asked for but this machine has 2 CUDA GPU(s), numbered from 0"]),
    ("mps", 0, ["device mps was asked for but this machine has no Apple GPU (MPS)", "--device cpu"]),
    ("tpu", 0, ["device 'tpu' is not a device name", "use cpu, cuda, cuda:N or mps"]),
    ("meta", 0, ["device meta is not one simvae evaluates on"]),
])
def test_a_device_this_machine_lacks_is_one_line(device, gpus, words, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)  # the same answers on machines with GPUs
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ConfigError) as error:
        usable_device(device)
    assert "\n" not in str(error.value) and all(word in str(error.value) for word in words), str(error.value)
