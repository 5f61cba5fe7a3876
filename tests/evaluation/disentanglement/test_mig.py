"""MIG: the binning against np.histogram, the information against scikit-learn, and codes whose answer is known."""

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from simvae.evaluation.disentanglement.mig import discretised, mig, mutual_information


def random_codes(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, 4, n), rng.integers(0, 7, n)], 1)
    codes = np.stack([factors[:, 0] + rng.normal(size=n), rng.exponential(size=n), np.full(n, 1.5),
                      factors[:, 1] * 0.3 + factors[:, 0] + rng.normal(size=n)], 1)
    return codes, factors


def test_the_bins_are_those_np_histogram_counts():
    codes, _ = random_codes()
    binned = discretised(codes, 20)
    assert binned.min() >= 0 and binned.max() <= 19
    for j in range(codes.shape[1]):
        assert (np.bincount(binned[:, j], minlength=20) == np.histogram(codes[:, j], 20)[0]).all()


def test_the_mutual_information_equals_scikit_learns_on_the_same_bins():
    codes, factors = random_codes()
    binned = discretised(codes, 20)
    for k, classes in enumerate((4, 7)):
        ours = mutual_information(binned, factors[:, k], 20, classes)
        reference = [mutual_info_score(factors[:, k], binned[:, j]) for j in range(codes.shape[1])]
        assert ours == pytest.approx(reference, abs=1e-12)


def test_mig_equals_a_direct_computation():
    codes, factors = random_codes()
    binned = np.stack([np.digitize(c, np.histogram(c, 20)[1][:-1]) for c in codes.T], 1)  # disentanglement_lib's way
    expected = []
    for y in factors.T:
        information = sorted((mutual_info_score(y, b) for b in binned.T), reverse=True)
        expected.append((information[0] - information[1]) / mutual_info_score(y, y))
    result = mig(codes, factors)
    assert result["factor_mig"] == pytest.approx(expected, abs=1e-12)
    assert result["mig"] == pytest.approx(np.mean(expected), abs=1e-12)
    assert result["factor_top_codes"][0] == [0, 3]
    assert result["mutual_information"][2] == [0.0, 0.0]  # the constant dimension carries nothing


@pytest.mark.parametrize("n, floor", [(300, 0.97), (20000, 0.999)])
def test_an_axis_aligned_code_has_mig_one(codes, n, floor):
    result = mig(*codes(n, noise=0.0))
    assert result["mig"] > floor
    assert [top[0] for top in result["factor_top_codes"]] == [0, 1, 2]


@pytest.mark.parametrize("n, floor", [(300, 0.85), (20000, 0.99)])
def test_noise_dimensions_lower_mig_only_by_the_estimators_bias(codes, n, floor):
    result = mig(*codes(n, noise=0.0, noise_dims=3))
    assert result["mig"] > floor  # the plug-in bias of a noise dimension, (bins - 1)(classes - 1) / 2N nats


def test_a_rotated_code_scores_lower(codes, rotation):
    assert mig(*codes(5000, mix=rotation))["mig"] < 0.3


def test_the_score_does_not_depend_on_n_beyond_sampling_noise(partly_mixed):
    small = mig(*partly_mixed(2000))["mig"]
    large = mig(*partly_mixed(20000, seed=2))["mig"]
    assert 0.1 < large < 0.9 and small == pytest.approx(large, abs=0.05)


def test_a_factor_with_one_class_is_not_measured_and_left_out_of_the_mean(codes):
    x, y = codes(1000)
    result = mig(x, np.concatenate([y, np.zeros((len(y), 1), dtype=int)], 1))
    reference = mig(x, y)
    assert result["factor_mig"] == [*reference["factor_mig"], None] and result["mig"] == reference["mig"]
    assert result["factor_entropy"][3] is None and all(row[3] is None for row in result["mutual_information"])


def test_fewer_samples_than_bins_or_one_dimension_measure_nothing(codes):
    x, y = codes(19)
    assert mig(x, y)["mig"] is None and mig(x, y)["factor_mig"] == [None] * 3
    assert mig(x, y, bins=10)["mig"] is not None
    x, y = codes(500)
    assert mig(x[:, :1], y)["mig"] is None
