"""Probes of a frozen representation, one per module: linear (logistic regression fitted to convergence), MLP
(a budget of optimiser steps), kNN and GMM clustering.

The linear and MLP probes and the kNN search run in torch on the evaluation device (the training device under
`simvae train`); only the GMM uses scikit-learn (on CPU). Settings (C, weight decay and step, k) are chosen on the
validation split only; "test" is the test accuracy at the chosen setting. The official code instead reports the best
test accuracy over probe epochs (docs/model.md §5, item 9); every probe records that optimistic number too, as
"best_test", only so its effect can be shown (`simvae reproduce` reports it as a compatibility ablation).
"""

from simvae.evaluation.probes.common import MIN_VAL_PER_CLASS, accuracy, standardise, thin_validation, unmeasurable
from simvae.evaluation.probes.gmm import cluster_accuracy, gmm_clustering
from simvae.evaluation.probes.knn import NeighbourIndex, cosine_neighbours, knn_probe
from simvae.evaluation.probes.linear import LogisticFit, fit_logistic, linear_probe
from simvae.evaluation.probes.mlp import StackedMLP, mlp_probe

__all__ = ["MIN_VAL_PER_CLASS", "LogisticFit", "NeighbourIndex", "StackedMLP", "accuracy", "cluster_accuracy", "cosine_neighbours",
           "fit_logistic", "gmm_clustering", "knn_probe", "linear_probe", "mlp_probe", "standardise",
           "thin_validation", "unmeasurable"]
