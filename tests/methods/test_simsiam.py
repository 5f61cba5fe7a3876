"""SimSiam: the negative-cosine loss against float64 numpy, symmetry and the stop-gradient."""

import numpy as np
import pytest
import torch

from simvae.config import config_from_dict
from simvae.errors import ConfigError
from simvae.methods import ModelSpec, build_method, method_config
from simvae.methods.discriminative import ordered_pair_mean
from simvae.methods.simsiam import simsiam_loss

SPEC = ModelSpec(image_shape=(1, 8, 8), latent_dim=4, backbone="mlp", num_classes=3)


def reference(p, z):
    """mean_b -(p_b . z_b) / (|p_b| |z_b|), by numpy loops."""
    p, z = np.asarray(p, np.float64), np.asarray(z, np.float64)
    return float(np.mean([-(pb @ zb) / (np.linalg.norm(pb) * np.linalg.norm(zb)) for pb, zb in zip(p, z)]))


def test_loss_matches_numpy_reference_and_known_values():
    p, z = torch.randn(7, 5, dtype=torch.float64), torch.randn(7, 5, dtype=torch.float64)
    assert simsiam_loss(p, z).item() == pytest.approx(reference(p.numpy(), z.numpy()), rel=1e-10)
    assert simsiam_loss(p, 3.0 * p).item() == pytest.approx(-1.0)
    e = torch.eye(2, dtype=torch.float64)
    assert simsiam_loss(e[:1], e[1:]).item() == 0.0  # orthogonal


def test_symmetrised_loss_is_the_papers_and_symmetric_in_the_views(small_method):
    p, z = torch.randn(6, 2, 4, dtype=torch.float64), torch.randn(6, 2, 4, dtype=torch.float64)
    expected = reference(p[:, 0], z[:, 1]) / 2 + reference(p[:, 1], z[:, 0]) / 2  # D(p1, z2)/2 + D(p2, z1)/2
    assert ordered_pair_mean(simsiam_loss, p, z).item() == pytest.approx(expected, rel=1e-10)
    torch.testing.assert_close(ordered_pair_mean(simsiam_loss, p, z), ordered_pair_mean(simsiam_loss, p.flip(1), z.flip(1)))
    torch.manual_seed(0)
    method = small_method("simsiam")
    views = torch.rand(5, 2, 1, 8, 8)
    labels = torch.zeros(5, dtype=torch.long)
    torch.testing.assert_close(method.training_terms(views, labels)["loss"], method.training_terms(views.flip(1), labels)["loss"])


def test_stop_gradient_on_the_target_branch():
    p = torch.randn(4, 3, requires_grad=True)
    z = torch.randn(4, 3, requires_grad=True)
    simsiam_loss(p, z).backward()
    assert p.grad is not None and z.grad is None
    # through the symmetrised loss, z gets gradient only via p = h(z), never directly
    z = torch.randn(4, 2, 3, requires_grad=True)
    linear = torch.nn.Linear(3, 3)
    p = linear(z)
    ordered_pair_mean(simsiam_loss, p, z).backward()
    p_direct = p.detach().requires_grad_()
    ordered_pair_mean(simsiam_loss, p_direct, z.detach()).backward()
    torch.testing.assert_close(z.grad, p_direct.grad @ linear.weight)


def test_predictor_is_a_bottleneck_by_default():
    config = method_config("simsiam")
    method = build_method(config, SPEC)
    assert method.predictor[0].out_features == config.head_dim // 4 and method.predictor[-1].out_features == config.head_dim
    config.pred_hidden = 7
    assert build_method(config, SPEC).predictor[0].out_features == 7


def test_config_validation():
    with pytest.raises(ConfigError, match="method.pred_hidden"):
        config_from_dict({"method": {"name": "simsiam", "pred_hidden": 0}})
