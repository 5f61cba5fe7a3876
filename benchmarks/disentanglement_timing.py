"""CPU seconds of the disentanglement metrics (DCI, MIG, SAP) on one thread, for codes of the sizes simvae evaluates.

CPU time (not wall time) on one thread, because the machine may be shared: it is what the metrics cost on an
idle core. The codes are a seeded nonlinear mixture of the factors plus noise, so the models work as hard as on
real embeddings (scores in the middle of their range, not at 0 or 1).

    python benchmarks/disentanglement_timing.py                        # 10,000 train / 10,000 test codes
    python benchmarks/disentanglement_timing.py --dims 10 128 --factors 5 --l1 0.003 0.01 0.03   # DCI's L1 strength
    python benchmarks/disentanglement_timing.py --dims 10 128 --factors 5 --dense   # + D, C of a dense L2 model
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from simvae.evaluation.disentanglement import dci, mig, sap
from simvae.evaluation.disentanglement.dci import DCI_L1, scores_from_importance, standardised

CLASSES = [3, 4, 5, 8, 10, 6, 7, 2]  # the first K are used


def mixed_codes(n: int, dims: int, factors: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, dims) codes from (n, factors) labels through a fixed random two-layer map, plus unit noise."""
    mixing = np.random.default_rng(1000)  # the same map for every split
    first, second = mixing.normal(size=(factors, 4 * dims)), mixing.normal(size=(4 * dims, dims)) / np.sqrt(4 * dims)
    rng = np.random.default_rng(seed)
    labels = np.stack([rng.integers(0, c, n) for c in CLASSES[:factors]], 1)
    centred = labels / (np.array(CLASSES[:factors]) - 1) - 0.5
    return np.tanh(3 * centred @ first) @ second * 3 + rng.normal(size=(n, dims)), labels


def dense_dc(train_x: np.ndarray, train_y: np.ndarray) -> tuple[float, float]:
    """D and C from the |weights| of an L2 (dense) logistic regression: a reference for how L1's sparsity moves them."""
    x, _ = standardised(train_x, train_x)
    importance = np.stack([np.abs(LogisticRegression(max_iter=2000).fit(x, y).coef_).sum(0) for y in train_y.T], 1)
    scores = scores_from_importance(importance)
    return scores["disentanglement"], scores["completeness"]


def cpu_seconds(work) -> tuple[float, object]:
    start = time.process_time()
    result = work()
    return time.process_time() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--test", type=int, default=10000)
    parser.add_argument("--dims", type=int, nargs="+", default=[10, 64, 128])
    parser.add_argument("--factors", type=int, nargs="+", default=[5, 6])
    parser.add_argument("--l1", type=float, nargs="+", default=[DCI_L1], help="DCI's L1 strength(s)")
    parser.add_argument("--dense", action="store_true", help="also D and C of a dense L2 model (not timed)")
    args = parser.parse_args()
    print("| codes | factors | DCI l1 | DCI s | MIG s | SAP s | total s | D | C | I | MIG | SAP |"
          + (" D, C (L2) |" if args.dense else ""))
    print("|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if args.dense else ""))
    with threadpool_limits(1):
        for dims in args.dims:
            for factors in args.factors:
                train_x, train_y = mixed_codes(args.train, dims, factors, seed=0)
                test_x, test_y = mixed_codes(args.test, dims, factors, seed=1)
                t_mig, m = cpu_seconds(lambda: mig(train_x, train_y))
                t_sap, s = cpu_seconds(lambda: sap(train_x, train_y, test_x, test_y))
                dense = " {:.3f}, {:.3f} |".format(*dense_dc(train_x, train_y)) if args.dense else ""
                for l1 in args.l1:
                    t_dci, d = cpu_seconds(lambda: dci(train_x, train_y, test_x, test_y, l1=l1))
                    print(f"| {args.train:,} x {dims} | {factors} | {l1:g} | {t_dci:.2f} | {t_mig:.2f} | {t_sap:.2f} | "
                          f"{t_dci + t_mig + t_sap:.2f} | {d['disentanglement']:.3f} | {d['completeness']:.3f} | "
                          f"{d['informativeness']:.3f} | {m['mig']:.3f} | {s['sap']:.3f} |{dense}", flush=True)


if __name__ == "__main__":
    main()
