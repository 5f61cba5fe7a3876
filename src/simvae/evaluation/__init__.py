"""Evaluation of frozen representations: probes on content and style labels, tables and figures."""

from simvae.evaluation.run import evaluate, evaluate_run, results_table

__all__ = ["evaluate", "evaluate_run", "results_table"]
