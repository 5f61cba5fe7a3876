"""CR-VAE (simvae.methods.crvae): consistency term against float64 references, property, gradients, config."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from simvae.config import load_config
from simvae.errors import ConfigError
from simvae.methods import METHODS, ModelSpec, build_method, method_config
from simvae.methods.crvae import CRVAE, CRVAEConfig, crvae_terms, pairwise_posterior_kl

SPEC = ModelSpec(image_shape=(1, 8, 8), latent_dim=3, backbone="conv", num_classes=4)


def random_posterior(batch=4, views=2, dim=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(batch, views, dim, generator=g)
    logvar = torch.randn(batch, views, dim, generator=g)
    log_px = -50 * torch.rand(batch, views, generator=g)
    return log_px, mu, logvar


def normal64(mu, logvar):
    return Normal(mu.double(), (0.5 * logvar.double()).exp())


def reference_consistency(mu, logvar):
    """Per image: mean over ordered pairs a != b of KL(q_a || q_b), float64, by explicit loops."""
    views = mu.shape[1]
    pairs = [(a, b) for a, b in itertools.product(range(views), repeat=2) if a != b]
    per_pair = [kl_divergence(normal64(mu[:, a], logvar[:, a]), normal64(mu[:, b], logvar[:, b])).sum(-1) for a, b in pairs]
    return torch.stack(per_pair).mean(0)


@pytest.mark.parametrize("views", [2, 3])
def test_consistency_matches_float64_reference(views):
    _, mu, logvar = random_posterior(views=views)
    torch.testing.assert_close(pairwise_posterior_kl(mu, logvar).double(), reference_consistency(mu, logvar), rtol=1e-5, atol=1e-5)


def test_two_views_is_mean_of_both_directions():
    _, mu, logvar = random_posterior(views=2)
    forward = kl_divergence(normal64(mu[:, 0], logvar[:, 0]), normal64(mu[:, 1], logvar[:, 1])).sum(-1)
    backward = kl_divergence(normal64(mu[:, 1], logvar[:, 1]), normal64(mu[:, 0], logvar[:, 0])).sum(-1)
    torch.testing.assert_close(pairwise_posterior_kl(mu, logvar).double(), 0.5 * (forward + backward), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("beta, gamma, recon_weight", [(1.0, 1.0, 1.0), (4.0, 0.1, 99.5), (1.0, 0.0, 1.0)])
def test_crvae_terms_match_float64_reference(beta, gamma, recon_weight):
    log_px, mu, logvar = random_posterior(views=3)
    terms = crvae_terms(log_px, mu, logvar, beta, gamma, recon_weight)
    q = normal64(mu, logvar)
    kl = kl_divergence(q, Normal(torch.zeros_like(q.loc), torch.ones_like(q.scale))).sum(-1).sum(1).mean()
    recon = log_px.double().sum(1).mean()
    consistency = reference_consistency(mu, logvar).mean()
    torch.testing.assert_close(terms["reconstruction"].double(), recon, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(terms["kl"].double(), kl, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(terms["elbo"].double(), recon - kl, rtol=1e-6, atol=1e-4)
    torch.testing.assert_close(terms["consistency"].double(), consistency, rtol=1e-5, atol=1e-5)
    expected = -(recon_weight * recon - beta * kl) + gamma * consistency
    torch.testing.assert_close(terms["loss"].double(), expected, rtol=1e-6, atol=1e-3)


def test_consistency_is_zero_for_identical_posteriors_and_needs_two_views():
    _, mu, logvar = random_posterior(views=1)
    same_mu, same_logvar = mu.expand(-1, 3, -1), logvar.expand(-1, 3, -1)
    assert torch.equal(pairwise_posterior_kl(same_mu, same_logvar), torch.zeros(mu.shape[0]))
    with pytest.raises(ValueError):
        pairwise_posterior_kl(mu, logvar)


def test_model_consistency_zero_for_identical_views_positive_otherwise():
    torch.manual_seed(0)
    model = build_method(method_config("crvae"), SPEC)
    image = torch.rand(3, 1, *SPEC.image_shape)
    labels = torch.zeros(3, dtype=torch.int64)
    same = model(image.expand(-1, 2, -1, -1, -1), labels)["consistency"]
    # the encoder is deterministic given its input: identical views give identical posteriors
    torch.testing.assert_close(same, torch.zeros(()), rtol=0, atol=1e-6)
    different = model(torch.cat([image, torch.rand(3, 1, *SPEC.image_shape)], dim=1), labels)["consistency"]
    assert different > 1e-6


def test_gradients_reach_encoder_and_decoder():
    torch.manual_seed(0)
    model = build_method(CRVAEConfig(gamma=2.0), SPEC)
    terms = model(torch.rand(3, 2, *SPEC.image_shape), torch.zeros(3, dtype=torch.int64))
    assert torch.isfinite(terms["loss"])
    terms["loss"].backward()
    for name, p in [*model.encoder.named_parameters(), *model.decoder.named_parameters()]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_consistency_gradient_reaches_encoder_alone():
    torch.manual_seed(0)
    model = build_method(CRVAEConfig(), SPEC)
    out = model.encode_views(torch.rand(2, 2, *SPEC.image_shape))
    pairwise_posterior_kl(out["mu"], out["logvar"]).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoder.parameters())
    assert all(p.grad is None for p in model.decoder.parameters())


def test_interface_and_config():
    assert METHODS["crvae"] is CRVAE and CRVAE.min_views == 2
    config = load_config(overrides=["method.name=crvae", "method.gamma=0.5", "method.beta=2"])
    assert isinstance(config.method, CRVAEConfig) and (config.method.gamma, config.method.beta) == (0.5, 2.0)
    assert method_config("crvae").gamma == 1.0 and method_config("crvae").beta == 1.0
    with pytest.raises(ConfigError, match="method.gamma"):
        load_config(overrides=["method.name=crvae", "method.gamma=-1"])
    with pytest.raises(ConfigError, match="method.beta"):
        load_config(overrides=["method.name=crvae", "method.beta=0"])
