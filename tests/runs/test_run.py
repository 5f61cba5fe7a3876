"""`load_run`: a trained run rebuilt from its checkpoint alone, and what it gives back."""

from __future__ import annotations

import pytest
import torch

from simvae.config import load_config
from simvae.errors import RunDirError
from simvae.runs import setup as run_setup
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint, save_atomic
from simvae.runs.run import load_run
from simvae.training import train

TINY = ["data.limit_train=128", "train.batch_size=32", "train.epochs=1", "net.latent_dim=4"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, small_shapes):
    out = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: small_shapes)
        for method in ("simvae", "simclr"):
            train(load_config(overrides=[*TINY, f"method.name={method}"]), out / method, progress=False)
    return out


def test_load_run_needs_no_dataset_and_encodes_like_the_trained_method(runs, small_shapes, monkeypatch):
    monkeypatch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: pytest.fail("load_run read the dataset"))
    run = load_run(runs / "simvae")
    images = small_shapes.test.images[:5]
    z = run.encode(images)
    assert z.shape == (5, 4) and run.finished and run.step == 4
    torch.testing.assert_close(run.encode(images.float() / 255), z)  # float images in [0, 1] give the same
    trained = run.method.representations(run.augmenter.clean(images))["mean"]
    torch.testing.assert_close(z, trained)
    assert run.reconstruct(images).shape == (5, 3, 32, 32) and run.sample(2).shape == (2, 3, 32, 32)
    assert run.metrics is None and run.config.method.name == "simvae"


def test_discriminative_runs_encode_before_or_after_the_head_and_do_not_generate(runs, small_shapes):
    run = load_run(runs / "simclr")
    images = small_shapes.test.images[:3]
    assert run.encode(images).shape == (3, 4) and run.encode(images, "head").shape == (3, 128)
    with pytest.raises(TypeError, match="not a generative method"):
        run.sample(2)
    with pytest.raises(ValueError, match="images must be"):
        run.encode(images[:, :1])


def test_a_checkpoint_without_its_data_description_says_what_to_do(runs, tmp_path):
    saved = load_checkpoint(runs / "simvae" / CHECKPOINT)
    del saved["data_spec"]
    save_atomic(saved, tmp_path / CHECKPOINT)
    with pytest.raises(RunDirError, match="load_trained"):
        load_run(tmp_path)
