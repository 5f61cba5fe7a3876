"""Your own network: SimVAE with an encoder and decoder written here, trained through simvae's harness.

The contract (simvae.nets.custom): the encoder maps images (N, C, H, W) in [0, 1] to (N, 2d) for generative
methods (means, then log-variances) or (N, d) for discriminative ones; the decoder maps (N, d) to (N, C, H, W)
pixel logits. Shapes are checked with one dummy batch before training. The run reloads into fresh modules.

    python examples/own_backbone.py            # the embedded shapes (10,800 training images), 3 epochs
    python examples/own_backbone.py --tiny     # a smoke run (under a minute of CPU), its numbers meaningless
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

import simvae


class Encoder(nn.Module):
    """(N, 3, 32, 32) -> (N, out_dim): three strided convolutions with GroupNorm, then a linear layer."""

    def __init__(self, out_dim: int, width: int = 32) -> None:
        super().__init__()
        layers, channels = [], 3
        for c in (width, 2 * width, 4 * width):
            layers += [nn.Conv2d(channels, c, 3, stride=2, padding=1), nn.GroupNorm(8, c), nn.SiLU()]
            channels = c
        self.net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, out_dim))

    def forward(self, x):
        return self.net(x)


class Decoder(nn.Module):
    """(N, d) -> (N, 3, 32, 32) logits: a linear layer to 4x4 maps, then three transposed convolutions."""

    def __init__(self, latent_dim: int, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 4 * width * 16), nn.SiLU(), nn.Unflatten(1, (4 * width, 4, 4)),
            nn.ConvTranspose2d(4 * width, 2 * width, 4, stride=2, padding=1), nn.SiLU(),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), nn.SiLU(),
            nn.ConvTranspose2d(width, 3, 4, stride=2, padding=1))

    def forward(self, z):
        return self.net(z)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/example-own-backbone"))
    parser.add_argument("--tiny", action="store_true", help="a smoke run in seconds (the test suite runs this)")
    args = parser.parse_args()
    d = 10
    # a smoke run: 8 steps, and the probes at their cheapest
    tiny_eval = {"mlp_steps": 50, "linear_C": [1.0], "linear_max_iter": 100, "gmm_n_init": 1, "max_train": 1000,
                 "disentanglement": False, "figures": False}
    torch.manual_seed(0)  # simvae seeds what it builds; modules you pass are yours to seed
    run = simvae.train(None, out=args.out, progress=not args.tiny, encoder=Encoder(2 * d), decoder=Decoder(d),
                       data={"name": "shapes", "limit_train": 512 if args.tiny else None},
                       net={"latent_dim": d}, train={"epochs": 1 if args.tiny else 3, "batch_size": 64},
                       eval=tiny_eval if args.tiny else {})
    results = run.metrics["results"]["mean"]
    print(f"{run}: linear probe " + ", ".join(f"{task} {100 * p['linear']['test']:.0f}%" for task, p in results.items()))

    # later, in another process: the same architecture, the trained weights loaded into it
    again = simvae.load_run(args.out, encoder=Encoder(2 * d), decoder=Decoder(d))
    images = torch.randint(0, 256, (4, 32, 32, 3), dtype=torch.uint8)  # channels-last works too
    print(f"reloaded {again}: encode -> {tuple(again.encode(images).shape)}, reconstruct -> "
          f"{tuple(again.reconstruct(images).shape)}")


if __name__ == "__main__":
    main()
