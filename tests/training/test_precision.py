"""Precision on CPU: bf16-mixed trains, every method returns its terms in float32 under bf16 autocast and
keeps float64 through its losses under 64-true (what the exact distributed tests rely on)."""

import math

import pytest
import torch
from lightning_fabric import Fabric

from simvae.config import load_config
from simvae.data.base import Dataset, ImageSet
from simvae.methods import METHODS, ModelSpec, build_method, method_config
from simvae.runs import setup as run_setup
from simvae.training import loop

SPEC = ModelSpec(image_shape=(1, 8, 8), latent_dim=4, backbone="mlp", num_classes=3, likelihood="gaussian")


def patterned_dataset(*_args, **_kwargs) -> Dataset:
    """3 classes, each a fixed binary 8x8 pattern, with a little noise: something a decoder can learn quickly."""
    generator = torch.Generator().manual_seed(3)
    templates = (torch.rand(3, 1, 8, 8, generator=generator) > 0.5).float()

    def split(n):
        content = torch.randint(0, 3, (n,), generator=generator)
        noisy = templates[content] * 0.8 + 0.1 + 0.05 * torch.randn(n, 1, 8, 8, generator=generator)
        return ImageSet((noisy.clamp(0, 1) * 255).round().to(torch.uint8), content)

    return Dataset("patterns", split(64), split(16), split(16), ["a", "b", "c"], likelihood="gaussian")


def test_bf16_mixed_training_lowers_the_loss_without_nan(tmp_path, monkeypatch):
    monkeypatch.setattr(run_setup, "load_dataset", patterned_dataset)
    config = load_config(overrides=["net.backbone=mlp", "net.latent_dim=4", "augment.preset=none", "method.name=simvae",
                                    "train.batch_size=8", "train.epochs=4", "train.log_every=1", "train.lr=0.002",
                                    "train.checkpoint_every=1000", "train.accelerator=cpu", "train.precision=bf16-mixed"])
    state = loop.train(config, tmp_path / "run", progress=False)
    losses = [point["loss"] for point in state["history"]]
    assert state["finished"] and len(losses) == 32
    assert all(math.isfinite(point[k]) for point in state["history"] for k in point), "a term became NaN or infinite"
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first - 0.1 * abs(first), f"the loss did not go down: {first:.4g} -> {last:.4g}"


@pytest.mark.parametrize("name", sorted(METHODS))
def test_terms_are_float32_while_the_networks_run_in_bf16(name):
    fabric = Fabric(accelerator="cpu", devices=1, precision="bf16-mixed")
    torch.manual_seed(0)
    method = build_method(method_config(name), SPEC)
    seen = []
    method.encoder.register_forward_hook(lambda _module, _inputs, output: seen.append(output.dtype))
    model = fabric.setup_module(method)
    model.train()
    views = torch.rand(8, 2, *SPEC.image_shape)
    labels = torch.randint(0, SPEC.num_classes, (8,))
    terms = model(views, labels)
    assert bfloat16_seen(seen), f"{name}'s encoder did not run under bf16 autocast: {seen}"
    for term, value in terms.items():
        assert value.dtype == torch.float32, f"{name} term {term} is {value.dtype}"
        assert value.dim() == 0 and torch.isfinite(value), f"{name} term {term} = {value}"
    fabric.backward(terms["loss"])  # the backward pass works through the casts too


@pytest.mark.parametrize("name", sorted(METHODS))
def test_terms_stay_float64_under_64_true(name):
    fabric = Fabric(accelerator="cpu", devices=1, precision="64-true")
    torch.manual_seed(0)
    model = fabric.setup_module(build_method(method_config(name), SPEC))
    model.train()
    # the method itself, as Fabric's wrapper casts float64 inputs in and its outputs back to float32
    terms = model.module(torch.rand(8, 2, *SPEC.image_shape, dtype=torch.float64), torch.randint(0, SPEC.num_classes, (8,)))
    assert terms["loss"].dtype == torch.float64, f"{name}'s loss was computed in {terms['loss'].dtype}, not float64"
    fabric.backward(terms["loss"])
    model.module.on_step_end()  # MoCo enqueues its float64 keys into its float64 queue


def bfloat16_seen(dtypes) -> bool:
    return bool(dtypes) and all(dtype == torch.bfloat16 for dtype in dtypes)
