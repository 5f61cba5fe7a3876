"""Barlow Twins: the loss against a float64 numpy reference of the paper's equations (value, and gradient by finite
differences of that reference), known values, pair averaging, the projector, and a tiny run from the command line."""

import json

import numpy as np
import pytest
import torch

from simvae.cli.main import main
from simvae.config import config_from_dict
from simvae.errors import ConfigError
from simvae.methods import METHODS
from simvae.methods.barlowtwins import barlow_twins_terms
from simvae.runs import setup as run_setup


def reference(a, b, lambd=5e-3, eps=1e-5):
    """C_ij = sum_b za_bi zb_bj / N of the batch-standardised embeddings (biased std, as BatchNorm), then
    sum_i (1 - C_ii)^2 + lambda sum_{i != j} C_ij^2, by loops in float64."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    n, dim = a.shape

    def standard(z):
        return (z - z.mean(0)) / np.sqrt(z.var(0) + eps)  # numpy's var is the biased one

    za, zb = standard(a), standard(b)
    c = np.array([[sum(za[k, i] * zb[k, j] for k in range(n)) / n for j in range(dim)] for i in range(dim)])
    invariance = sum((1 - c[i, i]) ** 2 for i in range(dim))
    redundancy = sum(c[i, j] ** 2 for i in range(dim) for j in range(dim) if i != j)
    return {"loss": invariance + lambd * redundancy, "invariance": invariance, "redundancy": redundancy}


def numerical_gradient(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        grad[index] = (f(up) - f(down)) / (2 * h)
    return grad


def embeddings(seed=0):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(7, 4, dtype=torch.float64, generator=gen) * torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=torch.float64)
    return a, a + 0.5 * torch.randn(7, 4, dtype=torch.float64, generator=gen)


def test_terms_and_gradient_match_the_papers_equations():
    a, b = embeddings()
    for lambd in (5e-3, 0.5):
        got = barlow_twins_terms(a, b, lambd)
        for key, value in reference(a.numpy(), b.numpy(), lambd).items():
            assert got[key].item() == pytest.approx(value, rel=1e-10), key
    a.requires_grad_(), b.requires_grad_()
    barlow_twins_terms(a, b, 0.5)["loss"].backward()
    for mine, other, which in ((a, b, "a"), (b, a, "b")):
        def loss_of(x, other=other.detach().numpy(), which=which):
            return reference(x, other, 0.5)["loss"] if which == "a" else reference(other, x, 0.5)["loss"]
        np.testing.assert_allclose(mine.grad.numpy(), numerical_gradient(loss_of, mine.detach().numpy()), rtol=1e-6, atol=1e-8)


def test_known_values_decorrelated_twins_have_zero_loss():
    # two orthogonal +-1 columns: standardised they are themselves, so C = I (up to eps) for identical twins
    z = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)
    terms = barlow_twins_terms(z, z.clone(), eps=1e-12)
    assert terms["loss"].item() == pytest.approx(0.0, abs=1e-10)
    flipped = barlow_twins_terms(z, -z, eps=1e-12)  # C = -I: each diagonal entry (1 - (-1))^2 = 4
    assert flipped["invariance"].item() == pytest.approx(8.0) and flipped["redundancy"].item() == pytest.approx(0.0, abs=1e-10)


def test_method_averages_over_view_pairs_and_has_a_three_layer_projector(small_method):
    torch.manual_seed(0)
    method = small_method("barlowtwins")
    assert not METHODS["barlowtwins"].uses_local_crops
    kinds = [type(layer).__name__ for layer in method.head]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    views = torch.rand(6, 3, 1, 8, 8)
    terms = method.training_terms(views, torch.zeros(6, dtype=torch.long))
    z = method.embed_views(views).detach().double().numpy()
    pairs = [reference(z[:, i], z[:, j]) for i in range(3) for j in range(i + 1, 3)]
    for key in ("loss", "invariance", "redundancy"):
        assert terms[key].item() == pytest.approx(np.mean([p[key] for p in pairs]), rel=1e-4), key


@pytest.mark.parametrize(("key", "value"), [("lambda_offdiag", -1), ("eps", 0)])
def test_config_validation(key, value):
    with pytest.raises(ConfigError, match=f"method.{key}"):
        config_from_dict({"method": {"name": "barlowtwins", key: value}})


def test_trains_from_the_command_line_and_probes(tmp_path, small_shapes, monkeypatch):
    monkeypatch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: small_shapes)
    run = tmp_path / "barlowtwins"
    assert main(["train", "--out", str(run), "method.name=barlowtwins", "data.limit_train=96", "train.batch_size=32",
                 "train.epochs=1", "net.latent_dim=3", "eval.mlp_steps=20", "eval.gmm_n_init=1", "eval.knn_k=[1]",
                 "eval.figures=false"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["method"] == "barlowtwins" and 0.0 <= metrics["results"]["encoder"]["content"]["linear"]["test"] <= 1.0
    assert "local_crops: null" in (run / "config.yaml").read_text()  # it takes the global views only
