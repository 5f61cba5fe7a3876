"""Representation diagnostics: each against a loop-by-loop float64 reference, their properties, a tiny real run."""

import math

import numpy as np
import pytest
import torch

from simvae.config import load_config
from simvae.data.shapes import load_shapes
from simvae.evaluation.diagnostics import (
    alignment,
    diagnose_run,
    diagnostics,
    effective_rank,
    uniformity,
    view_variance_ratio,
)
from simvae.runs import setup as run_setup
from simvae.training import train


def random(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def unit(row):
    return row / np.linalg.norm(row)


def test_view_variance_ratio_matches_reference():
    z = random(7, 3, 4)
    x = z.double().numpy()
    n, j, d = x.shape
    within = 0.0
    for i in range(n):
        for k in range(d):
            mean = sum(x[i, v, k] for v in range(j)) / j
            within += sum((x[i, v, k] - mean) ** 2 for v in range(j)) / j
    within /= n
    means = x.mean(axis=1)
    between = sum(sum((means[i, k] - means[:, k].mean()) ** 2 for i in range(n)) / n for k in range(d))
    assert view_variance_ratio(z) == pytest.approx(within / between, rel=1e-12)


def test_effective_rank_matches_reference():
    z = random(7, 4)
    s = np.linalg.svd(z.double().numpy() - z.double().numpy().mean(axis=0), compute_uv=False)
    p = s / s.sum()
    assert effective_rank(z) == pytest.approx(math.exp(-sum(q * math.log(q) for q in p if q > 0)), rel=1e-12)


def test_alignment_matches_reference():
    z1, z2 = random(7, 4, seed=1), random(7, 4, seed=2)
    a, b = z1.double().numpy(), z2.double().numpy()
    for alpha in (1, 2):
        reference = sum(np.linalg.norm(unit(a[i]) - unit(b[i])) ** alpha for i in range(7)) / 7
        assert alignment(z1, z2, alpha) == pytest.approx(reference, rel=1e-12)


def test_uniformity_matches_reference():
    z = random(7, 4)
    f = [unit(row) for row in z.double().numpy()]
    pairs = [math.exp(-2 * np.sum((f[i] - f[j]) ** 2)) for i in range(7) for j in range(i + 1, 7)]
    assert uniformity(z) == pytest.approx(math.log(sum(pairs) / len(pairs)), rel=1e-12)


def test_identical_views_give_ratio_and_alignment_zero():
    z = random(7, 1, 4).expand(7, 3, 4)
    assert view_variance_ratio(z) == 0.0
    assert alignment(z[:, 0], z[:, 1]) == 0.0


def test_ratio_is_invariant_to_scale():
    z = random(7, 3, 4).double()
    assert view_variance_ratio(3.5 * z) == pytest.approx(view_variance_ratio(z), rel=1e-12)


def test_effective_rank_counts_the_dimensions_used():
    low = random(200, 2) @ random(2, 8, seed=1)  # rank 2 in 8 dims
    assert 1.0 <= effective_rank(low) <= 2.0 + 1e-6
    assert effective_rank(random(5000, 8)) > 7.5  # isotropic Gaussian: close to D


def test_uniformity_is_zero_for_one_point_and_lower_when_spread():
    assert uniformity(torch.tensor([[2.0, 0.0]]).repeat(5, 1)) == pytest.approx(0.0, abs=1e-12)
    angles = torch.linspace(0, 2 * math.pi, 33)[:-1]
    even = torch.stack([angles.cos(), angles.sin()], dim=1)
    clustered = torch.stack([(0.1 * angles).cos(), (0.1 * angles).sin()], dim=1)  # within 0.63 rad
    assert uniformity(even) < uniformity(clustered) < 0


def test_diagnostics_collects_every_measure():
    z = random(7, 3, 4)
    result = diagnostics(z)
    assert result == {"view_variance_ratio": view_variance_ratio(z), "effective_rank": effective_rank(z[:, 0]),
                      "effective_rank_max": 4, "alignment": alignment(z[:, 0], z[:, 1]), "uniformity": uniformity(z[:, 0])}
    with pytest.raises(ValueError):
        diagnostics(z[:, :1])


def test_diagnose_run_on_a_tiny_run_is_finite_and_repeatable(tmp_path, monkeypatch):
    small = load_shapes(0.1, 0, sizes={"train": 40, "test": 48})  # the full shapes data takes seconds to generate
    monkeypatch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: small)
    config = load_config(overrides=["data.name=shapes", "train.batch_size=8", "net.latent_dim=4"])
    train(config, tmp_path / "run", max_steps=2, progress=False)
    state = torch.random.get_rng_state()
    first = diagnose_run(tmp_path / "run", max_samples=40, views=3)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG stream is untouched
    assert set(first) == {"view_variance_ratio", "effective_rank", "effective_rank_max", "alignment", "uniformity",
                          "representation", "samples", "views"}
    assert first["samples"] == 40 and first["views"] == 3 and first["effective_rank_max"] == 4
    assert all(math.isfinite(first[k]) for k in ("view_variance_ratio", "effective_rank", "alignment", "uniformity"))
    assert diagnose_run(tmp_path / "run", max_samples=40, views=3) == first
    assert diagnose_run(tmp_path / "run", max_samples=40)["views"] == 2  # the run's augment.views
    with pytest.raises(ValueError, match="at least 2 views"):
        diagnose_run(tmp_path / "run", views=1)
