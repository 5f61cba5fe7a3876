"""BYOL: the normalised-MSE loss against float64 numpy, symmetry, stop-gradient and the target's EMA."""

import numpy as np
import pytest
import torch

from simvae.config import config_from_dict
from simvae.errors import ConfigError
from simvae.methods.byol import byol_loss
from simvae.methods.discriminative import ordered_pair_mean


def reference(p, z):
    """mean_b || p_b/|p_b| - z_b/|z_b| ||^2, by numpy loops."""
    p, z = np.asarray(p, np.float64), np.asarray(z, np.float64)
    return float(np.mean([np.sum((pb / np.linalg.norm(pb) - zb / np.linalg.norm(zb)) ** 2) for pb, zb in zip(p, z)]))


def test_loss_matches_numpy_reference_and_known_values():
    p, z = torch.randn(7, 5, dtype=torch.float64), torch.randn(7, 5, dtype=torch.float64)
    assert byol_loss(p, z).item() == pytest.approx(reference(p.numpy(), z.numpy()), rel=1e-10)
    assert byol_loss(p, 2.0 * p).item() == pytest.approx(0.0, abs=1e-12)  # aligned
    assert byol_loss(p, -p).item() == pytest.approx(4.0)  # opposite


def test_symmetrised_loss_is_symmetric_in_the_views(small_method):
    p, z = torch.randn(6, 2, 4, dtype=torch.float64), torch.randn(6, 2, 4, dtype=torch.float64)
    torch.testing.assert_close(ordered_pair_mean(byol_loss, p, z), ordered_pair_mean(byol_loss, p.flip(1), z.flip(1)))
    expected = (reference(p[:, 0], z[:, 1]) + reference(p[:, 1], z[:, 0])) / 2
    assert ordered_pair_mean(byol_loss, p, z).item() == pytest.approx(expected, rel=1e-10)
    torch.manual_seed(0)
    method = small_method("byol")
    views = torch.rand(5, 2, 1, 8, 8)
    labels = torch.zeros(5, dtype=torch.long)
    torch.testing.assert_close(method.training_terms(views, labels)["loss"], method.training_terms(views.flip(1), labels)["loss"])


def test_stop_gradient_on_the_target(small_method):
    p = torch.randn(4, 3, requires_grad=True)
    z = torch.randn(4, 3, requires_grad=True)
    byol_loss(p, z).backward()
    assert p.grad is not None and z.grad is None
    torch.manual_seed(0)
    method = small_method("byol")
    method.training_terms(torch.rand(4, 2, 1, 8, 8), torch.zeros(4, dtype=torch.long))["loss"].backward()
    target = [*method.target_encoder.parameters(), *method.target_head.parameters()]
    assert all(not t.requires_grad and t.grad is None for t in target)
    assert all(t.grad is not None for t in method.predictor.parameters())


def test_on_step_end_is_an_ema_of_the_online_networks(small_method):
    torch.manual_seed(0)
    method = small_method("byol", momentum=0.75)
    online = [*method.encoder.parameters(), *method.head.parameters()]
    target = [*method.target_encoder.parameters(), *method.target_head.parameters()]
    for p_online, p_target in zip(online, target):
        torch.testing.assert_close(p_online, p_target)  # the target starts as a copy
    with torch.no_grad():
        for p in online:
            p.add_(torch.randn_like(p))
    old = [p.clone() for p in target]
    method.on_step_end()
    for p_old, p_online, p_target in zip(old, online, target):
        torch.testing.assert_close(p_target, 0.75 * p_old + 0.25 * p_online)


@pytest.mark.parametrize(("key", "value"), [("momentum", 1.0), ("momentum", -0.5), ("pred_hidden", 0)])
def test_config_validation(key, value):
    with pytest.raises(ConfigError, match=f"method.{key}"):
        config_from_dict({"method": {"name": "byol", key: value}})
