"""SwAV: Sinkhorn-Knopp and the swapped prediction against float64 references written from the paper (value and
gradient; the assignments get no gradient), the queue, the prototypes' normalisation and freeze, a tiny CLI run."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from simvae.cli.main import main
from simvae.config import config_from_dict
from simvae.errors import ConfigError
from simvae.methods import METHODS
from simvae.methods.swav import sinkhorn, swav_loss
from simvae.runs import setup as run_setup


def reference_sinkhorn(scores, epsilon, iterations):
    """The paper's Sinkhorn-Knopp (its Algorithm 1's distributed_sinkhorn on one process), float64 numpy."""
    q = np.exp(np.asarray(scores, np.float64) / epsilon).T  # K x B
    k, b = q.shape
    q /= q.sum()
    for _ in range(iterations):
        q /= q.sum(axis=1, keepdims=True)
        q /= k
        q /= q.sum(axis=0, keepdims=True)
        q /= b
    return (q * b).T


def log_softmax(x):
    x = x - x.max()
    return x - math.log(np.exp(x).sum())


def reference_loss(scores, n_global, tau, epsilon, iterations):
    """Swapped prediction by loops: codes of each global view predicted from every other view; its gradient with
    respect to the scores, (softmax(s_v / tau) - q_g) / tau per pair, with the codes held fixed."""
    scores = np.asarray(scores, np.float64)
    batch, n_views, _ = scores.shape
    pairs = [(g, v) for g in range(n_global) for v in range(n_views) if v != g]
    codes = [reference_sinkhorn(scores[:, g], epsilon, iterations) for g in range(n_global)]
    loss, grad = 0.0, np.zeros_like(scores)
    for b in range(batch):
        for g, v in pairs:
            log_p = log_softmax(scores[b, v] / tau)
            loss -= float(codes[g][b] @ log_p)
            grad[b, v] += (np.exp(log_p) - codes[g][b]) / tau
    return loss / (batch * len(pairs)), grad / (batch * len(pairs))


def cosine_scores(batch, views, k, seed=0):
    gen = torch.Generator().manual_seed(seed)
    z = F.normalize(torch.randn(batch, views, 6, dtype=torch.float64, generator=gen), dim=-1)
    c = F.normalize(torch.randn(k, 6, dtype=torch.float64, generator=gen), dim=-1)
    return z @ c.T


def test_sinkhorn_matches_the_papers_algorithm_and_spreads_the_batch_evenly():
    scores = cosine_scores(12, 1, 5)[:, 0]
    for epsilon, iterations in ((0.05, 3), (0.5, 1), (0.05, 50)):
        codes = sinkhorn(scores, epsilon, iterations)
        np.testing.assert_allclose(codes.numpy(), reference_sinkhorn(scores.numpy(), epsilon, iterations), rtol=1e-9)
        np.testing.assert_allclose(codes.sum(1).numpy(), np.ones(12), rtol=1e-12)  # each sample's code sums to 1
    converged = sinkhorn(scores, 0.05, 200)
    np.testing.assert_allclose(converged.sum(0).numpy(), np.full(5, 12 / 5), rtol=1e-6)  # equipartition: B/K each


def test_zero_weights_leave_samples_out_exactly():
    scores = cosine_scores(10, 1, 4, seed=3)[:, 0]
    weights = torch.tensor([0, 1, 1, 0, 1, 1, 1, 0, 1, 1], dtype=torch.float64)
    kept = weights.bool()
    with_weights = sinkhorn(scores, 0.05, 3, weights)
    np.testing.assert_allclose(with_weights[kept].numpy(), reference_sinkhorn(scores[kept].numpy(), 0.05, 3), rtol=1e-9)
    assert torch.all(with_weights[~kept] == 0)


def test_loss_and_gradient_match_the_reference_and_the_codes_get_no_gradient():
    scores = cosine_scores(8, 5, 6).requires_grad_()  # 2 global + 3 local views
    for tau, epsilon in ((0.1, 0.05), (0.5, 0.1)):
        scores.grad = None
        loss = swav_loss(scores, 2, tau, epsilon, 3)
        value, grad = reference_loss(scores.detach().numpy(), 2, tau, epsilon, 3)
        assert loss.item() == pytest.approx(value, rel=1e-10)
        loss.backward()
        np.testing.assert_allclose(scores.grad.numpy(), grad, rtol=1e-8, atol=1e-12)
    with torch.enable_grad():
        assert not sinkhorn(scores[:, 0], 0.05, 3).requires_grad


def test_the_queue_is_assigned_with_the_batch_and_unwritten_rows_are_left_out():
    scores = cosine_scores(4, 2, 5, seed=1)
    queue = cosine_scores(6, 1, 5, seed=2)[:, 0]
    written = torch.tensor([True, True, True, False, False, False])
    got = swav_loss(scores, 2, 0.1, 0.05, 3, queue, written)
    # the reference: each global view's codes are the batch's rows of Sinkhorn on [written queue rows; batch]
    expected = 0.0
    for g in range(2):
        codes = reference_sinkhorn(torch.cat([queue[written], scores[:, g]]).numpy(), 0.05, 3)[-4:]
        log_p = F.log_softmax(scores[:, 1 - g] / 0.1, dim=-1).numpy()
        expected += -(codes * log_p).sum(1).mean() / 2
    assert got.item() == pytest.approx(expected, rel=1e-9)
    assert got.item() != pytest.approx(swav_loss(scores, 2, 0.1, 0.05, 3).item(), rel=1e-3)


def test_prototypes_are_normalised_frozen_early_and_trained_later(small_method):
    torch.manual_seed(0)
    method = small_method("swav", prototypes=7, freeze_prototypes=0.1)
    assert METHODS["swav"].uses_local_crops
    torch.testing.assert_close(method.prototypes.weight.norm(dim=1), torch.ones(7))
    views, local = torch.rand(6, 2, 1, 8, 8), torch.rand(6, 2, 1, 8, 8)
    labels = torch.zeros(6, dtype=torch.long)
    for step, frozen in ((0, True), (9, True), (10, False)):
        method.zero_grad()
        method.on_step_start(step, 100)
        method.training_terms(views, labels, local)["loss"].backward()
        grad = method.prototypes.weight.grad
        assert grad is not None and (torch.all(grad == 0) if frozen else grad.abs().sum() > 0)
        assert next(method.encoder.parameters()).grad.abs().sum() > 0, "the encoder trains throughout"
    with torch.no_grad():
        method.prototypes.weight.mul_(3.0)
    method.on_step_end()
    torch.testing.assert_close(method.prototypes.weight.norm(dim=1), torch.ones(7))


def test_method_loss_is_swav_loss_of_its_scores(small_method):
    torch.manual_seed(0)
    method = small_method("swav", prototypes=7)
    views, local = torch.rand(5, 2, 1, 8, 8), torch.rand(5, 3, 1, 8, 8)
    loss = method.training_terms(views, torch.zeros(5, dtype=torch.long), local)["loss"]
    with torch.no_grad():
        z = F.normalize(method.head(method.encoder(torch.cat([views, local], 1).flatten(0, 1))), dim=-1).view(5, 5, -1)
    torch.testing.assert_close(loss, swav_loss(z @ method.prototypes.weight.T, 2, 0.1, 0.05, 3))


def test_queue_fills_with_the_global_embeddings_and_is_used_once_written(small_method):
    torch.manual_seed(0)
    method = small_method("swav", prototypes=7, queue_size=10)
    views, local, labels = torch.rand(3, 2, 1, 8, 8), torch.rand(3, 2, 1, 8, 8), torch.zeros(3, dtype=torch.long)
    first = method.training_terms(views, labels, local)["loss"]
    with torch.no_grad():  # the same forward (train-mode BatchNorm over the global and local crops together)
        z = F.normalize(method.head(method.encoder(torch.cat([views, local], 1).flatten(0, 1))), dim=-1).view(3, 4, -1)
    # the queue is empty at the first step: every row is left out, so the loss is the queue-free one
    torch.testing.assert_close(first, swav_loss(z @ method.prototypes.weight.T, 2, 0.1, 0.05, 3))
    method.on_step_end()
    assert method.queue_filled.item() == 6 and method.queue_ptr.item() == 6
    torch.testing.assert_close(method.queue[:6], z[:, :2].flatten(0, 1))  # 3 images x 2 global views, image-major
    method.on_step_end()  # nothing pending
    assert method.queue_filled.item() == 6
    second = method.training_terms(views, labels, local)["loss"]
    assert second.item() != pytest.approx(first.item(), rel=1e-4), "the written rows take part in the assignment"
    method.on_step_end()
    method.training_terms(views, labels)
    method.on_step_end()
    assert method.queue_filled.item() == 10 and method.queue_ptr.item() == 8
    assert {"queue", "queue_ptr", "queue_filled"} <= set(method.state_dict()) and "prototype_gate" not in method.state_dict()


@pytest.mark.parametrize(("key", "value"), [("prototypes", 1), ("temperature", 0), ("epsilon", 0), ("sinkhorn_iterations", 0),
                                            ("freeze_prototypes", 1.5), ("queue_size", -1)])
def test_config_validation(key, value):
    with pytest.raises(ConfigError, match=f"method.{key}"):
        config_from_dict({"method": {"name": "swav", key: value}})


def test_trains_from_the_command_line_with_local_crops_and_probes(tmp_path, small_shapes, monkeypatch):
    monkeypatch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: small_shapes)
    run = tmp_path / "swav"
    assert main(["train", "--out", str(run), "method.name=swav", "method.prototypes=16", "method.queue_size=64",
                 "augment.local_crops.number=2", "data.limit_train=96", "train.batch_size=32", "train.epochs=1",
                 "net.latent_dim=3", "eval.mlp_steps=20", "eval.gmm_n_init=1", "eval.knn_k=[1]", "eval.figures=false"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["method"] == "swav" and 0.0 <= metrics["results"]["encoder"]["content"]["linear"]["test"] <= 1.0
