"""DCI: the entropy scores against a hand computation, and codes whose answer is known."""

import math

import numpy as np
import pytest

from simvae.evaluation.disentanglement.dci import dci, scores_from_importance


def h(*p):
    """Entropy in base len(p) of the distribution proportional to p, by hand."""
    p = [x / sum(p) for x in p]
    return -sum(x * math.log(x) for x in p if x > 0) / math.log(len(p))


def test_entropy_scores_equal_a_hand_computation_on_a_2x2_importance_matrix():
    scores = scores_from_importance(np.array([[0.8, 0.3], [0.2, 0.7]]))  # columns already sum to 1
    d0, d1 = 1 - h(0.8, 0.3), 1 - h(0.2, 0.7)
    assert scores["code_disentanglement"] == pytest.approx([d0, d1], abs=1e-12)
    assert scores["code_weight"] == pytest.approx([1.1 / 2, 0.9 / 2], abs=1e-12)
    assert scores["disentanglement"] == pytest.approx(1.1 / 2 * d0 + 0.9 / 2 * d1, abs=1e-12)
    c0, c1 = 1 - h(0.8, 0.2), 1 - h(0.3, 0.7)
    assert scores["factor_completeness"] == pytest.approx([c0, c1], abs=1e-12)
    assert scores["completeness"] == pytest.approx((c0 + c1) / 2, abs=1e-12)
    # each factor counts equally: scaling a factor's importances changes nothing
    rescaled = scores_from_importance(np.array([[0.8, 1.5], [0.2, 3.5]]))
    assert rescaled["disentanglement"] == pytest.approx(scores["disentanglement"], abs=1e-12)
    assert rescaled["completeness"] == pytest.approx(scores["completeness"], abs=1e-12)


def test_entropy_scores_at_their_extremes_and_with_a_factor_no_dimension_carries():
    perfect = scores_from_importance(np.eye(3))
    assert perfect["disentanglement"] == pytest.approx(1) and perfect["completeness"] == pytest.approx(1)
    uniform = scores_from_importance(np.ones((3, 3)))
    assert uniform["disentanglement"] == pytest.approx(0, abs=1e-12)
    assert uniform["completeness"] == pytest.approx(0, abs=1e-12)
    # factor 1 has no weight anywhere, dimension 1 carries nothing: both are left out
    empty = scores_from_importance(np.array([[0.5, 0.0], [0.0, 0.0]]))
    assert empty["factor_completeness"] == [pytest.approx(1), None]
    assert empty["completeness"] == pytest.approx(1) and empty["disentanglement"] == pytest.approx(1)
    assert empty["code_disentanglement"][1] is None and empty["code_weight"] == [1.0, 0.0]
    nothing = scores_from_importance(np.zeros((2, 2)))
    assert nothing["disentanglement"] is None and nothing["completeness"] is None


@pytest.mark.parametrize("n, floor", [(300, 0.97), (20000, 0.995)])
def test_an_axis_aligned_code_has_disentanglement_and_completeness_one(codes, n, floor):
    result = dci(*codes(n), *codes(2000, seed=1))
    assert result["disentanglement"] > floor and result["completeness"] > floor
    assert result["informativeness"] > 0.99 and result["informativeness_train"] > 0.99
    importance = np.array(result["importance"])
    assert (importance.argmax(0) == [0, 1, 2]).all()
    assert all(result["factor_converged"])


def test_an_axis_aligned_code_among_noise_dimensions_stays_near_one(codes):
    result = dci(*codes(2000, noise_dims=3), *codes(2000, noise_dims=3, seed=1))
    assert result["disentanglement"] > 0.97 and result["completeness"] > 0.97
    assert sum(result["code_weight"][3:]) < 0.02  # the noise dimensions barely matter


def test_a_rotated_code_scores_lower_but_stays_informative(codes, rotation):
    result = dci(*codes(5000, mix=rotation), *codes(2000, mix=rotation, seed=1))
    assert result["disentanglement"] < 0.3 and result["completeness"] < 0.3
    assert result["informativeness"] > 0.95  # a rotation loses no information


def test_a_code_that_ignores_a_factor_predicts_it_at_chance(codes):
    (train_x, train_y), (test_x, test_y) = codes(3000), codes(2000, seed=1)
    rng = np.random.default_rng(3)
    train_x[:, 2], test_x[:, 2] = rng.normal(size=3000), rng.normal(size=2000)  # factor 2's dimension: noise
    result = dci(train_x, train_y, test_x, test_y)
    assert result["factor_informativeness"][2] == pytest.approx(result["factor_chance"][2], abs=0.03)
    assert result["factor_chance"][2] == pytest.approx(1 / 5, abs=0.03)
    assert min(result["factor_informativeness"][:2]) > 0.99


def test_a_duplicated_dimension_lowers_the_completeness_of_its_factor(codes):
    def with_copy(n, seed):  # dimension 3 is another noisy reading of factor 0
        x, y = codes(n, noise=0.3, seed=seed)
        return np.concatenate([x, y[:, :1] + 0.3 * np.random.default_rng(seed + 10).normal(size=(n, 1))], 1), y

    result = dci(*with_copy(5000, 0), *with_copy(2000, 1))
    completeness = result["factor_completeness"]
    assert completeness[0] < 0.75 and min(completeness[1:]) > 0.9
    assert result["disentanglement"] > 0.9  # each dimension still holds one factor
    importance = np.array(result["importance"])
    assert importance[0, 0] > 0.3 and importance[3, 0] > 0.3


def test_the_scores_do_not_depend_on_n_beyond_sampling_noise(partly_mixed):
    small = dci(*partly_mixed(2000), *partly_mixed(2000, seed=1))
    large = dci(*partly_mixed(20000, seed=2), *partly_mixed(2000, seed=1))
    assert 0.2 < large["disentanglement"] < 0.9  # neither saturated nor zero: the comparison means something
    for key in ("disentanglement", "completeness", "informativeness"):
        assert small[key] == pytest.approx(large[key], abs=0.05), key


def test_a_constant_dimension_gets_no_importance(codes):
    (train_x, train_y), (test_x, test_y) = codes(1000), codes(1000, seed=1)
    train_x, test_x = (np.concatenate([x, np.full((len(x), 1), 2.5)], 1) for x in (train_x, test_x))
    result = dci(train_x, train_y, test_x, test_y)
    assert result["code_weight"][3] == 0 and result["code_disentanglement"][3] is None
    assert result["disentanglement"] > 0.97 and result["completeness"] > 0.97


def test_a_factor_with_one_class_is_not_measured_and_left_out_of_the_averages(codes):
    (train_x, train_y), (test_x, test_y) = codes(1000), codes(1000, seed=1)
    with_constant = [np.concatenate([y, np.full((len(y), 1), 7)], 1) for y in (train_y, test_y)]
    result, reference = dci(train_x, with_constant[0], test_x, with_constant[1]), dci(train_x, train_y, test_x, test_y)
    for key in ("factor_completeness", "factor_informativeness", "factor_chance", "factor_converged"):
        assert result[key][3] is None and result[key][:3] == reference[key]
    for key in ("disentanglement", "completeness", "informativeness"):
        assert result[key] == pytest.approx(reference[key], abs=1e-12)
    assert all(row[3] is None for row in result["importance"])


def test_one_measurable_factor_leaves_disentanglement_undefined(codes):
    x, y = codes(500)
    result = dci(x, y[:, :1], x, y[:, :1])
    assert result["disentanglement"] is None and result["completeness"] > 0.97
