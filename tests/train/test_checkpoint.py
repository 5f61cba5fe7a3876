import random

import numpy as np
import pytest
import torch

from simvae.train import checkpoint
from simvae.train.checkpoint import (
    load_checkpoint,
    restore_rng_state,
    rng_state,
    save_atomic,
)


def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_atomic({"step": 1}, path)

    def broken_save(payload, file):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_atomic({"step": 2}, path)
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"], "no temporary file may be left behind"


def test_rng_state_round_trip_repeats_every_generator():
    state = rng_state()
    draws = (torch.rand(3), np.random.rand(3), random.random())
    restore_rng_state(state)
    assert torch.equal(torch.rand(3), draws[0]) and np.array_equal(np.random.rand(3), draws[1]) and random.random() == draws[2]


def test_corrupt_or_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="simvae train"):
        load_checkpoint(tmp_path / "none.pt")
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(RuntimeError, match="corrupt"):
        load_checkpoint(tmp_path / "bad.pt")
