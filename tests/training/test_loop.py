"""The training loop: exact resume, NaN handling, provenance (tiny runs on the embedded data)."""

import json

import pytest
import torch
import yaml

from simvae.cli.main import main
from simvae.config import load_config
from simvae.errors import ConfigError, TrainingDiverged
from simvae.methods.simvae import SimVAE
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint
from simvae.training import train

TINY = ["data.limit_train=256", "train.batch_size=32", "train.epochs=2", "net.latent_dim=4", "train.log_every=3",
        "train.checkpoint_every=1000"]


def tiny(*extra):
    return load_config(overrides=[*TINY, *extra])


def weights(run_dir):
    return load_checkpoint(run_dir / CHECKPOINT)["model"]


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path):
    full = train(tiny(), tmp_path / "full", progress=False)
    assert full["step"] == 16 and full["finished"]
    part = train(tiny(), tmp_path / "split", max_steps=5, progress=False)  # stops mid-epoch, as an interruption would
    assert part["step"] == 5 and not part["finished"]
    resumed = train(tiny(), tmp_path / "split", resume=True, progress=False)
    assert resumed["step"] == 16
    a, b = weights(tmp_path / "full"), weights(tmp_path / "split")
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ from the uninterrupted run"
    history_a = [{k: v for k, v in p.items()} for p in full["history"]]
    assert resumed["history"] == history_a
    saved = load_checkpoint(tmp_path / "split" / CHECKPOINT)
    assert {"model", "optimizer", "rng", "step", "config"} <= set(saved)


def test_seeds_make_runs_repeatable_and_different_seeds_differ(tmp_path):
    train(tiny("train.epochs=1"), tmp_path / "a", progress=False)
    train(tiny("train.epochs=1"), tmp_path / "b", progress=False)
    train(tiny("train.epochs=1", "train.seed=7"), tmp_path / "c", progress=False)
    a, b, c = (weights(tmp_path / n) for n in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_training_lowers_the_loss(tmp_path):
    state = train(tiny("train.epochs=4", "train.lr=0.003"), tmp_path / "run", progress=False)
    losses = [p["loss"] for p in state["history"]]
    assert losses[-1] < 0.9 * losses[0]


def test_nan_loss_stops_with_the_step_terms_and_fixes_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    original = SimVAE.training_terms
    calls = {"n": 0}

    def poisoned(self, views, labels):
        calls["n"] += 1
        terms = original(self, views, labels)
        if calls["n"] == 5:
            terms["loss"] = terms["loss"] * float("nan")
        return terms

    monkeypatch.setattr(SimVAE, "training_terms", poisoned)
    with pytest.raises(TrainingDiverged) as error:
        train(tiny("train.checkpoint_every=2"), tmp_path / "run", progress=False)
    message = str(error.value)
    assert "step 5" in message and "loss=nan" in message and "reconstruction=" in message
    run = tmp_path / "run"
    advice = f"`simvae train --resume {run} train.lr=0.0001`"
    # step 4's checkpoint holds the weights that gave the NaN on step 5 (whatever the rate): step 2's is restored
    assert advice in message and "(step 2)" in message and "\n" not in message
    assert load_checkpoint(run / CHECKPOINT)["step"] == 2
    # the advice works as printed: the resumed run takes the lower rate, finishes, and says so in provenance.json
    assert main(advice.strip("`").split()[1:] + ["--no-eval"]) == 0
    saved = load_checkpoint(run / CHECKPOINT)
    assert saved["finished"] and saved["config"]["train"]["lr"] == 0.0001
    resumes = json.loads((run / "provenance.json").read_text())["resumes"]
    assert [r["changed"] for r in resumes] == [{"train.lr": "0.0001"}]


def test_run_directory_says_how_it_was_made(tmp_path):
    train(tiny("train.epochs=1"), tmp_path / "run", progress=False)
    run = tmp_path / "run"
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["batch_size"] == 32
    provenance = json.loads((run / "provenance.json").read_text())
    assert {"git_commit", "versions", "command", "machine", "time"} <= set(provenance)
    assert provenance["versions"]["torch"] == torch.__version__.split("+")[0] or provenance["versions"]["torch"].startswith(torch.__version__.split("+")[0])
    history = json.loads((run / "train_history.json").read_text())
    assert history[-1]["step"] == 8 and "elbo" in history[-1]


def test_too_few_views_or_too_large_a_batch_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="augment.views=1"):
        train(tiny("augment.views=1"), tmp_path / "a", progress=False)
    with pytest.raises(ConfigError, match="train.batch_size=512"):
        train(tiny("train.batch_size=512"), tmp_path / "b", progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["dino", "swav"])
def test_a_multi_crop_run_is_told_its_progress_and_resumes_exactly(tmp_path, monkeypatch, method):
    from simvae.methods import METHODS

    cls = METHODS[method]
    calls = []
    original = cls.on_step_start
    monkeypatch.setattr(cls, "on_step_start", lambda self, step, total: calls.append((step, total)) or original(self, step, total))
    settings = {"dino": ["method.out_dim=32", "method.teacher_temp_warmup=0.5"],
                "swav": ["method.prototypes=16", "method.queue_size=80", "method.freeze_prototypes=0.25"]}[method]
    config = tiny(f"method.name={method}", "augment.local_crops.number=2", "train.epochs=1", *settings)  # 8 steps
    full = train(config, tmp_path / "full", progress=False)
    assert calls == [(step, 8) for step in range(8)]
    calls.clear()
    train(config, tmp_path / "split", max_steps=3, progress=False)
    resumed = train(config, tmp_path / "split", resume=True, progress=False)
    assert calls == [(step, 8) for step in range(8)]  # steps 0-2, then the resumed 3-7
    a, b = weights(tmp_path / "full"), weights(tmp_path / "split")
    assert {"dino": "center", "swav": "queue"}[method] in a  # the teacher's centre, or the queue, is saved and restored
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ from the uninterrupted run"
    assert resumed["history"] == full["history"]
