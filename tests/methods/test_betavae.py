"""beta-VAE (simvae.methods.betavae): the VAE with beta = 4 by default."""

from __future__ import annotations

import pytest
import torch

from simvae.config import load_config
from simvae.errors import ConfigError
from simvae.fields import check_bounds
from simvae.methods import METHODS, ModelSpec, build_method, method_config
from simvae.methods.betavae import BetaVAE, BetaVAEConfig
from simvae.methods.vae import VAE, vae_terms

SPEC = ModelSpec(image_shape=(1, 8, 8), latent_dim=3, backbone="conv", num_classes=4)


def test_registered_with_beta_four():
    config = method_config("betavae")
    assert METHODS["betavae"] is BetaVAE and issubclass(BetaVAE, VAE)
    assert isinstance(config, BetaVAEConfig) and config.name == "betavae" and config.beta == 4.0


def test_loss_weights_kl_by_beta():
    torch.manual_seed(0)
    model = build_method(method_config("betavae"), SPEC)
    views = torch.rand(2, 2, *SPEC.image_shape)
    torch.manual_seed(3)
    terms = model(views, torch.zeros(2, dtype=torch.int64))
    expected = terms["kl"].double() * 4.0 - terms["reconstruction"].double()
    torch.testing.assert_close(terms["loss"].double(), expected, rtol=1e-6, atol=1e-3)
    torch.testing.assert_close(terms["elbo"], terms["reconstruction"] - terms["kl"])
    terms["loss"].backward()
    for name, p in [*model.encoder.named_parameters(), *model.decoder.named_parameters()]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_terms_beta_scaling():
    g = torch.Generator().manual_seed(0)
    log_px, mu, logvar = -torch.rand(3, 2, generator=g), torch.randn(3, 2, 4, generator=g), torch.randn(3, 2, 4, generator=g)
    a, b = vae_terms(log_px, mu, logvar, beta=1.0), vae_terms(log_px, mu, logvar, beta=4.0)
    torch.testing.assert_close(b["loss"] - a["loss"], 3.0 * a["kl"])


def test_config_validation():
    assert load_config(overrides=["method.name=betavae"]).method.beta == 4.0
    assert load_config(overrides=["method.name=betavae", "method.beta=8"]).method.beta == 8.0
    with pytest.raises(ConfigError, match="method.beta"):
        load_config(overrides=["method.name=betavae", "method.beta=0"])
    with pytest.raises(ConfigError, match="method.beta"):
        check_bounds(BetaVAEConfig(beta=-4.0), "method")
