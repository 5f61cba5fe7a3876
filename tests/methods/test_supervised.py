"""Supervised reference (simvae.methods.supervised): cross-entropy against a float64 reference, gradients."""

from __future__ import annotations

import pytest
import torch

from simvae.config import load_config
from simvae.errors import ConfigError
from simvae.methods import METHODS, ModelSpec, build_method, method_config
from simvae.methods.supervised import Supervised, SupervisedConfig, supervised_terms


def reference_cross_entropy(logits, labels):
    x = logits.double()
    shifted = x - x.max(-1, keepdim=True).values
    log_softmax = shifted - shifted.exp().sum(-1, keepdim=True).log()
    return -log_softmax[torch.arange(len(labels)), labels].mean()


def test_supervised_terms_match_float64_reference():
    g = torch.Generator().manual_seed(0)
    logits = 5 * torch.randn(7, 4, generator=g)
    labels = torch.randint(0, 4, (7,), generator=g)
    terms = supervised_terms(logits, labels)
    torch.testing.assert_close(terms["loss"].double(), reference_cross_entropy(logits, labels), rtol=1e-6, atol=1e-6)
    expected_accuracy = sum(int(row.argmax()) == int(y) for row, y in zip(logits, labels)) / 7
    assert terms["accuracy"].item() == pytest.approx(expected_accuracy)
    assert set(terms) == {"loss", "accuracy"}


@pytest.mark.parametrize("backbone", ["mlp", "conv"])
def test_gradients_reach_encoder_and_classifier(backbone):
    torch.manual_seed(0)
    spec = ModelSpec(image_shape=(1, 8, 8), latent_dim=3, backbone=backbone, num_classes=4)
    model = build_method(method_config("supervised"), spec)
    terms = model(torch.rand(3, 2, *spec.image_shape), torch.tensor([0, 3, 1]))
    terms["loss"].backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_every_view_gets_its_images_label():
    torch.manual_seed(0)
    spec = ModelSpec(image_shape=(1, 8, 8), latent_dim=3, backbone="mlp", num_classes=5)
    model = build_method(SupervisedConfig(), spec)
    views, labels = torch.rand(3, 2, *spec.image_shape), torch.tensor([4, 0, 2])
    loss = model(views, labels)["loss"]
    with torch.no_grad():
        per_view = [model.classifier(model.encoder(views[b, j : j + 1])) for b in range(3) for j in range(2)]
        expected = reference_cross_entropy(torch.cat(per_view), torch.tensor([4, 4, 0, 0, 2, 2]))
    torch.testing.assert_close(loss.double(), expected, rtol=1e-5, atol=1e-5)


def test_interface():
    spec = ModelSpec(image_shape=(1, 8, 8), latent_dim=3, backbone="mlp", num_classes=4)
    model = build_method(method_config("supervised"), spec)
    assert METHODS["supervised"] is Supervised
    reps = model.representations(torch.rand(5, *spec.image_shape))
    assert list(reps) == ["encoder"] and reps["encoder"].shape == (5, 3)
    assert isinstance(load_config(overrides=["method.name=supervised"]).method, SupervisedConfig)
    with pytest.raises(ConfigError, match="method"):
        load_config(overrides=["method.name=supervised", "method.beta=1"])
