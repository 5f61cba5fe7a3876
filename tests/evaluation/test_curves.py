"""Learning curves (train.eval_every): probing during training changes nothing, is resume-safe, not a run's identity."""

import json

import pytest
import torch

from simvae.config import load_config
from simvae.evaluation.curves import CurveProbe, curve_path, curve_summary, read_curve
from simvae.experiments.compare import differences
from simvae.runs import setup as run_setup
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint
from simvae.training import train

TINY = ["data.limit_train=64", "train.batch_size=16", "train.epochs=3", "net.latent_dim=4", "train.log_every=3",
        "train.checkpoint_every=1000", "eval.curve_max_train=128", "eval.knn_k=[1,3]"]


@pytest.fixture(autouse=True)
def quick_data(small_shapes, monkeypatch):
    monkeypatch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: small_shapes)


def tiny(*extra):
    return load_config(overrides=[*TINY, *extra])


def run(config, run_dir, **kwargs):
    return train(config, run_dir, progress=False, on_epoch_end=CurveProbe(config, run_dir), **kwargs)


def same_weights(a, b):
    a, b = (load_checkpoint(d / CHECKPOINT)["model"] for d in (a, b))
    return all(torch.equal(a[k], b[k]) for k in a)


def test_probing_during_training_leaves_the_weights_and_losses_bit_identical(tmp_path):
    plain = train(tiny(), tmp_path / "plain", progress=False)
    probed = run(tiny("train.eval_every=2"), tmp_path / "probed")
    assert same_weights(tmp_path / "plain", tmp_path / "probed")
    assert probed["history"] == plain["history"]
    points = read_curve(tmp_path / "probed")
    assert [p["epoch"] for p in points] == [2, 3]  # every 2nd epoch, and the last
    tasks = points[0]["results"]["mean"]
    assert set(tasks) == {"content", "pos_x", "pos_y", "scale", "rotation", "hue"}
    assert all(0 <= tasks[t][p] <= 1 for t in tasks for p in ("linear", "knn"))
    assert points[0]["eval"]["linear_C"] == [0.001, 0.01, 0.1, 1.0, 10.0] and points[0]["eval"]["max_train"] == 128
    assert not (tmp_path / "plain" / "curve").exists()


def test_resumed_run_with_curves_equals_the_uninterrupted_one_and_skips_probed_epochs(tmp_path, monkeypatch):
    config = tiny("train.eval_every=1")
    run(config, tmp_path / "full")
    run(config, tmp_path / "split", max_steps=6)  # stops in epoch 2, after epoch 1 was probed
    assert [p["epoch"] for p in read_curve(tmp_path / "split")] == [1]
    marker = {"epoch": 1, "results": {}, "marker": True}
    curve_path(tmp_path / "split", 1).write_text(json.dumps(marker))
    run(config, tmp_path / "split", resume=True)
    assert same_weights(tmp_path / "full", tmp_path / "split")
    assert json.loads(curve_path(tmp_path / "split", 1).read_text()) == marker  # not probed again
    assert [p["epoch"] for p in read_curve(tmp_path / "split")] == [1, 2, 3]
    # a probe that was done before a kill, but whose epoch's checkpoint was not written, is not redone either
    calls = []
    monkeypatch.setattr("simvae.evaluation.curves.probe_representations", lambda *a: calls.append(a) or {})
    assert CurveProbe(config, tmp_path / "split")(3, None) == 0.0 and calls == []


def test_eval_every_is_not_part_of_a_runs_identity():
    assert differences(tiny().to_dict(), tiny("train.eval_every=1", "eval.curve_max_train=64").to_dict()) == []


def test_curve_summary_is_mean_and_std_over_seeds_at_shared_epochs(tmp_path):
    for seed, (first, second) in enumerate([(0.5, 0.7), (0.7, 0.9)]):
        for epoch, value in ((1, first), (2, second)):
            path = curve_path(tmp_path / f"seed{seed}", epoch)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"epoch": epoch, "results": {"encoder": {"content": {"linear": value, "knn": value / 2}}}}))
    curve_path(tmp_path / "seed0", 3).write_text(json.dumps({"epoch": 3, "results": {}}))  # seed1 has no epoch 3
    summary = curve_summary([tmp_path / "seed0", tmp_path / "seed1"])["encoder"]["content"]
    assert summary["linear"]["epochs"] == [1, 2]
    assert summary["linear"]["mean"] == [0.6, 0.8] and abs(summary["linear"]["std"][0] - 0.1414) < 1e-3
    assert summary["knn"]["mean"] == [0.3, 0.4]
    assert curve_summary([tmp_path / "none"]) == {}
