"""SimVAE's terms against independent float64 references (torch.distributions, quadrature)."""

import math

import pytest
import torch
from torch.distributions import MultivariateNormal, Normal

from simvae.config import load_config
from simvae.errors import ConfigError
from simvae.methods import ModelSpec, build_method
from simvae.methods.likelihood import gaussian_entropy, log_likelihood
from simvae.methods.simvae import SimVAEConfig, simvae_log_prior, simvae_terms

SIGMA2 = 0.15


def reference_plugin(z, sigma2, p_y):
    """y := mean of the views; sum_j log N(z_j; y, sigma2 I) + log p(y), by explicit loops."""
    out = []
    for sample in z:
        y = sample.mean(0)
        value = sum(Normal(y, math.sqrt(sigma2)).log_prob(view).sum() for view in sample)
        if p_y == "gaussian":
            value = value + Normal(torch.zeros_like(y), 1.0).log_prob(y).sum()
        out.append(value)
    return torch.stack(out)


def reference_exact_gaussian(z, sigma2):
    """Per latent dimension the J views are jointly N(0, sigma2 I + 1 1^T) once y ~ N(0, 1) is integrated out."""
    n_views = z.shape[1]
    cov = sigma2 * torch.eye(n_views, dtype=z.dtype) + torch.ones(n_views, n_views, dtype=z.dtype)
    joint = MultivariateNormal(torch.zeros(n_views, dtype=z.dtype), covariance_matrix=cov)
    return joint.log_prob(z.transpose(1, 2)).sum(-1)  # (B, d, J) -> sum over d


def quadrature(z, sigma2, p_y):
    """log of the integral over y on a fine grid (one latent dimension, z of shape (J,))."""
    y = torch.linspace(-12, 12, 200001, dtype=torch.float64)
    integrand = Normal(y[:, None], math.sqrt(sigma2)).log_prob(z[None, :]).sum(1)
    if p_y == "gaussian":
        integrand = integrand + Normal(0.0, 1.0).log_prob(y)
    return torch.logsumexp(integrand, 0) + math.log(y[1] - y[0])


@pytest.mark.parametrize("p_y", ["gaussian", "uniform"])
@pytest.mark.parametrize("n_views", [2, 3, 5])
def test_plugin_prior_matches_loop_reference(p_y, n_views):
    z = torch.randn(4, n_views, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(n_views))
    got = simvae_log_prior(z, SIGMA2, p_y, "plugin")
    torch.testing.assert_close(got, reference_plugin(z, SIGMA2, p_y))


def test_plugin_prior_for_two_views_is_the_squared_distance_of_the_pair():
    z = torch.randn(5, 2, 4, dtype=torch.float64)
    got = simvae_log_prior(z, SIGMA2, "uniform", "plugin")
    constant = -0.5 * 2 * 4 * math.log(2 * math.pi * SIGMA2)
    torch.testing.assert_close(got, -(z[:, 0] - z[:, 1]).pow(2).sum(-1) / (4 * SIGMA2) + constant)


@pytest.mark.parametrize("n_views", [2, 4])
def test_exact_gaussian_prior_matches_multivariate_normal(n_views):
    z = torch.randn(6, n_views, 3, dtype=torch.float64)
    torch.testing.assert_close(simvae_log_prior(z, SIGMA2, "gaussian", "exact"), reference_exact_gaussian(z, SIGMA2))


@pytest.mark.parametrize("p_y", ["gaussian", "uniform"])
def test_exact_prior_matches_numerical_integration_over_y(p_y):
    z = torch.tensor([[0.3], [-0.1], [0.45]], dtype=torch.float64).T.unsqueeze(-1)  # (1, J=3, d=1)
    got = simvae_log_prior(z, SIGMA2, p_y, "exact")
    torch.testing.assert_close(got, quadrature(z[0, :, 0], SIGMA2, p_y).reshape(1), atol=1e-8, rtol=1e-8)


def test_exact_and_plugin_differ_only_by_the_shrinkage_of_the_mean():
    z = torch.randn(3, 2, 5, dtype=torch.float64)
    zbar_sq = z.mean(1).pow(2).sum(-1)
    difference = simvae_log_prior(z, SIGMA2, "gaussian", "exact") - simvae_log_prior(z, SIGMA2, "gaussian", "plugin")
    # exact: -|zbar|^2 / (2 (1 + sigma2/J));  plugin: -|zbar|^2 / 2; the rest is constant in z
    shrink = 0.5 * zbar_sq - 0.5 * zbar_sq / (1 + SIGMA2 / 2)
    torch.testing.assert_close(difference - shrink, (difference - shrink)[:1].expand(3))


