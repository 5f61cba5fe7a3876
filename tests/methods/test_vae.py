"""VAE (simvae.methods.vae): loss terms against float64 references, gradients, config."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from simvae.config import load_config
from simvae.errors import ConfigError
from simvae.methods import METHODS, ModelSpec, build_method, method_config
from simvae.methods.vae import VAE, VAEConfig, vae_kl, vae_terms

SPEC = ModelSpec(image_shape=(1, 8, 8), latent_dim=3, backbone="mlp", num_classes=4)


def random_posterior(batch=5, views=2, dim=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(batch, views, dim, generator=g)
    logvar = torch.randn(batch, views, dim, generator=g)
    z = mu + torch.randn(batch, views, dim, generator=g) * (0.5 * logvar).exp()
    log_px = -100 * torch.rand(batch, views, generator=g)
    return log_px, mu, logvar, z


def reference_kl(mu, logvar):
    """KL(q || N(0, I)) per view, float64, via torch.distributions."""
    q = Normal(mu.double(), (0.5 * logvar.double()).exp())
    return kl_divergence(q, Normal(torch.zeros_like(q.loc), torch.ones_like(q.scale))).sum(-1)


@pytest.mark.parametrize("beta, recon_weight", [(1.0, 1.0), (4.0, 99.5), (0.5, 2.0)])
def test_vae_terms_match_float64_reference(beta, recon_weight):
    log_px, mu, logvar, z = random_posterior(views=3)
    terms = vae_terms(log_px, mu, logvar, beta, recon_weight)
    recon = log_px.double().sum(1).mean()
    kl = reference_kl(mu, logvar).sum(1).mean()
    torch.testing.assert_close(terms["reconstruction"].double(), recon, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(terms["kl"].double(), kl, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(terms["elbo"].double(), recon - kl, rtol=1e-6, atol=1e-4)
    torch.testing.assert_close(terms["loss"].double(), -(recon_weight * recon - beta * kl), rtol=1e-6, atol=1e-3)
    assert set(terms) == {"loss", "elbo", "reconstruction", "kl"}
    assert all(t.dim() == 0 for t in terms.values())


def test_closed_form_kl_ignores_z_and_is_nonnegative():
    _, mu, logvar, z = random_posterior()
    torch.testing.assert_close(vae_kl(mu, logvar), vae_kl(mu, logvar, z, pi_entropy=False))
    assert (vae_kl(mu, logvar) >= 0).all()
    assert torch.equal(vae_kl(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


def test_pi_entropy_kl_is_official_entropy_plus_log_prior_at_z():
    log_px, mu, logvar, z = random_posterior()
    # official code: entropy = 0.5 * sum(2 pi * logvar); prior = log N(z; 0, I) with its constant
    neg_kl = 0.5 * (2 * math.pi * logvar.double()).sum(-1) + Normal(0.0, 1.0).log_prob(z.double()).sum(-1)
    torch.testing.assert_close(vae_kl(mu, logvar, z, pi_entropy=True).double(), -neg_kl, rtol=1e-6, atol=1e-5)
    terms = vae_terms(log_px, mu, logvar, 1.0, 1.0, z, pi_entropy=True)
    torch.testing.assert_close(terms["kl"].double(), (-neg_kl).sum(1).mean(), rtol=1e-6, atol=1e-5)
    with pytest.raises(ValueError):
        vae_kl(mu, logvar, None, pi_entropy=True)


def test_pi_entropy_false_estimator_is_unbiased_for_closed_form():
    # with the correct entropy, H[q] + E_q[log N(z;0,I)] = -KL: a Monte Carlo check of the closed form
    g = torch.Generator().manual_seed(1)
    mu, logvar = torch.randn(1, 3, dtype=torch.float64, generator=g), torch.randn(1, 3, dtype=torch.float64, generator=g)
    z = mu + torch.randn(200_000, 3, dtype=torch.float64, generator=g) * (0.5 * logvar).exp()
    entropy = 0.5 * (math.log(2 * math.pi) + 1 + logvar).sum()
    mc = -(entropy + Normal(0.0, 1.0).log_prob(z).sum(-1).mean())
    torch.testing.assert_close(mc, vae_kl(mu, logvar)[0], rtol=0, atol=0.02)


def make_views(batch=3, views=2, seed=0):
    return torch.rand(batch, views, *SPEC.image_shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_gradients_reach_encoder_and_decoder(likelihood):
    torch.manual_seed(0)
    model = build_method(VAEConfig(likelihood=likelihood), SPEC)
    terms = model(make_views(), torch.zeros(3, dtype=torch.int64))
    assert torch.isfinite(terms["loss"])
    terms["loss"].backward()
    for name, p in [*model.encoder.named_parameters(), *model.decoder.named_parameters()]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_training_terms_use_the_models_own_likelihood():
    torch.manual_seed(0)
    model = build_method(VAEConfig(likelihood="bernoulli"), SPEC)
    views = make_views(batch=2, views=3)
    torch.manual_seed(5)
    terms = model(views, torch.zeros(2, dtype=torch.int64))
    torch.manual_seed(5)
    out = model.encode_views(views)
    log_px = model.log_likelihood(out["logits"].flatten(0, 1), views.flatten(0, 1)).view(2, 3)
    expected = vae_terms(log_px, out["mu"], out["logvar"])
    for key in expected:
        torch.testing.assert_close(terms[key], expected[key])


def test_generative_interface():
    model = build_method(method_config("vae"), SPEC)
    assert METHODS["vae"] is VAE and model.min_views == 1
    images = make_views(batch=4, views=1)[:, 0]
    assert model.representations(images)["mean"].shape == (4, 3)
    assert model.reconstruct(images).shape == images.shape
    assert model.sample(2).shape == (2, *SPEC.image_shape)


def test_config_from_overrides_and_validation():
    config = load_config(overrides=["method.name=vae", "method.beta=2"])
    assert isinstance(config.method, VAEConfig) and config.method.name == "vae" and config.method.beta == 2.0
    for bad in ("0", "-1"):
        with pytest.raises(ConfigError, match="method.beta"):
            load_config(overrides=["method.name=vae", f"method.beta={bad}"])
    with pytest.raises(ConfigError, match="method.recon_weight"):
        load_config(overrides=["method.name=vae", "method.recon_weight=0"])
