"""SAP: the per-dimension classifier against scikit-learn's LDA, and codes whose answer is known."""

import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from simvae.evaluation.disentanglement.sap import per_dimension_accuracy, sap


def uneven(n, seed):
    """Codes of a 4-class factor with unequal class sizes, means and spreads along each dimension."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(4, size=n, p=[0.1, 0.2, 0.3, 0.4])
    codes = np.stack([labels * 0.5 + rng.normal(size=n), np.sin(labels) + 0.5 * rng.normal(size=n),
                      rng.exponential(size=n) * (1 + labels), rng.normal(size=n)], 1)
    return codes, labels


def test_each_dimensions_classifier_predicts_as_scikit_learns_lda():
    (train_x, train_y), (test_x, test_y) = uneven(3000, 0), uneven(2000, 1)
    ours = per_dimension_accuracy(train_x, train_y, test_x, test_y, 4)
    reference = [LinearDiscriminantAnalysis().fit(train_x[:, [j]], train_y).score(test_x[:, [j]], test_y)
                 for j in range(4)]
    assert ours == pytest.approx(reference, abs=1e-12)
    assert ours[0] > 0.4 and ours[3] == pytest.approx(0.4, abs=0.03)  # informative vs noise (majority class: 0.4)


@pytest.mark.parametrize("n", [300, 20000])
def test_an_axis_aligned_code_reaches_the_largest_gap_possible(codes, n):
    result = sap(*codes(n), *codes(2000, seed=1))
    accuracy = np.array(result["accuracy"])
    assert (np.diag(accuracy) > 0.99).all()
    for k, classes in enumerate((3, 4, 5)):  # best dimension ~ 1, the others ~ chance: a gap of ~ 1 - 1/classes
        assert result["factor_sap"][k] == pytest.approx(1 - 1 / classes, abs=0.05)
        assert result["factor_top_codes"][k][0] == k


def test_a_rotated_code_scores_lower(codes, rotation):
    assert sap(*codes(5000, mix=rotation), *codes(2000, mix=rotation, seed=1))["sap"] < 0.2


def test_the_score_does_not_depend_on_n_beyond_sampling_noise(partly_mixed):
    test = partly_mixed(2000, seed=1)
    small = sap(*partly_mixed(2000), *test)["sap"]
    large = sap(*partly_mixed(20000, seed=2), *test)["sap"]
    assert 0.1 < large < 0.7 and small == pytest.approx(large, abs=0.05)


def test_a_constant_or_exact_dimension(codes):
    train_x, train_y = codes(1000, noise=0.0)  # noise-free: each factor's dimension separates it exactly
    test_x, test_y = codes(1000, noise=0.0, seed=1)
    train_x, test_x = (np.concatenate([x, np.full((len(x), 1), -3.0)], 1) for x in (train_x, test_x))
    accuracy = np.array(sap(train_x, train_y, test_x, test_y)["accuracy"])
    assert (np.diag(accuracy) == 1).all()
    majority = [(test_y[:, k] == np.bincount(train_y[:, k]).argmax()).mean() for k in range(3)]
    assert accuracy[3] == pytest.approx(majority)


def test_a_class_seen_only_in_the_test_split_is_never_predicted(codes):
    (train_x, train_y), (test_x, test_y) = codes(500), codes(500, seed=1)
    test_y[:50, 0] = 9
    accuracy = np.array(sap(train_x, train_y, test_x, test_y)["accuracy"])
    assert accuracy[0, 0] == pytest.approx(0.9, abs=0.01)


def test_a_factor_with_one_class_or_a_one_dimensional_code_is_not_measured(codes):
    x, y = codes(500)
    constant = np.concatenate([y, np.ones((len(y), 1), dtype=int)], 1)
    result, reference = sap(x, constant, x, constant), sap(x, y, x, y)
    assert result["factor_sap"] == [*reference["factor_sap"], None] and result["sap"] == reference["sap"]
    assert sap(x[:, :1], y, x[:, :1], y)["sap"] is None
