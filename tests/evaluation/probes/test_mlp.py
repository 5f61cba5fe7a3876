"""The MLP probe trains for a budget of steps (not epochs), early-stops and chooses its weight decay on validation."""

import pytest
import torch
from torch import nn

from simvae.evaluation.probes import StackedMLP, linear_probe, mlp_probe
from simvae.evaluation.probes.mlp import batches

SETTINGS = {"steps": 300, "lr": 1e-2, "weight_decays": [0.0, 0.1, 1.0], "batch_size": 64, "eval_every": 20,
            "patience": 5, "seed": 0}


def test_on_a_small_separable_set_it_reaches_the_linear_probe_or_better(splits):
    features, labels = splits(30, classes=3, spread=0.3)
    linear = linear_probe(features, labels, 3, [0.01, 0.1, 1.0, 10.0])["test"]
    assert mlp_probe(features, labels, 3, **SETTINGS)["test"] >= linear == 1.0


def test_noise_stays_near_chance(splits):
    features, labels = splits(300, classes=3)
    noise = {split: torch.randn(x.shape, generator=torch.Generator().manual_seed(i)) for i, (split, x) in enumerate(features.items())}
    assert mlp_probe(noise, labels, 3, **SETTINGS)["test"] < 0.5


@pytest.mark.parametrize("n", [30, 3000])
def test_the_budget_is_steps_of_the_same_batch_whatever_the_size(n):
    drawn = batches(n, 256, 40, torch.Generator().manual_seed(0))
    assert len(drawn) == 40 and {len(b) for b in drawn} == {min(256, n)}
    assert all(len(set(b.tolist())) == len(b) for b in drawn)  # no image twice in a batch


def test_reports_the_chosen_step_and_decay_within_the_budget(splits):
    features, labels = splits(90, classes=3, spread=1.0)
    result = mlp_probe(features, labels, 3, **{**SETTINGS, "patience": None})
    assert 0 < result["step"] <= SETTINGS["steps"] and result["step"] % SETTINGS["eval_every"] == 0
    assert result["weight_decay"] in SETTINGS["weight_decays"] and result["best_test"] >= result["test"]


def test_stacked_copies_learn_independently():
    model = StackedMLP(2, 4, 4, 3)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))

    def copy0_gradient():
        model.zero_grad()
        nn.functional.cross_entropy(model(x).flatten(0, 1), y.repeat(2), reduction="sum").backward()
        return model.w1.grad[0].clone()

    before = copy0_gradient()
    with torch.no_grad():
        model.w1[1].mul_(3.0)
        model.w2[1].add_(1.0)
    torch.testing.assert_close(copy0_gradient(), before)


def test_one_copy_trains_exactly_as_torch_adamw_on_an_mlp(splits):
    """Adam plus the decay applied before each step is AdamW: same weights as torch.optim.AdamW on nn.Sequential."""
    features, labels = splits(64, classes=3, spread=1.0)
    x, y = features["train"].double(), labels["train"]
    stacked = StackedMLP(1, 4, 4, 3).double()
    plain = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3)).double()
    with torch.no_grad():
        plain[0].weight.copy_(stacked.w1[0].T), plain[0].bias.copy_(stacked.b1[0, 0])
        plain[2].weight.copy_(stacked.w2[0].T), plain[2].bias.copy_(stacked.b2[0, 0])
    ours, reference = torch.optim.Adam(stacked.parameters(), lr=1e-2), torch.optim.AdamW(plain.parameters(), lr=1e-2, weight_decay=0.5)
    for index in batches(64, 16, 30, torch.Generator().manual_seed(0)):
        ours.zero_grad(), reference.zero_grad()
        nn.functional.cross_entropy(stacked(x[index])[0], y[index]).backward()
        nn.functional.cross_entropy(plain(x[index]), y[index]).backward()
        with torch.no_grad():
            for parameter in stacked.parameters():
                parameter.mul_(1 - 1e-2 * 0.5)
        ours.step(), reference.step()
    torch.testing.assert_close(stacked.w1[0].T, plain[0].weight)
    torch.testing.assert_close(stacked.w2[0].T, plain[2].weight)


def test_is_deterministic_and_leaves_the_global_generator_alone(splits):
    features, labels = splits(90, classes=3, spread=1.0)
    state = torch.get_rng_state()
    first = mlp_probe(features, labels, 3, **SETTINGS)
    assert torch.equal(torch.get_rng_state(), state)
    assert mlp_probe(features, labels, 3, **SETTINGS, device="cpu") == first
