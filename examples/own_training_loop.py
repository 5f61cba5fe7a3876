"""Your own training loop with simvae's objective: SimVAE's ELBO_SSL from `simvae.losses`, nothing else of simvae's.

Plain PyTorch: your networks, your data (here a generated set of 16x16 bars), your augmentation (random shifts),
your optimiser; `simvae.losses.simvae_terms` supplies the loss. Prints the ELBO as it rises and a linear probe
(scikit-learn) of the bar's orientation (content) and position (style) on the posterior means.

    python examples/own_training_loop.py            # 4,096 images, 20 epochs: about 2.5 min of CPU
    python examples/own_training_loop.py --tiny     # a smoke run (about 5 s of CPU)
"""

from __future__ import annotations

import argparse

import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from simvae.losses import SimVAEConfig, log_likelihood, simvae_terms

SIZE, D, VIEWS = 16, 6, 2


def bars(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n binary images (n, 1, 16, 16) of one bar; content: horizontal (0) or vertical (1); style: its position."""
    orientation = torch.randint(0, 2, (n,), generator=generator)
    position = torch.randint(2, SIZE - 2, (n,), generator=generator)
    images = torch.zeros(n, 1, SIZE, SIZE)
    for i in range(n):
        if orientation[i]:
            images[i, 0, 3:-3, position[i] - 1:position[i] + 1] = 1
        else:
            images[i, 0, position[i] - 1:position[i] + 1, 3:-3] = 1
    return images, orientation, position // 4  # position in 3 bins


def views(images: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) -> (B, J, 1, H, W): each view shifts each image by its own 0-2 pixels along each axis (wrapping)."""
    batch = len(images)
    out = []
    for _ in range(VIEWS):
        dy, dx = torch.randint(-2, 3, (2, batch, 1))
        rows = (torch.arange(SIZE) - dy) % SIZE  # (B, H): the source row of each output row
        cols = (torch.arange(SIZE) - dx) % SIZE
        out.append(images[torch.arange(batch)[:, None, None], :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2))
    return torch.stack(out, dim=1)


def elbo_ssl(encoder: nn.Module, decoder: nn.Module, x: torch.Tensor, config: SimVAEConfig) -> dict[str, torch.Tensor]:
    """SimVAE's terms for views x (B, J, 1, H, W): encode, sample, decode, then simvae_terms."""
    batch, n_views = x.shape[:2]
    mu, logvar = encoder(x.flatten(0, 1)).chunk(2, dim=-1)
    z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
    log_px = log_likelihood(decoder(z), x.flatten(0, 1), "bernoulli").view(batch, n_views)
    return simvae_terms(log_px, logvar.view(batch, n_views, D), z.view(batch, n_views, D), config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a smoke run in seconds (the test suite runs this)")
    args = parser.parse_args()
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    train_images, _, _ = bars(512 if args.tiny else 4096, generator)
    test_images, test_content, test_position = bars(400, generator)
    config = SimVAEConfig(sigma2=0.15)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(SIZE * SIZE, 256), nn.ReLU(), nn.Linear(256, 2 * D))  # mean, log-variance
    decoder = nn.Sequential(nn.Linear(D, 256), nn.ReLU(), nn.Linear(256, SIZE * SIZE), nn.Unflatten(1, (1, SIZE, SIZE)))
    optimiser = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-3)

    for epoch in range(2 if args.tiny else 20):
        order = torch.randperm(len(train_images))
        for start in range(0, len(order) - 63, 64):
            terms = elbo_ssl(encoder, decoder, views(train_images[order[start:start + 64]]), config)
            optimiser.zero_grad()
            terms["loss"].backward()
            optimiser.step()
        with torch.no_grad():
            held_out = elbo_ssl(encoder, decoder, views(test_images), config)
        print(f"epoch {epoch + 1}: held-out ELBO_SSL {held_out['elbo']:.1f} nats per image "
              f"(reconstruction {held_out['reconstruction']:.1f}, entropy {held_out['entropy']:.1f}, prior {held_out['prior']:.1f})")

    with torch.no_grad():
        means = encoder(test_images).chunk(2, dim=-1)[0].numpy()
    half = len(means) // 2
    for task, labels in (("orientation (content)", test_content), ("position (style)", test_position)):
        probe = LogisticRegression(max_iter=1000).fit(means[:half], labels[:half].numpy())
        print(f"linear probe, {task}: {100 * probe.score(means[half:], labels[half:].numpy()):.0f}% on held-out means")


if __name__ == "__main__":
    main()
