"""Bring your own network and data through the Python API: a small CNN and a torch Dataset defined here, trained
with `simvae.train(encoder=, decoder=, data=)`, recorded as custom, reloaded into fresh modules; wrong shapes
are one ConfigError naming them, before training."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

import simvae
from simvae.cli.main import main
from simvae.data import DATASETS
from simvae.errors import ConfigError, DataError
from simvae.nets import BACKBONES
from simvae.runs import setup as run_setup

LATENT = 4
TINY = {"train": {"epochs": 1, "batch_size": 32, "log_every": 2}, "net": {"latent_dim": LATENT},
        "eval": {"mlp_steps": 20, "gmm_n_init": 1, "figures": False, "knn_k": [1]}}


class SmallCNN(nn.Module):
    """(N, 3, 32, 32) -> (N, out_dim)."""

    def __init__(self, out_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 8, 4, stride=4), nn.ReLU(), nn.Conv2d(8, 16, 4, stride=4), nn.ReLU(),
                                 nn.Flatten(), nn.Linear(16 * 2 * 2, out_dim))

    def forward(self, x):
        return self.net(x)


class SmallDecoder(nn.Module):
    """(N, d) -> (N, 3, 32, 32) logits."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, 16 * 4 * 4), nn.ReLU(), nn.Unflatten(1, (16, 4, 4)),
                                 nn.ConvTranspose2d(16, 3, 8, stride=8))

    def forward(self, z):
        return self.net(z)


class ShapesItems(Dataset):
    """The embedded shapes as a user's Dataset: channels-last float images, (image, content, {style: label}) items."""

    classes = ["circle", "square", "triangle", "cross", "ring"]

    def __init__(self, images: torch.Tensor, content: torch.Tensor, pos_x: torch.Tensor) -> None:
        self.images, self.content, self.pos_x = images, content, pos_x

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.images[i].permute(1, 2, 0).float() / 255, int(self.content[i]), {"pos_x": int(self.pos_x[i])}


@pytest.fixture(scope="module")
def items(small_shapes):
    train = small_shapes.train
    return ShapesItems(train.images, train.content, train.styles["pos_x"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, items):
    torch.manual_seed(0)
    encoder, decoder = SmallCNN(2 * LATENT), SmallDecoder(LATENT)
    out = tmp_path_factory.mktemp("own") / "run"
    run = simvae.train(None, out=out, progress=False, encoder=encoder, decoder=decoder, data=items, **TINY)
    return run, encoder, decoder


def test_own_modules_and_dataset_train_evaluate_and_are_recorded(trained, items):
    run, encoder, decoder = trained
    assert run.finished and run.method.encoder is encoder and run.method.decoder is decoder  # trained in place
    assert run.config.net.backbone == "custom" and run.config.data.name == "custom"
    provenance = json.loads((run.path / "provenance.json").read_text())
    assert provenance["networks"] == {"encoder": f"{__name__}.SmallCNN", "decoder": f"{__name__}.SmallDecoder"}
    assert provenance["data_source"].startswith(f"{__name__}.ShapesItems passed from Python ({len(items)} images)")
    assert set(run.metrics["num_classes"]) == {"content", "pos_x"} and run.metrics["num_classes"]["content"] == 5
    assert run.encode(items.images[:3]).shape == (3, LATENT)


def test_a_reload_needs_the_modules_and_loads_the_weights_into_them(trained, items):
    run = trained[0]
    with pytest.raises(ConfigError, match=rf"custom network .*encoder {__name__}.SmallCNN.*load_run\(path, encoder="):
        simvae.load_run(run.path)
    encoder, decoder = SmallCNN(2 * LATENT), SmallDecoder(LATENT)
    loaded = simvae.load_run(run.path, encoder=encoder, decoder=decoder)
    assert loaded.method.encoder is encoder
    torch.testing.assert_close(loaded.encode(items.images[:8]), run.encode(items.images[:8]))
    torch.testing.assert_close(loaded.reconstruct(items.images[:2]), run.reconstruct(items.images[:2]))
    with pytest.raises(ConfigError, match="do not fit .* trained weights"):
        simvae.load_run(run.path, encoder=nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 2 * LATENT)),
                        decoder=SmallDecoder(LATENT))


