"""disentanglement_scores: the one call the evaluation makes: JSON-ready, the metrics' own numbers, notes, errors."""

import importlib
import json

import numpy as np
import pytest
import torch

from simvae.errors import ConfigError, DataError, SimvaeError
from simvae.evaluation.disentanglement import dci, disentanglement_scores, mig, sap

DCI_MODULE = importlib.import_module("simvae.evaluation.disentanglement.dci")  # the package exports the function dci
HEADLINE = ("dci_disentanglement", "dci_completeness", "dci_informativeness", "mig", "sap")


def test_the_scores_are_the_metrics_own_numbers_and_json_ready(codes):
    train, test = codes(1500, noise=0.3, noise_dims=2), codes(1000, noise=0.3, noise_dims=2, seed=1)
    result = disentanglement_scores(*train, *test, factor_names=["hue", "pos_x", "size"])
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    d, m, s = dci(*train, *test), mig(*train), sap(*train, *test)
    assert [result[key] for key in HEADLINE] == [d["disentanglement"], d["completeness"], d["informativeness"],
                                                 m["mig"], s["sap"]]
    assert all(0 <= result[key] <= 1 for key in HEADLINE)
    hue = result["per_factor"]["hue"]
    assert hue["classes"] == 3 and hue["measurable"] and hue["dci_informativeness"] == d["factor_informativeness"][0]
    assert hue["mig"] == m["factor_mig"][0] and hue["sap"] == s["factor_sap"][0]
    assert hue["dci_importance"] == [row[0] for row in d["importance"]]
    assert sum(hue["dci_importance"]) == pytest.approx(1)
    assert np.array(result["dci_importance"]).shape == (5, 3)
    assert result["sizes"] == {"train": 1500, "test": 1000, "dims": 5} and result["notes"] == []


def test_float16_tensors_score_as_their_values(codes):
    (train_x, train_y), (test_x, test_y) = codes(800), codes(500, seed=1)
    as_tensors = disentanglement_scores(torch.tensor(train_x, dtype=torch.float16), torch.tensor(train_y),
                                        torch.tensor(test_x, dtype=torch.float16), torch.tensor(test_y))
    as_arrays = disentanglement_scores(train_x.astype(np.float16), train_y, test_x.astype(np.float16), test_y)
    assert as_tensors == as_arrays


def test_labels_are_any_integers(codes):
    (train_x, train_y), (test_x, test_y) = codes(800), codes(500, seed=1)
    shifted = disentanglement_scores(train_x, train_y * 10 - 7, test_x, test_y * 10 - 7)
    assert shifted == disentanglement_scores(train_x, train_y, test_x, test_y)


def test_a_factor_with_one_class_is_null_everywhere_named_in_a_note_and_left_out_of_the_means(codes):
    (train_x, train_y), (test_x, test_y) = codes(800), codes(500, seed=1)
    one_class = [np.concatenate([y, np.full((len(y), 1), 4)], 1) for y in (train_y, test_y)]
    result = disentanglement_scores(train_x, one_class[0], test_x, one_class[1], ["a", "b", "c", "lighting"])
    reference = disentanglement_scores(train_x, train_y, test_x, test_y, ["a", "b", "c"])
    lighting = result["per_factor"]["lighting"]
    assert not lighting["measurable"] and lighting["classes"] == 1
    assert all(value is None for key, value in lighting.items() if key not in ("classes", "measurable"))
    for key in HEADLINE:
        assert result[key] == pytest.approx(reference[key], abs=1e-12)
    assert result["notes"] == ["factor 'lighting' has one class in the training split: not measurable "
                               "(null in DCI, MIG and SAP, left out of their means)"]


def test_fewer_training_codes_than_bins_leave_mig_null_with_a_note(codes):
    result = disentanglement_scores(*codes(12), *codes(50, seed=1))
    assert result["mig"] is None and all(f["mig"] is None for f in result["per_factor"].values())
    assert result["dci_disentanglement"] is not None and result["sap"] is not None
    assert result["notes"] == ["MIG needs at least 20 training codes (one per bin), got 12: null"]


def test_a_one_dimensional_code_or_one_factor_is_said_so(codes):
    (train_x, train_y), (test_x, test_y) = codes(300), codes(300, seed=1)
    flat = disentanglement_scores(train_x[:, :1], train_y, test_x[:, :1], test_y)
    assert flat["dci_completeness"] is None and flat["mig"] is None and flat["sap"] is None
    assert flat["dci_informativeness"] is not None
    assert "a one-dimensional code: DCI completeness, MIG and SAP need two dimensions: null" in flat["notes"]
    single = disentanglement_scores(train_x, train_y[:, :1], test_x, test_y[:, :1])
    assert single["dci_disentanglement"] is None and single["mig"] is not None
    assert single["notes"] == ["DCI disentanglement needs two measurable factors: null"]


def test_an_l1_penalty_that_zeroes_every_weight_is_said_so(codes):
    result = disentanglement_scores(*codes(300), *codes(300, seed=1), ["a", "b", "c"], l1=10.0)
    assert result["dci_disentanglement"] is None and result["dci_completeness"] is None
    assert result["notes"] == [f"DCI: no code dimension carries factor {name!r} (all its weights are 0): "
                               f"its completeness is null" for name in "abc"]
    assert result["per_factor"]["a"]["dci_informativeness"] == result["per_factor"]["a"]["chance"]


def test_a_model_stopped_before_converging_is_said_so(codes, monkeypatch):
    monkeypatch.setattr(DCI_MODULE, "MAX_ITER", 1)
    result = disentanglement_scores(*codes(300, noise=0.5), *codes(300, seed=1), ["a", "b", "c"])
    assert result["per_factor"]["a"]["dci_converged"] is False
    assert "DCI: the L1 model of factor 'a' stopped at its epoch limit before converging" in result["notes"]


@pytest.mark.parametrize("change, message", [
    (lambda a: {**a, "train_factors": a["train_factors"][:-1]},
     "train factors have 299 rows but the train codes have 300"),
    (lambda a: {**a, "test_codes": np.where(a["test_codes"] > 1.4, np.nan, a["test_codes"])}, "non-finite values"),
    (lambda a: {**a, "train_factors": a["train_factors"] + 0.5}, "train factors hold fractions or non-finite values"),
    (lambda a: {**a, "test_factors": a["test_factors"].astype(str)},
     "test factors must be integer class labels, got dtype <U"),
    (lambda a: {**a, "test_codes": a["test_codes"][:, :2]}, "train codes have 3 dimensions but test codes 2"),
    (lambda a: {**a, "train_factors": a["train_factors"][:, 0]}, "reshape a single factor to (N, 1)"),
    (lambda a: {**a, "factor_names": ["a", "a", "b"]}, "factor_names must name each of the 3 factor columns once"),
])
def test_unusable_inputs_raise_one_clear_error(codes, change, message):
    (train_x, train_y), (test_x, test_y) = codes(300), codes(300, seed=1)
    arguments = change({"train_codes": train_x, "train_factors": train_y, "test_codes": test_x, "test_factors": test_y})
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        disentanglement_scores(**arguments)
    assert isinstance(error.value, SimvaeError)


@pytest.mark.parametrize("setting, message", [({"l1": 0.0}, "DCI's l1 must be a positive L1 strength, got 0.0"),
                                              ({"bins": 1}, "MIG's bins must be an integer >= 2, got 1")])
def test_unusable_settings_raise_a_config_error(codes, setting, message):
    with pytest.raises(ConfigError, match=message):
        disentanglement_scores(*codes(100), *codes(100, seed=1), **setting)
