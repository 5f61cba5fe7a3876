"""Are the probes fitted? On one embeddings file (a run's embeddings.npz, or one a reproduce report keeps), per label:

* the linear probe against scikit-learn's LogisticRegression at the C it chose (lbfgs to convergence), and
* the MLP probe at several (learning rate, step budget) settings, with the step early stopping chose.

    python benchmarks/probe_convergence.py RUN/embeddings.npz [--tasks content,brightness] [--representation mean]

Prints the machine and the CPU seconds of each fit (one torch thread) beside the accuracies.
"""

from __future__ import annotations

import argparse
import time

import torch
from sklearn.linear_model import LogisticRegression

from simvae.evaluation.embeddings import Embeddings
from simvae.evaluation.probes import linear_probe, mlp_probe, standardise
from simvae.runs.rundir import machine

C_GRID = [0.001, 0.01, 0.1, 1.0, 10.0]
MLP_SETTINGS = [(1e-3, 2000), (1e-3, 8000), (3e-3, 3000), (3e-3, 8000)]  # (lr, steps); patience 10 checks of 50 steps
DECAYS = [0.0, 0.1, 1.0]


def timed(fit):
    started = time.process_time()
    result = fit()
    return result, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("embeddings")
    parser.add_argument("--tasks", help="comma-separated labels (default: all)")
    parser.add_argument("--representation", help="default: the file's first")
    args = parser.parse_args()
    torch.set_num_threads(1)
    embeddings = Embeddings.load(args.embeddings)
    name = args.representation or next(iter(embeddings.codes))
    codes = embeddings.codes[name]
    print(f"{args.embeddings} `{name}` {embeddings.sizes}; {machine()}; torch {torch.__version__}")
    train, test = (x.double().numpy() for x in standardise(codes["train"].double(), codes["test"].double()))
    for task in (args.tasks.split(",") if args.tasks else embeddings.num_classes):
        labels, classes = embeddings.labels[task], embeddings.num_classes[task]
        linear, seconds = timed(lambda: linear_probe(codes, labels, classes, C_GRID))
        reference = LogisticRegression(C=linear["C"], tol=1e-10, max_iter=20_000).fit(train, labels["train"].numpy())
        print(f"{task}: linear {100 * linear['test']:.1f} (C={linear['C']:g}, {seconds:.1f} s) | scikit-learn at that C "
              f"{100 * reference.score(test, labels['test'].numpy()):.1f}")
        for lr, steps in MLP_SETTINGS:
            mlp, seconds = timed(lambda: mlp_probe(codes, labels, classes, steps, lr, DECAYS, 256, 50, 10, seed=0))
            print(f"{task}: MLP lr {lr:g}, <= {steps} steps: {100 * mlp['test']:.1f} (step {mlp['step']}, weight decay "
                  f"{mlp['weight_decay']:g}, {seconds:.1f} s)")


if __name__ == "__main__":
    main()
