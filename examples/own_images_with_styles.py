"""Does my representation keep the style of my images? Your own images with style labels, from an .npz file.

Writes a small data set of its own (grey 28x28 images: a square or a bar, content; its position and brightness,
two style labels), trains SimVAE and SimCLR on it and prints what each representation keeps of every label.
Replace `write_images` with your arrays: `np.savez(path, images=uint8 (N, H, W[, C]), content=int (N,),
style_a=int (N,), ...)` (docs/datasets.md).

    python examples/own_images_with_styles.py            # 6,000 images, 10 epochs per method
    python examples/own_images_with_styles.py --tiny     # a smoke run (under a minute of CPU), its numbers meaningless
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import simvae


def write_images(path: Path, n: int, seed: int = 0) -> None:
    """n images (N, 28, 28) uint8: content 0 = square, 1 = bar; styles pos (left / right) and level (dim / bright)."""
    rng = np.random.default_rng(seed)
    content, pos, level = rng.integers(0, 2, n), rng.integers(0, 2, n), rng.integers(0, 2, n)
    images = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        x = 4 + 12 * pos[i] + rng.integers(0, 3)
        y = 8 + rng.integers(0, 6)
        images[i, y:y + 8, x:x + (8 if content[i] == 0 else 3)] = 120 + 120 * level[i]
    np.savez(path, images=images, content=content, pos=pos, level=level, class_names=np.array(["square", "bar"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/example-own-images"))
    parser.add_argument("--tiny", action="store_true", help="a smoke run in seconds (the test suite runs this)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    write_images(args.out / "mine.npz", 600 if args.tiny else 6000)

    settings = {
        "data": {"name": "npz", "root": str(args.out / "mine.npz")},
        # the views move the item a little; pos (left / right) and level survive such views, so both are style
        "augment": {"ops": [{"crop": {"scale": [0.7, 1.0]}}, {"translate": {"max": 0.1}}]},
        "net": {"latent_dim": 8},
        "train": {"epochs": 1 if args.tiny else 10, "batch_size": 64},
        # a smoke run (--tiny): the probes at their cheapest
        "eval": {"mlp_steps": 50, "linear_C": [1.0], "linear_max_iter": 100, "gmm_n_init": 1, "disentanglement": False,
                 "figures": False}
        if args.tiny else {},
    }
    for method in ("simvae", "simclr"):
        run = simvae.train(None, out=args.out / method, progress=not args.tiny, method={"name": method}, **settings)
        results = run.metrics["results"]
        representation = next(iter(results))
        accuracies = ", ".join(f"{task} {100 * probes['linear']['test']:.0f}%" for task, probes in results[representation].items())
        print(f"{run}: linear probe on `{representation}`: {accuracies}")


if __name__ == "__main__":
    main()
