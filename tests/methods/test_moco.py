"""MoCo v2: the InfoNCE-with-queue loss against a float64 loop, the key networks' EMA and the queue."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from simvae.config import config_from_dict
from simvae.errors import ConfigError
from simvae.methods.moco import moco_loss


def reference(q, k, queue, temperature):
    """Per query: -log softmax of [q.k, q.queue_1..K] / tau at the positive, unit vectors, float64 loops."""
    q, k, queue = (np.asarray(t, np.float64) for t in (q, k, queue))
    losses = []
    for qb, kb in zip(q, k):
        qb, kb = qb / np.linalg.norm(qb), kb / np.linalg.norm(kb)
        logits = [qb @ kb / temperature] + [qb @ n / temperature for n in queue]
        losses.append(-logits[0] + math.log(sum(math.exp(x) for x in logits)))
    return float(np.mean(losses))


def test_loss_matches_loop_reference():
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(5, 6, dtype=torch.float64, generator=gen), torch.randn(5, 6, dtype=torch.float64, generator=gen)
    queue = F.normalize(torch.randn(11, 6, dtype=torch.float64, generator=gen), dim=1)
    for temperature in (0.07, 0.2, 1.0):
        expected = reference(q.numpy(), k.numpy(), queue.numpy(), temperature)
        assert moco_loss(q, k, queue, temperature).item() == pytest.approx(expected, rel=1e-10)


def test_known_value_with_aligned_keys_and_orthogonal_queue():
    # q = k = e1, queue = e2, e3, e4 (K = 3), tau = 0.2: -log(e^5 / (e^5 + 3 e^0)) = log(1 + 3 e^-5)
    eye = torch.eye(4, dtype=torch.float64)
    value = moco_loss(eye[:1], eye[:1], eye[1:], 0.2)
    assert value.item() == pytest.approx(math.log(1 + 3 * math.exp(-5)), rel=1e-12)


def test_keys_and_queue_get_no_gradient():
    q = torch.randn(4, 3, requires_grad=True)
    k = torch.randn(4, 3, requires_grad=True)
    queue = F.normalize(torch.randn(6, 3), dim=1).requires_grad_()
    moco_loss(q, k, queue, 0.2).backward()
    assert q.grad is not None and k.grad is None and queue.grad is None


def test_method_loss_is_the_symmetrised_pair_loss(small_method):
    torch.manual_seed(0)
    method = small_method("moco", queue_size=10)
    views = torch.rand(4, 2, 1, 8, 8)
    loss = method.training_terms(views, torch.zeros(4, dtype=torch.long))["loss"]
    with torch.no_grad():
        q = method.embed_views(views)
        k = method.embed_views(views, method.key_encoder, method.key_head)
    expected = (moco_loss(q[:, 0], k[:, 1], method.queue, 0.2) + moco_loss(q[:, 1], k[:, 0], method.queue, 0.2)) / 2
    torch.testing.assert_close(loss, expected)


def test_on_step_end_is_an_ema_of_the_query_networks_and_enqueues_the_keys(small_method):
    torch.manual_seed(0)
    method = small_method("moco", queue_size=16, momentum=0.9)
    assert all(not p.requires_grad for p in [*method.key_encoder.parameters(), *method.key_head.parameters()])
    views = torch.rand(3, 2, 1, 8, 8)
    terms = method.training_terms(views, torch.zeros(3, dtype=torch.long))
    with torch.no_grad():
        keys = F.normalize(method.embed_views(views, method.key_encoder, method.key_head), dim=-1).flatten(0, 1)
    terms["loss"].backward()
    assert all(p.grad is None for p in method.key_encoder.parameters())
    old_queue = method.queue.clone()
    with torch.no_grad():  # stands in for the optimiser step
        for p in [*method.encoder.parameters(), *method.head.parameters()]:
            p.add_(torch.randn_like(p))
    old_keys = [p.clone() for p in [*method.key_encoder.parameters(), *method.key_head.parameters()]]
    method.on_step_end()
    online = [*method.encoder.parameters(), *method.head.parameters()]
    target = [*method.key_encoder.parameters(), *method.key_head.parameters()]
    for p_old, p_online, p_target in zip(old_keys, online, target):
        torch.testing.assert_close(p_target, 0.9 * p_old + 0.1 * p_online)
    torch.testing.assert_close(method.queue[:6], keys)  # B * J = 6 keys, image-major
    torch.testing.assert_close(method.queue[6:], old_queue[6:])
    assert method.queue_ptr.item() == 6
    method.on_step_end()  # nothing pending: the queue stays
    assert method.queue_ptr.item() == 6


def test_enqueue_wraps_around_and_overwrites_the_oldest(small_method):
    method = small_method("moco", queue_size=8)
    initial = method.queue.clone()
    torch.testing.assert_close(initial.norm(dim=1), torch.ones(8))  # L2-normalised from the start
    first, second = torch.randn(6, 8), torch.randn(6, 8)
    method.enqueue(first)
    method.enqueue(second)
    torch.testing.assert_close(method.queue[6:], second[:2])
    torch.testing.assert_close(method.queue[:4], second[2:])
    torch.testing.assert_close(method.queue[4:6], first[4:])
    assert method.queue_ptr.item() == 4
    many = torch.randn(20, 8)
    method.enqueue(many)  # more keys than slots: the last K are kept
    torch.testing.assert_close(method.queue, many[-8:])
    assert method.queue_ptr.item() == 0
    assert {"queue", "queue_ptr"} <= set(method.state_dict())


def test_evaluation_forward_does_not_enqueue(small_method):
    method = small_method("moco", queue_size=8).eval()
    before = method.queue.clone()
    with torch.no_grad():
        method.training_terms(torch.rand(3, 2, 1, 8, 8), torch.zeros(3, dtype=torch.long))
    method.on_step_end()
    torch.testing.assert_close(method.queue, before)


@pytest.mark.parametrize(("key", "value"), [("temperature", 0), ("momentum", 1.0), ("momentum", -0.1), ("queue_size", 0)])
def test_config_validation(key, value):
    with pytest.raises(ConfigError, match=f"method.{key}"):
        config_from_dict({"method": {"name": "moco", key: value}})
