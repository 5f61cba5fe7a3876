"""`load_run`: a trained run rebuilt from its checkpoint alone, and what it gives back."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from simvae.config import load_config
from simvae.errors import ConfigError, RunDirError
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


def test_numpy_arrays_and_channels_last_images_encode_like_tensors(runs, small_shapes):
    run = load_run(runs / "simvae")
    images = small_shapes.test.images[:4]
    z = run.encode(images)
    channels_last = images.permute(0, 2, 3, 1)
    torch.testing.assert_close(run.encode(images.numpy()), z)
    torch.testing.assert_close(run.encode(channels_last), z)
    torch.testing.assert_close(run.encode(channels_last.numpy()), z)
    torch.testing.assert_close(run.encode(channels_last.float().numpy() / 255), z)  # float64 arrays in [0, 1]
    torch.testing.assert_close(run.reconstruct(channels_last.numpy()), run.reconstruct(images))
    with pytest.raises(ConfigError, match=r"images must be \(N, 3, 32, 32\) or \(N, 32, 32, 3\) like the training data, "
                                          r"got \(4, 32, 3, 32\)"):
        run.encode(images.permute(0, 2, 1, 3))


def test_grey_runs_also_take_images_without_a_channel_axis(tmp_path, small_shapes):
    grey = replace(small_shapes, train=replace(small_shapes.train, images=small_shapes.train.images[:, :1].contiguous()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: grey)
        train(load_config(overrides=[*TINY, "method.name=simclr"]), tmp_path / "grey", progress=False)
    run = load_run(tmp_path / "grey")
    images = small_shapes.test.images[:3, :1]
    torch.testing.assert_close(run.encode(images[:, 0].numpy()), run.encode(images))


def test_a_run_prints_as_one_line(runs):
    run = load_run(runs / "simvae")
    assert repr(run) == f"Run(method=simvae, data=shapes, step=4, path={str(runs / 'simvae')!r})"
