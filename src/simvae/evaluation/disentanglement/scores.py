"""DCI, MIG and SAP of one representation in one call, JSON-ready, with a note for everything not measured."""

from __future__ import annotations

from collections.abc import Sequence

from simvae.errors import DataError
from simvae.evaluation.disentanglement.common import Array, checked_splits
from simvae.evaluation.disentanglement.dci import DCI_L1, dci
from simvae.evaluation.disentanglement.mig import MIG_BINS, mig
from simvae.evaluation.disentanglement.sap import sap


def factor_labels(names: Sequence[str] | None, count: int) -> list[str]:
    if names is None:
        return [f"factor_{k}" for k in range(count)]
    names = [str(name) for name in names]
    if len(names) != count or len(set(names)) != count:
        raise DataError(f"factor_names must name each of the {count} factor columns once, got {names}")
    return names


def disentanglement_scores(train_codes: Array, train_factors: Array, test_codes: Array, test_factors: Array,
                           factor_names: Sequence[str] | None = None, *, l1: float = DCI_L1, bins: int = MIG_BINS,
                           seed: int = 0) -> dict:
    """DCI (importance from per-factor L1 logistic regression), MIG (on the training split) and SAP of (N, d) codes
    for (N, K) integer factors; models are fitted on the training split and scored on the test split.

    Returns plain floats, ints, strings, lists and None (not measurable): the headline scores dci_disentanglement,
    dci_completeness, dci_informativeness (mean test accuracy), dci_informativeness_train, mig, sap; per_factor
    (name -> classes, measurable, chance accuracy, dci_completeness, dci_informativeness[_train], dci_converged,
    dci_importance over the d dimensions, mig, mig_entropy, mig_top_codes, sap, sap_top_codes); the d x K
    matrices dci_importance, mig_mutual_information and sap_accuracy (columns in factor order); the per-dimension
    dci_code_disentanglement and dci_code_weight; settings, sizes, and notes (one line per thing not measured).
    """
    splits = checked_splits(train_codes, train_factors, test_codes, test_factors)
    names = factor_labels(factor_names, len(splits.classes))
    (train_n, dims), test_n = splits.train_codes.shape, len(splits.test_codes)
    both = (splits.train_codes, splits.train_factors, splits.test_codes, splits.test_factors)
    dci_scores, mig_scores = dci(*both, l1=l1, seed=seed), mig(splits.train_codes, splits.train_factors, bins)
    sap_scores = sap(*both)
    per_factor = {name: {
        "classes": splits.classes[k],
        "measurable": splits.measurable[k],
        "chance": dci_scores["factor_chance"][k],
        "dci_completeness": dci_scores["factor_completeness"][k],
        "dci_informativeness": dci_scores["factor_informativeness"][k],
        "dci_informativeness_train": dci_scores["factor_informativeness_train"][k],
        "dci_converged": dci_scores["factor_converged"][k],
        "dci_importance": [row[k] for row in dci_scores["importance"]] if splits.measurable[k] else None,
        "mig": mig_scores["factor_mig"][k],
        "mig_entropy": mig_scores["factor_entropy"][k],
        "mig_top_codes": mig_scores["factor_top_codes"][k],
        "sap": sap_scores["factor_sap"][k],
        "sap_top_codes": sap_scores["factor_top_codes"][k],
    } for k, name in enumerate(names)}
    return {
        "dci_disentanglement": dci_scores["disentanglement"],
        "dci_completeness": dci_scores["completeness"],
        "dci_informativeness": dci_scores["informativeness"],
        "dci_informativeness_train": dci_scores["informativeness_train"],
        "mig": mig_scores["mig"],
        "sap": sap_scores["sap"],
        "per_factor": per_factor,
        "dci_importance": dci_scores["importance"],
        "dci_code_disentanglement": dci_scores["code_disentanglement"],
        "dci_code_weight": dci_scores["code_weight"],
        "mig_mutual_information": mig_scores["mutual_information"],
        "sap_accuracy": sap_scores["accuracy"],
        "settings": {"dci_model": "L1-regularised multinomial logistic regression (saga) on standardised codes",
                     "dci_l1": l1, "mig_bins": bins, "mig_split": "train",
                     "sap_classifier": "linear discriminant analysis per code dimension", "seed": seed},
        "sizes": {"train": train_n, "test": test_n, "dims": dims},
        "notes": notes(names, per_factor, dims, train_n, bins),
    }

def notes(names: list[str], per_factor: dict, dims: int, train_n: int, bins: int) -> list[str]:
    """One line for each score left null, saying why."""
    lines = [f"factor {name!r} has one class in the training split: not measurable "
             f"(null in DCI, MIG and SAP, left out of their means)"
             for name in names if not per_factor[name]["measurable"]]
    measured = [name for name in names if per_factor[name]["measurable"]]
    if len(measured) == 1:
        lines.append("DCI disentanglement needs two measurable factors: null")
    if dims == 1:
        lines.append("a one-dimensional code: DCI completeness, MIG and SAP need two dimensions: null")
    elif train_n < bins and measured:
        lines.append(f"MIG needs at least {bins} training codes (one per bin), got {train_n}: null")
    lines += [f"DCI: no code dimension carries factor {name!r} (all its weights are 0): its completeness is null"
              for name in measured if dims >= 2 and per_factor[name]["dci_completeness"] is None]
    lines += [f"DCI: the L1 model of factor {name!r} stopped at its epoch limit before converging"
              for name in measured if not per_factor[name]["dci_converged"]]
    return lines