def test_evaluating_again_needs_the_network_and_data_only_to_embed_again(trained, items, capsys):
    run = trained[0]
    kept = simvae.evaluate(run.path, progress=False, mlp_steps=30)  # the kept embeddings.npz: no network, no data
    assert kept["eval"]["mlp_steps"] == 30
    with pytest.raises(ConfigError, match="custom network passed from Python"):  # other embeddings: the model is needed
        simvae.evaluate(run.path, progress=False, data=items, max_train=100)
    with pytest.raises(DataError, match="data passed from Python: pass it again"):
        simvae.evaluate(run.path, progress=False, encoder=SmallCNN(2 * LATENT), decoder=SmallDecoder(LATENT), max_train=100)
    metrics = simvae.evaluate(run.path, progress=False, encoder=SmallCNN(2 * LATENT), decoder=SmallDecoder(LATENT),
                              data=items, max_train=100)
    assert metrics["eval"]["max_train"] == 100
    assert main(["eval", str(run.path), "eval.max_train=50"]) == 2  # the command line: one line saying what to do
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "data passed from Python" in err and "simvae.evaluate(path, data=" in err


def test_a_discriminative_method_takes_an_encoder_alone(tmp_path, items):
    encoder = SmallCNN(LATENT)
    run = simvae.train(None, out=tmp_path / "run", progress=False, evaluate=False, encoder=encoder, data=items,
                       method={"name": "simclr", "head_hidden": 16, "head_dim": 8}, **TINY)
    assert run.method.encoder is encoder and run.encode(items.images[:2]).shape == (2, LATENT)


def test_a_mapping_without_images_is_the_data_section_of_the_config(tmp_path, small_shapes, monkeypatch):
    monkeypatch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: small_shapes)
    run = simvae.train(None, out=tmp_path / "run", progress=False, evaluate=False, encoder=SmallCNN(LATENT),
                       data={"limit_train": 64}, method={"name": "simclr", "head_hidden": 16, "head_dim": 8}, **TINY)
    assert run.config.data.name == "shapes" and run.config.data.limit_train == 64 and run.step == 2


@pytest.mark.parametrize(("method", "encoder", "decoder", "message"), [
    ("simvae", SmallCNN(LATENT), SmallDecoder(LATENT),
     r"encoder .*SmallCNN maps images \(N, 3, 32, 32\) to \(N, 4\); expected \(N, 8\): out_dim is 2 x net.latent_dim"),
    ("simclr", SmallCNN(2 * LATENT), None, r"maps images \(N, 3, 32, 32\) to \(N, 8\); expected \(N, 4\)"),
    ("simvae", SmallCNN(2 * LATENT), SmallDecoder(LATENT + 1),
     r"decoder .*SmallDecoder fails on a dummy batch \(2, 4\) .*latents \(N, 4\) to pixel logits \(N, 3, 32, 32\)"),
    ("simvae", SmallCNN(2 * LATENT), nn.Sequential(nn.Linear(LATENT, 3 * 16 * 16), nn.Unflatten(1, (3, 16, 16))),
     r"maps latents \(N, 4\) to \(N, 3, 16, 16\); expected pixel logits \(N, 3, 32, 32\)"),
    ("simvae", nn.Sequential(nn.Flatten(), nn.Linear(784, 2 * LATENT)), SmallDecoder(LATENT),
     r"encoder torch.nn.modules.container.Sequential fails on a dummy batch \(2, 3, 32, 32\)"),
    ("vae", SmallCNN(2 * LATENT), None, r"a generative method needs a decoder too"),
])
def test_wrong_shapes_are_one_error_naming_them_before_training(tmp_path, items, method, encoder, decoder, message):
    with pytest.raises(ConfigError, match=message):
        simvae.train(None, out=tmp_path / "run", progress=False, encoder=encoder, decoder=decoder, data=items,
                     method={"name": method}, **TINY)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_a_probe_leaves_the_modules_state_alone(tmp_path, items):
    encoder = nn.Sequential(SmallCNN(2 * LATENT), nn.BatchNorm1d(2 * LATENT))
    with pytest.raises(ConfigError, match="needs a decoder"):  # the encoder was probed, then the decoder refused
        simvae.train(None, out=tmp_path / "run", progress=False, encoder=encoder, data=items, **TINY)
    batchnorm = encoder[1]
    assert encoder.training and batchnorm.num_batches_tracked == 0 and torch.equal(batchnorm.running_mean, torch.zeros(8))


def test_conflicting_or_incomplete_arguments_are_refused(tmp_path, items):
    with pytest.raises(ConfigError, match="contradicts the net passed as an argument"):
        simvae.train(None, out=tmp_path / "a", encoder=SmallCNN(LATENT), net={"backbone": "conv"})
    with pytest.raises(ConfigError, match="decoder= needs encoder= too"):
        simvae.train(None, out=tmp_path / "b", decoder=SmallDecoder(LATENT))
    with pytest.raises(ConfigError, match="net.backbone=custom: the run used a custom network"):
        simvae.train(None, out=tmp_path / "c", net={"backbone": "custom"})
    assert "custom" not in BACKBONES and "custom" not in DATASETS  # nothing left behind
