"""VICReg's terms against an independent float64 numpy reference, known values and pair averaging."""

import math

import numpy as np
import pytest
import torch

from simvae.config import config_from_dict
from simvae.errors import ConfigError
from simvae.methods import ModelSpec, build_method, method_config
from simvae.methods.vicreg import vicreg_terms, vicreg_view_terms

SPEC = ModelSpec(image_shape=(1, 8, 8), latent_dim=4, backbone="mlp", num_classes=3)


def reference(a, b, sim=25.0, var=25.0, cov=1.0, eps=1e-4, gamma=1.0):
    """VICReg by numpy: np.var/np.cov with ddof 1, hinge per dimension, off-diagonal entries by loop."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    invariance = np.mean((a - b) ** 2)

    def v(z):
        return np.mean([max(0.0, gamma - math.sqrt(np.var(z[:, d], ddof=1) + eps)) for d in range(z.shape[1])])

    def c(z):
        matrix = np.cov(z, rowvar=False)
        dim = z.shape[1]
        return sum(matrix[i, j] ** 2 for i in range(dim) for j in range(dim) if i != j) / dim

    variance = (v(a) + v(b)) / 2
    covariance = c(a) + c(b)
    return {"loss": sim * invariance + var * variance + cov * covariance, "invariance": invariance,
            "variance": variance, "covariance": covariance}


def test_terms_match_numpy_reference():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(9, 5, dtype=torch.float64, generator=gen) * torch.tensor([0.1, 0.5, 1.0, 2.0, 3.0], dtype=torch.float64)
    b = a + 0.3 * torch.randn(9, 5, dtype=torch.float64, generator=gen)
    got = vicreg_terms(a, b)
    for key, value in reference(a.numpy(), b.numpy()).items():
        assert got[key].item() == pytest.approx(value, rel=1e-10), key
    got = vicreg_terms(a, b, 2.0, 3.0, 4.0, 1e-2, 0.5)
    assert got["loss"].item() == pytest.approx(reference(a.numpy(), b.numpy(), 2.0, 3.0, 4.0, 1e-2, 0.5)["loss"], rel=1e-10)


def test_identical_inputs_have_zero_invariance():
    z = torch.randn(6, 3, dtype=torch.float64)
    assert vicreg_terms(z, z.clone())["invariance"].item() == 0.0


def test_constant_batch_variance_term():
    # Var = 0 in every dimension: max(0, 1 - sqrt(0 + 1e-4)) = 0.99 per dimension and branch
    z = torch.full((5, 4), 2.5, dtype=torch.float64)
    terms = vicreg_terms(z, z)
    assert terms["variance"].item() == pytest.approx(1 - math.sqrt(1e-4), rel=1e-12)
    assert terms["covariance"].item() == 0.0
    assert terms["loss"].item() == pytest.approx(25 * 0.99, rel=1e-12)


def test_known_covariance_of_a_two_dimensional_example():
    # z = (0,0), (1,2), (2,4): mean (1,2), Cov (1/(N-1) = 1/2) = [[1, 2], [2, 4]];
    # off-diagonal 2^2 + 2^2 = 8, divided by D = 2 -> 4 per branch; stds 1 and 2 give no variance hinge.
    z = torch.tensor([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]], dtype=torch.float64)
    terms = vicreg_terms(z, z)
    assert terms["covariance"].item() == pytest.approx(8.0)  # c(Z_a) + c(Z_b) = 4 + 4
    assert terms["variance"].item() == 0.0
    assert terms["loss"].item() == pytest.approx(8.0)


def test_method_averages_over_view_pairs():
    torch.manual_seed(0)
    config = method_config("vicreg")
    config.head_hidden, config.head_dim = 16, 6
    method = build_method(config, SPEC)
    views = torch.rand(5, 3, 1, 8, 8)
    terms = method.training_terms(views, torch.zeros(5, dtype=torch.long))
    z = method.embed_views(views).detach().double().numpy()
    pairs = [reference(z[:, i], z[:, j]) for i in range(3) for j in range(3) if i != j]
    for key in ("loss", "invariance", "variance", "covariance"):
        assert terms[key].item() == pytest.approx(np.mean([p[key] for p in pairs]), rel=1e-4), key


def test_view_terms_match_the_reference_mean_over_pairs_in_value_and_gradient():
    torch.manual_seed(1)
    z = torch.randn(6, 3, 4, dtype=torch.float64, requires_grad=True)
    terms = vicreg_view_terms(z, 2.0, 3.0, 0.5)

    def mean_reference(values, key="loss"):
        pairs = [reference(values[:, i], values[:, j], 2.0, 3.0, 0.5) for i in range(3) for j in range(i + 1, 3)]
        return np.mean([p[key] for p in pairs])

    values = z.detach().numpy()
    for key in ("loss", "invariance", "variance", "covariance"):
        assert terms[key].item() == pytest.approx(mean_reference(values, key), rel=1e-10), key
    terms["loss"].backward()
    numeric = np.zeros_like(values)
    for index in np.ndindex(values.shape):  # central differences of the numpy reference
        step = np.zeros_like(values)
        step[index] = 1e-6
        numeric[index] = (mean_reference(values + step) - mean_reference(values - step)) / 2e-6
    np.testing.assert_allclose(z.grad.numpy(), numeric, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="J >= 2"):
        vicreg_view_terms(z[:, :1])


@pytest.mark.parametrize(
    ("key", "value"), [("eps", 0), ("sim_weight", -1), ("var_weight", -1), ("cov_weight", -1), ("target_std", 0)]
)
def test_config_validation(key, value):
    with pytest.raises(ConfigError, match=f"method.{key}"):
        config_from_dict({"method": {"name": "vicreg", key: value}})
