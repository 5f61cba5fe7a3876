"""The shared discriminative machinery: encoder/head shapes, representations, pair averaging, gathers,
registration and config validation of every discriminative method."""

import pytest
import torch

from simvae.config import config_from_dict
from simvae.distributed import gather_no_grad, gather_with_grad
from simvae.errors import ConfigError
from simvae.fields import check_bounds
from simvae.methods import METHODS, ModelSpec, build_method, method_config
from simvae.methods.discriminative import (
    DiscriminativeConfig,
    DiscriminativeMethod,
    ema_update,
    make_target,
    ordered_pair_mean,
)

DISCRIMINATIVE = ["simclr", "vicreg", "moco", "byol", "simsiam", "dino", "swav", "barlowtwins"]
SPEC = ModelSpec(image_shape=(1, 8, 8), latent_dim=4, backbone="mlp", num_classes=3)


def test_gathers_are_the_identity_on_one_process():
    x = torch.randn(3, 2, requires_grad=True)
    gathered = gather_with_grad(x)
    torch.testing.assert_close(gathered, x)
    gathered.sum().backward()
    torch.testing.assert_close(x.grad, torch.ones_like(x))
    no_grad = gather_no_grad(x)
    torch.testing.assert_close(no_grad, x.detach())
    assert not no_grad.requires_grad


def test_encoder_head_shapes_and_primary_representation():
    torch.manual_seed(0)
    method = DiscriminativeMethod(DiscriminativeConfig(head_hidden=16, head_dim=8), SPEC).eval()
    images = torch.rand(5, 1, 8, 8)
    reps = method.representations(images)
    assert list(reps) == ["encoder", "head"]  # the pre-head features are primary
    assert reps["encoder"].shape == (5, 4) and reps["head"].shape == (5, 8)
    torch.testing.assert_close(reps["head"], method.head(reps["encoder"]))
    views = torch.rand(5, 3, 1, 8, 8)
    embedded = method.embed_views(views)
    assert embedded.shape == (5, 3, 8)
    for j in range(3):  # eval-mode BatchNorm: per-view encoding matches the joint one
        torch.testing.assert_close(embedded[:, j], method.head(method.encoder(views[:, j])))


def test_encoder_is_the_generative_encoder_without_the_variance_half():
    simvae = build_method(method_config("simvae"), SPEC)
    simclr = build_method(method_config("simclr"), SPEC)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    last_hidden = 500  # the MLP encoder's last hidden width
    assert count(simvae.encoder) - count(simclr.encoder) == SPEC.latent_dim * (last_hidden + 1)


def test_head_has_batchnorm_relu_hidden_layer():
    method = DiscriminativeMethod(DiscriminativeConfig(head_hidden=16, head_dim=8), SPEC)
    kinds = [type(layer).__name__ for layer in method.head]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert method.head[0].in_features == 4 and method.head[0].out_features == 16 and method.head[-1].out_features == 8


def test_ordered_pair_mean_against_loop():
    a, b = torch.randn(4, 3, 2, dtype=torch.float64), torch.randn(4, 3, 2, dtype=torch.float64)
    loss = lambda x, y: (x * y).sum(-1).mean() + x.sum()  # noqa: E731  (asymmetric on purpose)
    expected = sum(loss(a[:, i], b[:, j]) for i in range(3) for j in range(3) if i != j) / 6
    torch.testing.assert_close(ordered_pair_mean(loss, a, b), expected)


def test_ema_update_and_frozen_target():
    online = torch.nn.Linear(3, 2)
    target = make_target(online)
    assert all(not p.requires_grad for p in target.parameters())
    old = [p.clone() for p in target.parameters()]
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
    ema_update(target, online, 0.9)
    for p_old, p_online, p_target in zip(old, online.parameters(), target.parameters()):
        torch.testing.assert_close(p_target, 0.9 * p_old + 0.1 * p_online)


@pytest.mark.parametrize("name", DISCRIMINATIVE)
def test_registered_with_min_views(name):
    cls = METHODS[name]
    assert issubclass(cls, DiscriminativeMethod)
    assert cls.min_views == 2
    config = method_config(name)
    assert config.name == name and config.head_hidden == 512 and config.head_dim == 128
    check_bounds(config, "method")


@pytest.mark.parametrize("name", DISCRIMINATIVE)
@pytest.mark.parametrize("key", ["head_dim", "head_hidden"])
def test_head_sizes_are_validated(name, key):
    with pytest.raises(ConfigError, match=f"method.{key}"):
        config_from_dict({"method": {"name": name, key: 0}})


@pytest.mark.parametrize("name", DISCRIMINATIVE)
def test_three_views_train_and_represent(name, small_method):
    torch.manual_seed(0)
    method = small_method(name)
    terms = method.training_terms(torch.rand(4, 3, 1, 8, 8), torch.zeros(4, dtype=torch.long))
    assert torch.isfinite(terms["loss"]) and terms["loss"].ndim == 0
    terms["loss"].backward()
    method.on_step_end()
    method.eval()
    with torch.no_grad():
        reps = method.representations(torch.rand(3, 1, 8, 8))
    assert next(iter(reps)) == "encoder" and reps["encoder"].shape == (3, 4)


@pytest.mark.parametrize(("name", "terms"), [("simclr", {"loss"}), ("vicreg", {"loss", "invariance", "variance", "covariance"}),
                                             ("moco", {"loss"}), ("byol", {"loss"}), ("simsiam", {"loss"}),
                                             ("dino", {"loss"}), ("swav", {"loss"}),
                                             ("barlowtwins", {"loss", "invariance", "redundancy"})])
def test_gradient_reaches_the_encoder(name, terms):
    torch.manual_seed(0)
    method = build_method(method_config(name), SPEC)
    out = method.training_terms(torch.rand(6, 2, 1, 8, 8), torch.zeros(6, dtype=torch.long))
    assert set(out) == terms and torch.isfinite(out["loss"])
    out["loss"].backward()
    grads = [p.grad for p in method.encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0


def test_embed_crops_runs_the_encoder_once_per_resolution_and_the_head_on_every_crop():
    torch.manual_seed(0)
    spec = ModelSpec(image_shape=(3, 8, 8), latent_dim=4, backbone="resnet18", num_classes=3)  # takes any image size
    method = DiscriminativeMethod(DiscriminativeConfig(head_hidden=16, head_dim=8), spec).eval()
    views, small, same = torch.rand(2, 2, 3, 8, 8), torch.rand(2, 3, 3, 4, 4), torch.rand(2, 3, 3, 8, 8)
    with torch.no_grad():
        mixed = method.embed_crops(views, small)
        assert mixed.shape == (2, 5, 8)
        for j, crop in enumerate([views[:, 0], views[:, 1], *small.unbind(1)]):  # eval-mode BatchNorm: per crop
            torch.testing.assert_close(mixed[:, j], method.head(method.encoder(crop)), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(method.embed_crops(views, same), method.embed_views(torch.cat([views, same], 1)))
        assert torch.equal(method.embed_crops(views, None), method.embed_views(views))
