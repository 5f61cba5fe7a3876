"""The linear probe is scikit-learn's L2 logistic regression, fitted to convergence, whatever the number of images."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from simvae.evaluation.probes import fit_logistic, linear_probe, standardise

GRID = [0.001, 0.01, 0.1, 1.0, 10.0]


def reference(features, labels, C):
    """scikit-learn's LogisticRegression at C, converged, on the features standardised as the probe does."""
    train, val, test = (x.double().numpy() for x in standardise(*(features[s].double() for s in ("train", "val", "test"))))
    model = LogisticRegression(C=C, tol=1e-10, max_iter=20_000).fit(train, labels["train"].numpy())
    return model, {"val": val, "test": test}


@pytest.mark.parametrize("n", [30, 300, 20_000])
def test_equals_scikit_learn_at_the_same_C(splits, n):
    # overlapping classes, so the optimum is not trivially perfect and the regularisation matters
    features, labels = splits(n, classes=5, dim=8, spread=2.5)
    ours = linear_probe(features, labels, 5, GRID)
    assert ours["converged"]
    model, x = reference(features, labels, ours["C"])
    for split in ("val", "test"):
        assert ours[split] == pytest.approx(model.score(x[split], labels[split].numpy()), abs=0.005)


def test_chooses_the_C_scikit_learn_scores_best_on_validation(splits):
    features, labels = splits(300, classes=5, dim=8, spread=2.5)
    val = []
    for C in GRID:
        model, x = reference(features, labels, C)
        val.append(model.score(x["val"], labels["val"].numpy()))
    assert linear_probe(features, labels, 5, GRID)["C"] == GRID[int(np.argmax(val))]  # first maximum: smaller C


def test_a_separable_small_set_reaches_100_percent(splits):
    features, labels = splits(30, classes=3, spread=0.3)
    assert linear_probe(features, labels, 3, GRID)["test"] == 1.0


def test_noise_stays_near_chance(splits):
    features, labels = splits(900, classes=3)
    noise = {split: torch.randn(x.shape, generator=torch.Generator().manual_seed(i)) for i, (split, x) in enumerate(features.items())}
    assert linear_probe(noise, labels, 3, GRID)["test"] < 0.45


def test_a_class_missing_from_training_is_never_predicted_and_the_fit_converges(splits):
    features, labels = splits(90, classes=3, spread=0.3)
    keep = labels["train"] != 2
    train_only_two = {**features, "train": features["train"][keep]}
    result = linear_probe(train_only_two, {**labels, "train": labels["train"][keep]}, 3, GRID)
    assert result["converged"] and result["test"] == pytest.approx(2 / 3, abs=0.02)  # class 2 is a third of test


def test_fit_matches_scikit_learns_coefficients(splits):
    features, labels = splits(200, classes=3, dim=4, spread=1.5)
    x = standardise(features["train"].double())[0]
    fit = fit_logistic(x, labels["train"], C=0.1)
    model = LogisticRegression(C=0.1, tol=1e-12, max_iter=20_000).fit(x.numpy(), labels["train"].numpy())
    np.testing.assert_allclose(fit.weight.numpy(), model.coef_, atol=1e-5)
    np.testing.assert_allclose(fit.bias.numpy(), model.intercept_, atol=1e-5)


def test_an_unconverged_fit_says_so(splits):
    features, labels = splits(200, classes=3, dim=4, spread=1.5)
    assert not linear_probe(features, labels, 3, [10.0], max_iter=1)["converged"]


def test_best_over_test_is_the_official_optimistic_selection(splits):
    features, labels = splits(150, classes=3, spread=2.0)
    result = linear_probe(features, labels, 3, GRID)
    assert result["best_test"] >= result["test"]
    # when validation *is* the test split, selecting on it is selecting on test: the two numbers agree
    same = linear_probe({**features, "val": features["test"]}, {**labels, "val": labels["test"]}, 3, GRID)
    assert same["best_test"] == same["test"]
