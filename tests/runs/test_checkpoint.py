import random

import numpy as np
import pytest
import torch

from simvae.errors import RunDirError
from simvae.runs import checkpoint
from simvae.runs.checkpoint import (
    load_checkpoint,
    restore_rng_state,
    rng_state,
    save_atomic,
)


def payload(step: int) -> dict:
    return {"config": {}, "model": {}, "optimizer": {"state": {}, "param_groups": [{"params": []}]}, "step": step}


def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_atomic(payload(1), path)

    def broken_save(obj, file):
        file.write(b"half a checkpoint")
        raise OSError("device error")

    monkeypatch.setattr(checkpoint.torch, "save", broken_save)
    with pytest.raises(OSError, match="device error"):
        save_atomic(payload(2), path)
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"], "no temporary file may be left behind"


def test_checkpoint_gets_the_mode_of_an_ordinary_file(tmp_path):
    (tmp_path / "plain").write_text("x")
    save_atomic(payload(1), tmp_path / "checkpoint.pt")
    assert (tmp_path / "checkpoint.pt").stat().st_mode == (tmp_path / "plain").stat().st_mode


def test_rng_state_round_trip_repeats_every_generator():
    state = rng_state()
    draws = (torch.rand(3), np.random.rand(3), random.random())
    restore_rng_state(state)
    assert torch.equal(torch.rand(3), draws[0]) and np.array_equal(np.random.rand(3), draws[1]) and random.random() == draws[2]


@pytest.mark.parametrize("content, message", [
    (None, "no checkpoint at"),
    (b"", "cannot be read"),
    (b"garbage", "cannot be read"),
    ("truncated", "cannot be read"),
    ("foreign", "not a simvae checkpoint"),
])
def test_missing_empty_corrupt_truncated_or_foreign_checkpoint_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "checkpoint.pt"
    if content == "truncated":
        save_atomic(payload(1), path)
        path.write_bytes(path.read_bytes()[:100])
    elif content == "foreign":
        torch.save({"state_dict": {}}, path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(RunDirError, match=message) as error:
        load_checkpoint(path)
    assert "\n" not in str(error.value)


def test_the_previous_checkpoint_is_kept_and_can_be_restored(tmp_path):
    for step in (1, 2, 3):
        checkpoint.keep_previous(tmp_path)
        save_atomic(payload(step), tmp_path / checkpoint.CHECKPOINT)
    assert load_checkpoint(tmp_path / checkpoint.PREVIOUS)["step"] == 2
    assert checkpoint.restore_previous(tmp_path)["step"] == 2
    assert load_checkpoint(tmp_path / checkpoint.CHECKPOINT)["step"] == 2
    assert checkpoint.restore_previous(tmp_path) is None  # used up
    assert sorted(p.name for p in tmp_path.iterdir()) == [checkpoint.CHECKPOINT]


def test_without_hard_links_no_previous_checkpoint_is_kept(tmp_path, monkeypatch):
    save_atomic(payload(1), tmp_path / checkpoint.CHECKPOINT)

    def no_links(source, target):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(checkpoint.os, "link", no_links)
    checkpoint.keep_previous(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [checkpoint.CHECKPOINT]


def test_the_rng_state_is_tensors_and_plain_values_that_a_weights_only_load_admits(tmp_path):
    torch.save(rng_state(), tmp_path / "rng.pt")
    state = torch.load(tmp_path / "rng.pt", weights_only=True)  # no extra globals admitted
    draws = (torch.rand(3), np.random.rand(3), random.random())
    restore_rng_state(state)
    assert torch.equal(torch.rand(3), draws[0]) and np.array_equal(np.random.rand(3), draws[1]) and random.random() == draws[2]
