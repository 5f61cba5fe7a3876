"""`simvae.losses`: the methods' own objective functions, re-exported, usable in a loop written from scratch."""

from __future__ import annotations

import importlib
import inspect

import torch
from torch import nn

from simvae import losses
from simvae.losses import SimVAEConfig, log_likelihood, simvae_terms


def test_every_exported_name_is_the_method_modules_own_object():
    assert losses.__all__ == sorted(losses.__all__) and len(set(losses.__all__)) == len(losses.__all__)
    for name in losses.__all__:
        exported = getattr(losses, name)
        home = importlib.import_module(exported.__module__)
        assert exported.__module__.startswith("simvae.methods."), name
        assert getattr(home, name) is exported, f"{name} is not {exported.__module__}.{name}"
    public = {name for name, value in vars(losses).items() if not name.startswith("_") and inspect.isfunction(value)}
    assert public == set(losses.__all__) - {"SimVAEConfig"}, "every function in simvae.losses is listed in __all__"


def test_every_exported_function_documents_its_shapes():
    for name in losses.__all__:
        doc = inspect.getdoc(getattr(losses, name)) or ""
        assert len(doc) > 40 and "(" in doc, f"{name} needs a docstring naming its inputs' shapes"


class TinyEncoder(nn.Module):
    """(N, 1, 8, 8) -> (N, 2d): mean and log-variance, as the generative methods' encoders."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 2 * d))

    def forward(self, x):
        return self.net(x)


class TinyDecoder(nn.Module):
    """(N, d) -> (N, 1, 8, 8) pixel logits."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, 64), nn.Unflatten(1, (1, 8, 8)))

    def forward(self, z):
        return self.net(z)


def bars(n: int, generator: torch.Generator) -> torch.Tensor:
    """n binary 8x8 images, each one horizontal or vertical bar at a random position: (n, 1, 8, 8)."""
    images = torch.zeros(n, 1, 8, 8)
    position = torch.randint(0, 8, (n,), generator=generator)
    vertical = torch.rand(n, generator=generator) < 0.5
    for i in range(n):
        if vertical[i]:
            images[i, 0, :, position[i]] = 1
        else:
            images[i, 0, position[i], :] = 1
    return images


def two_views(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(B, 1, 8, 8) -> (B, 2, 1, 8, 8): each view flips 5% of the pixels."""
    views = images.unsqueeze(1).expand(-1, 2, -1, -1, -1)
    flips = torch.rand(views.shape, generator=generator) < 0.05
    return torch.where(flips, 1 - views, views)


def elbo(encoder, decoder, views, config, noise) -> dict[str, torch.Tensor]:
    batch, n_views = views.shape[:2]
    mu, logvar = encoder(views.flatten(0, 1)).chunk(2, dim=-1)
    z = mu + noise * (0.5 * logvar).exp()
    log_px = log_likelihood(decoder(z), views.flatten(0, 1), "bernoulli").view(batch, n_views)
    return simvae_terms(log_px, logvar.view(batch, n_views, -1), z.view(batch, n_views, -1), config)


def test_a_loop_written_from_scratch_with_simvae_terms_raises_the_elbo():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    d, config = 3, SimVAEConfig(sigma2=0.15)
    encoder, decoder = TinyEncoder(d), TinyDecoder(d)
    optimiser = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-2)
    held_out = two_views(bars(128, generator), generator)
    noise = torch.randn(256, d, generator=generator)  # the same reparameterisation noise before and after

    with torch.no_grad():
        before = elbo(encoder, decoder, held_out, config, noise)
    for _ in range(60):
        views = two_views(bars(32, generator), generator)
        terms = elbo(encoder, decoder, views, config, torch.randn(64, d))
        optimiser.zero_grad()
        terms["loss"].backward()
        optimiser.step()
    with torch.no_grad():
        after = elbo(encoder, decoder, held_out, config, noise)

    assert set(after) == {"loss", "elbo", "reconstruction", "entropy", "prior"}
    torch.testing.assert_close(after["elbo"], after["reconstruction"] + after["entropy"] + after["prior"])
    assert after["elbo"] > before["elbo"] + 10, (before["elbo"].item(), after["elbo"].item())  # nats per image
