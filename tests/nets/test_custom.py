"""Own networks: the shape contract checked with one dummy batch, and backbones registered by name."""

from __future__ import annotations

import pytest
from torch import nn

from simvae import nets
from simvae.config import load_config
from simvae.errors import ConfigError
from simvae.nets.custom import check_decoder, check_encoder
from simvae.runs import setup as run_setup
from simvae.runs.run import load_run
from simvae.training import train


def tiny_encoder(image_shape, out_dim):
    return nn.Sequential(nn.Flatten(), nn.Linear(image_shape[0] * image_shape[1] * image_shape[2], out_dim))


def tiny_decoder(latent_dim, image_shape):
    return nn.Sequential(nn.Linear(latent_dim, image_shape[0] * image_shape[1] * image_shape[2]), nn.Unflatten(1, image_shape))


class MeanAndLogvar(nn.Module):
    """Returns a (mean, log-variance) pair instead of one (N, 2d) tensor."""

    def forward(self, x):
        flat = x.flatten(1)[:, :3]
        return flat, flat


def test_the_checks_pass_matching_modules_through_and_name_both_shapes_otherwise():
    encoder = tiny_encoder((1, 8, 8), 6)
    assert check_encoder(encoder, (1, 8, 8), 6) is encoder
    assert check_decoder(tiny_decoder(3, (1, 8, 8)), 3, (1, 8, 8)) is not None
    with pytest.raises(ConfigError, match=r"maps images \(N, 1, 8, 8\) to \(N, 6\); expected \(N, 5\)"):
        check_encoder(encoder, (1, 8, 8), 5)
    with pytest.raises(ConfigError, match=r"maps latents \(N, 3\) to \(N, 1, 8, 8\); expected pixel logits \(N, 3, 8, 8\)"):
        check_decoder(tiny_decoder(3, (1, 8, 8)), 3, (3, 8, 8))
    with pytest.raises(ConfigError, match="must be a torch nn.Module, got function"):
        check_encoder(tiny_encoder, (1, 8, 8), 6)
    with pytest.raises(ConfigError, match="returns a tuple, not a tensor"):
        check_encoder(MeanAndLogvar(), (1, 8, 8), 6)


def test_the_probe_follows_the_modules_device_and_dtype_and_keeps_its_mode():
    encoder = tiny_encoder((1, 8, 8), 4).double().train()
    assert check_encoder(encoder, (1, 8, 8), 4) is encoder and encoder.training


def test_a_registered_backbone_builds_by_name_trains_and_reloads(tmp_path, small_shapes, monkeypatch):
    monkeypatch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: small_shapes)
    monkeypatch.setitem(nets.BACKBONES, "probe-test", None)  # removed again after the test, whatever happens
    nets.register("probe-test", tiny_encoder, tiny_decoder)
    assert nets.BACKBONES["probe-test"].description == "registered: tiny_encoder"
    config = load_config(overrides=["net.backbone=probe-test", "net.latent_dim=3", "data.limit_train=64",
                                    "train.batch_size=32", "train.epochs=1"])
    train(config, tmp_path / "run", progress=False)
    run = load_run(tmp_path / "run")
    assert run.method.encoder[1].out_features == 6 and run.encode(small_shapes.test.images[:2]).shape == (2, 3)
    nets.register("probe-test", lambda shape, out_dim: tiny_encoder(shape, out_dim + 1), tiny_decoder)
    with pytest.raises(ConfigError, match=r"to \(N, 7\); expected \(N, 6\)"):
        load_run(tmp_path / "run")


@pytest.mark.parametrize("name", ["mlp", "custom", "auto", "Has Space", ""])
def test_reserved_or_malformed_names_cannot_be_registered(name):
    with pytest.raises(ConfigError, match="cannot be registered"):
        nets.register(name, tiny_encoder, tiny_decoder)
