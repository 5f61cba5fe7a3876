"""Learning-rate schedules: the pure function against hand-computed rates, the loop taking them step by step, and a
warm-up-cosine run interrupted and resumed equal, bit for bit, to the uninterrupted one."""

from __future__ import annotations

import math

import pytest
import torch
import yaml

from simvae.config import TrainConfig, load_config
from simvae.errors import ConfigError
from simvae.runs import setup as run_setup
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint
from simvae.training import train
from simvae.training.schedule import lr_at, lr_factor

TINY = ["data.limit_train=256", "train.batch_size=32", "train.epochs=2", "net.latent_dim=4", "train.log_every=3",
        "train.checkpoint_every=1000", "train.schedule=warmup-cosine", "train.warmup_epochs=0.5", "train.lr=0.004"]


@pytest.fixture
def small_data(monkeypatch, small_shapes):
    """The runs read a small copy of the shapes (270 training images: 8 steps of 32 an epoch)."""
    monkeypatch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: small_shapes)


def reference_rate(step: int, total: int, warmup: int, lr: float) -> float:
    """Written out: linear to lr over `warmup` steps (the first step at lr / warmup), then lr (1 + cos(pi t)) / 2 with
    t = steps since the warm-up / steps after it."""
    if step < warmup:
        return lr * (step + 1) / warmup
    return lr * (1 + math.cos(math.pi * (step - warmup) / (total - warmup))) / 2


def test_rates_match_the_written_out_schedule():
    train = TrainConfig(lr=0.1, epochs=10, schedule="warmup-cosine", warmup_epochs=2)
    rates = [lr_at(step, 100, 10, train) for step in range(100)]
    assert rates == pytest.approx([reference_rate(step, 100, 20, 0.1) for step in range(100)], rel=1e-12)
    assert rates[0] == pytest.approx(0.1 / 20) and rates[19] == rates[20] == pytest.approx(0.1)
    assert rates[60] == pytest.approx(0.05) and 0 < rates[99] < 1e-4  # halfway down the cosine; near 0 at the end
    assert all(a <= b for a, b in zip(rates[:20], rates[1:21])) and all(a >= b for a, b in zip(rates[20:], rates[21:]))
    assert lr_factor(7, 100, 0, "warmup-cosine") == pytest.approx((1 + math.cos(math.pi * 0.07)) / 2)
    constant = TrainConfig(lr=0.1, epochs=10)
    assert {lr_at(step, 100, 10, constant) for step in range(100)} == {0.1}
    warmed = TrainConfig(lr=0.1, epochs=10, warmup_epochs=0.5)  # constant after a 5-step warm-up
    assert [lr_at(step, 100, 10, warmed) for step in (0, 4, 5, 99)] == pytest.approx([0.02, 0.1, 0.1, 0.1])


def test_the_loop_takes_the_rate_of_each_step_and_records_the_schedule(tmp_path, small_data):
    config = load_config(overrides=TINY)
    for steps in (3, 8, 11):  # in the warm-up (4 steps), at its end, in the decay
        state = train(config, tmp_path / "run", max_steps=steps, resume=steps > 3, progress=False)
        lr = load_checkpoint(tmp_path / "run" / CHECKPOINT)["optimizer"]["param_groups"][0]["lr"]
        assert state["step"] == steps and lr == lr_at(steps - 1, 16, 8, config.train)
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["train"]
    assert saved["schedule"] == "warmup-cosine" and saved["warmup_epochs"] == 0.5


def test_interrupted_and_resumed_equals_uninterrupted_under_warmup_cosine(tmp_path, small_data):
    full = train(load_config(overrides=TINY), tmp_path / "full", progress=False)
    train(load_config(overrides=TINY), tmp_path / "split", max_steps=3, progress=False)  # inside the warm-up
    train(load_config(overrides=TINY), tmp_path / "split", max_steps=10, resume=True, progress=False)  # in the decay
    resumed = train(load_config(overrides=TINY), tmp_path / "split", resume=True, progress=False)
    a, b = (load_checkpoint(tmp_path / name / CHECKPOINT) for name in ("full", "split"))
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"]), "resumed weights differ"
    assert resumed["history"] == full["history"]
    constant = train(load_config(overrides=[*TINY[:-3], "train.lr=0.004"]), tmp_path / "constant", progress=False)
    assert constant["history"] != full["history"]  # the schedule changed the run


@pytest.mark.parametrize(("override", "message"), [
    ("train.warmup_epochs=-1", "train.warmup_epochs=-1.0 is invalid: expected >= 0"),
    ("train.warmup_epochs=2", r"train.warmup_epochs=2 is invalid: the warm-up must end before the last epoch \(train.epochs=2\)"),
    ("train.schedule=cosine", r"train.schedule='cosine' is invalid: expected one of \['constant', 'warmup-cosine'\]"),
])
def test_impossible_schedules_fail_at_load(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(overrides=[*TINY, override])