def test_entropy_is_the_gaussian_entropy_and_the_official_variant_is_pi_scaled():
    logvar = torch.randn(4, 6, dtype=torch.float64)
    expected = Normal(torch.zeros_like(logvar), (0.5 * logvar).exp()).entropy().sum(-1)
    torch.testing.assert_close(gaussian_entropy(logvar), expected)
    torch.testing.assert_close(gaussian_entropy(logvar, pi_scaled=True), math.pi * logvar.sum(-1))


def test_log_likelihoods_match_explicit_formulas():
    logits = torch.randn(3, 1, 4, 4, dtype=torch.float64)
    x = torch.rand(3, 1, 4, 4, dtype=torch.float64)
    mean = torch.sigmoid(logits)
    bernoulli = (x * mean.log() + (1 - x) * (1 - mean).log()).sum((1, 2, 3))
    torch.testing.assert_close(log_likelihood(logits, x, "bernoulli"), bernoulli)
    gaussian = Normal(mean, math.exp(0.5 * -4.6)).log_prob(x).sum((1, 2, 3))
    torch.testing.assert_close(log_likelihood(logits, x, "gaussian", -4.6), gaussian)
    with pytest.raises(ValueError, match="unknown likelihood"):
        log_likelihood(logits, x, "poisson")


def test_simvae_terms_assemble_the_elbo_and_the_weighted_loss():
    generator = torch.Generator().manual_seed(0)
    log_px = -torch.rand(4, 2, dtype=torch.float64, generator=generator) * 100
    logvar = torch.randn(4, 2, 3, dtype=torch.float64, generator=generator)
    z = torch.randn(4, 2, 3, dtype=torch.float64, generator=generator)
    config = SimVAEConfig(recon_weight=2.0)
    terms = simvae_terms(log_px, logvar, z, config)
    reconstruction = log_px.sum() / 4
    entropy = Normal(torch.zeros_like(logvar), (0.5 * logvar).exp()).entropy().sum() / 4
    prior = reference_plugin(z, SIGMA2, "gaussian").mean()
    torch.testing.assert_close(terms["reconstruction"], reconstruction)
    torch.testing.assert_close(terms["entropy"], entropy)
    torch.testing.assert_close(terms["prior"], prior)
    torch.testing.assert_close(terms["elbo"], reconstruction + entropy + prior)
    torch.testing.assert_close(terms["loss"], -(2.0 * reconstruction + entropy + prior))


@pytest.mark.parametrize("backbone,shape", [("mlp", (1, 8, 8)), ("conv", (3, 16, 16))])
def test_gradients_reach_every_encoder_and_decoder_parameter(backbone, shape):
    torch.manual_seed(0)
    spec = ModelSpec(shape, latent_dim=3, backbone=backbone, num_classes=2, likelihood="bernoulli")
    method = build_method(SimVAEConfig(name="simvae"), spec)
    views = torch.rand(4, 2, *shape)
    method(views, torch.zeros(4, dtype=torch.long))["loss"].backward()
    for name, parameter in method.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_samples_and_reconstructions_are_images_in_the_unit_interval():
    spec = ModelSpec((1, 8, 8), latent_dim=3, backbone="mlp", num_classes=2)
    method = build_method(SimVAEConfig(name="simvae"), spec)
    assert method.sample(5).shape == (5, 1, 8, 8)
    recon = method.reconstruct(torch.rand(2, 1, 8, 8))
    assert recon.shape == (2, 1, 8, 8) and 0 <= recon.min() and recon.max() <= 1


@pytest.mark.parametrize("override,key", [("method.sigma2=0", "method.sigma2"), ("method.p_y=laplace", "method.p_y"),
                                          ("method.y_marginal=mc", "method.y_marginal"), ("method.likelihood=poisson", "method.likelihood")])
def test_bad_simvae_values_fail_at_load_naming_the_key(override, key):
    with pytest.raises(ConfigError, match=key):
        load_config(overrides=[override])
