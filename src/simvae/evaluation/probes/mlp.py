"""The MLP probe (the official d -> d -> classes network) on standardised features: Adam with decoupled weight
decay for a budget of optimiser *steps*, not epochs, so it trains as long on 300 images as on 30,000;
early-stopped on validation accuracy, its weight decay chosen on validation.

The networks of every weight decay in the grid train side by side as one batched network (G stacked copies, the
same batches, each its own decay): G independent probes at the cost of one.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional

from simvae.evaluation.probes.common import standardise


class StackedMLP(nn.Module):
    """G independent d -> h -> classes MLPs evaluated on the same inputs: (N, d) -> (G, N, classes).
    Each copy is initialised as torch's nn.Linear would be (uniform in ±1/sqrt(fan_in))."""

    def __init__(self, copies: int, dim: int, hidden: int, classes: int) -> None:
        super().__init__()
        def uniform(*shape: int, fan_in: int) -> nn.Parameter:
            bound = 1 / math.sqrt(fan_in)
            return nn.Parameter(torch.empty(copies, *shape).uniform_(-bound, bound))
        self.w1, self.b1 = uniform(dim, hidden, fan_in=dim), uniform(1, hidden, fan_in=dim)
        self.w2, self.b2 = uniform(hidden, classes, fan_in=hidden), uniform(1, classes, fan_in=hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(torch.matmul(x, self.w1) + self.b1)  # (G, N, h)
        return torch.baddbmm(self.b2, hidden, self.w2)


def batches(n: int, batch_size: int, steps: int, generator: torch.Generator) -> list[torch.Tensor]:
    """`steps` index batches of min(batch_size, n) images: passes over reshuffled data, drawn on the CPU so they
    are the same on every device (a pass's remainder is dropped)."""
    size = min(batch_size, n)
    out: list[torch.Tensor] = []
    while len(out) < steps:
        out += list(torch.randperm(n, generator=generator)[: n - n % size].split(size))
    return out[:steps]


def correct(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(G,) accuracy of each copy."""
    return (logits.argmax(-1) == labels).float().mean(-1)


def mlp_probe(features: dict[str, torch.Tensor], labels: dict[str, torch.Tensor], classes: int, steps: int, lr: float,
              weight_decays: list[float], batch_size: int, eval_every: int, patience: int | None, seed: int,
              device: torch.device | str = "cpu") -> dict[str, float]:
    """Train one MLP per weight decay of `weight_decays` for at most `steps` Adam steps; every `eval_every` steps
    score val and test and keep each network's best validation point; stop once `patience` evaluations in a row
    improved none. Report the network with the best validation accuracy (ties: the stronger decay) — its test
    accuracy, weight decay and step — and "best_test", the best test accuracy over every evaluated step and decay
    (the official optimistic selection, recorded only to show its effect)."""
    x = dict(zip(("train", "val", "test"), standardise(*(features[s].to(device) for s in ("train", "val", "test")))))
    y = {split: labels[split].to(device) for split in x}
    decays = sorted(weight_decays, reverse=True)
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # the initial weights, without moving the caller's generator
        torch.manual_seed(seed)
        model = StackedMLP(len(decays), x["train"].shape[1], x["train"].shape[1], classes).to(device, x["train"].dtype)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    shrink = (1 - lr * torch.tensor(decays, dtype=x["train"].dtype, device=device)).view(-1, 1, 1)
    best_val = torch.full((len(decays),), -1.0, device=device)
    best_test, best_step = torch.zeros_like(best_val), torch.zeros_like(best_val)
    best_any_test, stale = 0.0, 0
    for step, index in enumerate(batches(len(x["train"]), batch_size, steps, generator), start=1):
        index = index.to(device)
        logits = model(x["train"][index])
        # the mean over each copy's batch, summed over copies: every copy gets its own gradient
        loss = functional.cross_entropy(logits.flatten(0, 1), y["train"][index].repeat(len(decays)), reduction="sum")
        optimiser.zero_grad(set_to_none=True)
        (loss / len(index)).backward()
        with torch.no_grad():  # decoupled weight decay (AdamW's), one strength per copy
            for parameter in model.parameters():
                parameter.mul_(shrink)
        optimiser.step()
        if step % eval_every and step != steps:
            continue
        with torch.no_grad():
            val, test = correct(model(x["val"]), y["val"]), correct(model(x["test"]), y["test"])
        best_any_test = max(best_any_test, test.max().item())
        improved = val > best_val
        best_val, best_test = torch.where(improved, val, best_val), torch.where(improved, test, best_test)
        best_step = torch.where(improved, torch.full_like(best_step, step), best_step)
        stale = 0 if improved.any() else stale + 1
        if patience is not None and stale >= patience:
            break
    chosen = int(best_val.argmax())  # the first maximum: the strongest decay among ties
    return {"val": best_val[chosen].item(), "test": best_test[chosen].item(), "step": int(best_step[chosen]),
            "weight_decay": decays[chosen], "best_test": best_any_test}
