"""SimCLR's NT-Xent against independent float64 references (explicit loops), known values and symmetries."""

import math

import numpy as np
import pytest
import torch

from simvae.config import config_from_dict
from simvae.errors import ConfigError
from simvae.methods.simclr import nt_xent


def reference_multi_positive(z, temperature):
    """Loop over anchors a = (b, i): -mean over the other views p of log(exp(s_ap) / sum_{k != a} exp(s_ak))."""
    z = np.asarray(z, dtype=np.float64)
    batch, n_views, _ = z.shape
    flat = z.reshape(batch * n_views, -1)
    flat = flat / np.linalg.norm(flat, axis=1, keepdims=True)
    owner = [a // n_views for a in range(batch * n_views)]
    losses = []
    for a in range(batch * n_views):
        sims = {k: flat[a] @ flat[k] / temperature for k in range(batch * n_views) if k != a}
        denominator = sum(math.exp(s) for s in sims.values())
        positives = [k for k in sims if owner[k] == owner[a]]
        losses.append(np.mean([-math.log(math.exp(sims[p]) / denominator) for p in positives]))
    return float(np.mean(losses))


def reference_textbook_nt_xent(z1, z2, temperature):
    """SimCLR's two-view NT-Xent as written in the paper: 2B anchors, positive of k is k +- B."""
    z = torch.cat([z1, z2]).double()
    z = z / z.norm(dim=1, keepdim=True)
    n = len(z)
    total = 0.0
    for k in range(n):
        positive = (k + n // 2) % n
        numerator = torch.exp(z[k] @ z[positive] / temperature)
        denominator = sum(torch.exp(z[k] @ z[m] / temperature) for m in range(n) if m != k)
        total += -torch.log(numerator / denominator)
    return total / n


@pytest.mark.parametrize("n_views", [2, 3, 4])
@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0])
def test_nt_xent_matches_loop_reference(n_views, temperature):
    z = torch.randn(5, n_views, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(n_views))
    assert nt_xent(z, temperature).item() == pytest.approx(reference_multi_positive(z.numpy(), temperature), rel=1e-10)


def test_two_views_equal_the_textbook_nt_xent():
    z = torch.randn(6, 2, 5, dtype=torch.float64)
    torch.testing.assert_close(nt_xent(z, 0.5), reference_textbook_nt_xent(z[:, 0], z[:, 1], 0.5))


def test_known_value_for_aligned_orthogonal_embeddings():
    # B = 2, J = 2, views (e1, e1) and (e2, e2), tau = 0.5. For every anchor: positive similarity
    # 1/0.5 = 2, the two views of the other image have similarity 0, so
    # loss = -log(e^2 / (e^2 + e^0 + e^0)) = log(1 + 2 e^-2) = 0.2395447662...
    e1, e2 = torch.eye(2, dtype=torch.float64)
    z = torch.stack([torch.stack([e1, e1]), torch.stack([e2, e2])])
    assert nt_xent(z, 0.5).item() == pytest.approx(math.log(1 + 2 * math.exp(-2)), rel=1e-12)
    assert nt_xent(3.0 * z, 0.5).item() == pytest.approx(0.2395447662218845, rel=1e-12)  # scale-free


def test_invariant_to_batch_permutation_and_view_swap():
    z = torch.randn(7, 3, 4, dtype=torch.float64)
    value = nt_xent(z, 0.3)
    torch.testing.assert_close(nt_xent(z[torch.randperm(7)], 0.3), value)
    torch.testing.assert_close(nt_xent(z.flip(1), 0.3), value)
    torch.testing.assert_close(nt_xent(z[:, [1, 0, 2]], 0.3), value)


@pytest.mark.parametrize("value", [0, -0.1])
def test_temperature_must_be_positive(value):
    with pytest.raises(ConfigError, match="method.temperature"):
        config_from_dict({"method": {"name": "simclr", "temperature": value}})
