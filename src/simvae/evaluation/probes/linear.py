"""The linear probe: multinomial logistic regression on standardised features, fitted to convergence by
full-batch L-BFGS on the evaluation device, its L2 strength chosen on the validation split.

The objective is scikit-learn's `LogisticRegression(C=C)` (L2 on the weights, intercept unpenalised):

    mean_i CE(W x_i + b, y_i) + |W|^2 / (2 C N)

It is strictly convex, so at the same C both find the same optimum (tests/evaluation/probes/test_linear.py
checks it against scikit-learn at N = 30, 300 and 20,000). Being fitted to convergence, the probe measures the
representation, not how long the probe was trained — whatever the number of images. Classes absent from the
training split are never predicted (their intercept would diverge), as in scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional

from simvae.evaluation.probes.common import accuracy, standardise

TOLERANCE = 1e-6  # on the largest gradient entry of the (mean) objective: converged for accuracy to many digits


@dataclass
class LogisticFit:
    weight: torch.Tensor  # (classes present, d)
    bias: torch.Tensor  # (classes present,)
    classes: torch.Tensor  # the labels the rows stand for
    iterations: int
    converged: bool

    def logits(self, x: torch.Tensor, num_classes: int) -> torch.Tensor:
        """(N, num_classes) scores, -inf for the classes the fit never saw."""
        out = torch.full((len(x), num_classes), float("-inf"), dtype=x.dtype, device=x.device)
        out[:, self.classes] = x @ self.weight.T + self.bias
        return out


def fit_logistic(x: torch.Tensor, y: torch.Tensor, C: float, max_iter: int = 1000,
                 start: LogisticFit | None = None) -> LogisticFit:
    """Minimise scikit-learn's L2 logistic objective at inverse strength `C` on (N, d) features `x` and labels `y`.
    `start` warm-starts from another fit on the same data (the grid runs from strong to weak regularisation)."""
    classes, targets = torch.unique(y, return_inverse=True)
    weight = torch.zeros(len(classes), x.shape[1], dtype=x.dtype, device=x.device)
    bias = torch.zeros(len(classes), dtype=x.dtype, device=x.device)
    if start is not None:
        weight, bias = start.weight.clone(), start.bias.clone()
    weight.requires_grad_(True)
    bias.requires_grad_(True)
    penalty = 1.0 / (2.0 * C * len(x))
    optimiser = torch.optim.LBFGS([weight, bias], lr=1, max_iter=max_iter, history_size=20, tolerance_grad=TOLERANCE,
                                  tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def objective() -> torch.Tensor:
        optimiser.zero_grad()
        loss = functional.cross_entropy(x @ weight.T + bias, targets) + penalty * weight.pow(2).sum()
        loss.backward()
        return loss

    optimiser.step(objective)
    iterations = optimiser.state[weight].get("n_iter", 0)  # L-BFGS keeps its state under the first parameter
    gradient = max(weight.grad.abs().max().item(), bias.grad.abs().max().item())
    return LogisticFit(weight.detach(), bias.detach(), classes, iterations, gradient <= 10 * TOLERANCE)


def probe_dtype(device: torch.device) -> torch.dtype:
    """float64 where the device has it: L-BFGS converges cleanly and the cost is negligible at probe sizes."""
    return torch.float32 if device.type == "mps" else torch.float64


def linear_probe(features: dict[str, torch.Tensor], labels: dict[str, torch.Tensor], classes: int,
                 C_grid: list[float], max_iter: int = 1000, device: torch.device | str = "cpu") -> dict[str, float]:
    """Fit at every C of `C_grid`, keep the C with the best validation accuracy (ties: the smaller C, i.e. the
    stronger regularisation, as scikit-learn's LogisticRegressionCV) and report its test accuracy.

    `features`/`labels` map "train", "val", "test" to (N, d) floats and (N,) labels. Returns val and test
    accuracy, the chosen C, whether every fit converged, and "best_test": the best test accuracy over the
    grid (the official code's optimistic selection, recorded only to show its effect)."""
    device = torch.device(device)
    dtype = probe_dtype(device)
    x = dict(zip(("train", "val", "test"), standardise(*(features[s].to(device, dtype) for s in ("train", "val", "test")))))
    y = {split: labels[split].to(device) for split in x}
    best: dict[str, float] = {"val": -1.0}
    best_test, converged, fit = 0.0, True, None
    for C in sorted(C_grid):
        fit = fit_logistic(x["train"], y["train"], C, max_iter, start=fit)
        val = accuracy(fit.logits(x["val"], classes), y["val"])
        test = accuracy(fit.logits(x["test"], classes), y["test"])
        converged &= fit.converged
        best_test = max(best_test, test)
        if val > best["val"]:
            best = {"val": val, "test": test, "C": C}
    return {**best, "best_test": best_test, "converged": converged}
