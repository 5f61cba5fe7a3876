"""The field's disentanglement metrics, each a pure function of codes and factor labels: DCI (Eastwood & Williams
2018), MIG (Chen et al. 2018), SAP (Kumar et al. 2018), and `disentanglement_scores`, all three in one call.
Definitions, choices and cost: docs/metrics.md."""

from simvae.evaluation.disentanglement.dci import dci
from simvae.evaluation.disentanglement.mig import mig
from simvae.evaluation.disentanglement.sap import sap
from simvae.evaluation.disentanglement.scores import disentanglement_scores

__all__ = ["dci", "disentanglement_scores", "mig", "sap"]
