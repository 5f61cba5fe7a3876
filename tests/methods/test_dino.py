"""DINO: its loss against a float64 reference written from the paper's equations (value and gradient), the
teacher's centre, schedules and EMA, the weight-normalised last layer, and a tiny run from the command line."""

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
from simvae.methods.dino import cosine_momentum, dino_loss, updated_center, warmed_up
from simvae.runs import setup as run_setup


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def reference(student, teacher, center, tau_s, tau_t):
    """The paper's H(P_t(x_g), P_s(x_v)) averaged over every teacher global view g and student view v != g, by loops
    in float64; and its gradient with respect to the student's outputs, dH/ds = (P_s - P_t) / tau_s per pair."""
    student, teacher, center = (np.asarray(t, np.float64) for t in (student, teacher, center))
    batch, n_views, _ = student.shape
    n_global = teacher.shape[1]
    pairs = [(g, v) for g in range(n_global) for v in range(n_views) if v != g]
    loss, grad = 0.0, np.zeros_like(student)
    for b in range(batch):
        for g, v in pairs:
            p_t = softmax((teacher[b, g] - center) / tau_t)
            p_s = softmax(student[b, v] / tau_s)
            loss -= sum(p_t[k] * math.log(p_s[k]) for k in range(len(p_t)))
            grad[b, v] += (p_s - p_t) / tau_s
    scale = batch * len(pairs)
    return loss / scale, grad / scale


def test_loss_and_gradient_match_the_papers_equations_and_the_teacher_gets_no_gradient():
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(5, 6, 7, dtype=torch.float64, generator=gen).requires_grad_()  # 2 global + 4 local views
    teacher = torch.randn(5, 2, 7, dtype=torch.float64, generator=gen).requires_grad_()
    center = torch.randn(7, dtype=torch.float64, generator=gen)
    for tau_s, tau_t in ((0.1, 0.04), (0.1, 0.07), (1.0, 0.5)):
        student.grad = None
        loss = dino_loss(student, teacher, center, tau_s, tau_t)
        value, grad = reference(student.detach().numpy(), teacher.detach().numpy(), center.numpy(), tau_s, tau_t)
        assert loss.item() == pytest.approx(value, rel=1e-10)
        loss.backward()
        np.testing.assert_allclose(student.grad.numpy(), grad, rtol=1e-9, atol=1e-12)
        assert teacher.grad is None, "the teacher's outputs are targets: no gradient"


def test_known_values_uniform_targets_and_a_tensor_temperature():
    # equal outputs everywhere: both distributions uniform over K, so H = log K
    outputs = torch.zeros(3, 4, 5, dtype=torch.float64)
    assert dino_loss(outputs, outputs[:, :2], torch.zeros(5, dtype=torch.float64), 0.1, 0.04).item() == pytest.approx(math.log(5))
    gen = torch.Generator().manual_seed(1)
    student, teacher = torch.randn(4, 3, 6, generator=gen), torch.randn(4, 2, 6, generator=gen)
    center = torch.zeros(6)
    torch.testing.assert_close(dino_loss(student, teacher, center, 0.1, torch.tensor(0.05)),
                               dino_loss(student, teacher, center, 0.1, 0.05))


def test_centre_is_an_ema_of_the_teachers_batch_means():
    gen = torch.Generator().manual_seed(2)
    teacher, center = torch.randn(6, 2, 5, dtype=torch.float64, generator=gen), torch.randn(5, dtype=torch.float64, generator=gen)
    expected = 0.9 * center.numpy() + 0.1 * teacher.numpy().reshape(12, 5).mean(axis=0)
    np.testing.assert_allclose(updated_center(center, teacher, 0.9).numpy(), expected, rtol=1e-12)


def test_schedules_momentum_cosine_to_one_and_the_temperature_warm_up():
    assert cosine_momentum(0.996, 0.0) == pytest.approx(0.996)
    assert cosine_momentum(0.996, 0.5) == pytest.approx(0.998)
    assert cosine_momentum(0.996, 1.0) == pytest.approx(1.0)
    assert warmed_up(0.04, 0.07, 0.0, 0.1) == pytest.approx(0.04)
    assert warmed_up(0.04, 0.07, 0.05, 0.1) == pytest.approx(0.055)
    assert warmed_up(0.04, 0.07, 0.1, 0.1) == warmed_up(0.04, 0.07, 0.7, 0.1) == 0.07
    assert warmed_up(0.04, 0.07, 0.0, 0.0) == 0.07  # no warm-up


def test_method_loss_is_dino_loss_of_its_student_and_teacher_outputs(small_method):
    torch.manual_seed(0)
    method = small_method("dino", out_dim=12, teacher_temp=0.07)  # the paper's warm-up from 0.04
    assert METHODS["dino"].uses_local_crops
    views, local = torch.rand(4, 2, 1, 8, 8), torch.rand(4, 3, 1, 8, 8)
    method.on_step_start(5, 100)  # half-way through the warm-up over the first 10 steps
    assert method.teacher_temp.item() == pytest.approx(0.055)
    loss = method.training_terms(views, torch.zeros(4, dtype=torch.long), local)["loss"]
    with torch.no_grad():
        student = method.prototypes(F.normalize(method.head(method.encoder(torch.cat([views, local], 1).flatten(0, 1))), dim=-1))
        teacher = method.teacher_prototypes(F.normalize(method.teacher_head(method.teacher_encoder(views.flatten(0, 1))), dim=-1))
    expected = dino_loss(student.view(4, 5, 12), teacher.view(4, 2, 12), method.center, 0.1, 0.055)
    torch.testing.assert_close(loss, expected)
    only_global = method.training_terms(views, torch.zeros(4, dtype=torch.long))["loss"]  # no local crops: J views only
    with torch.no_grad():  # the projector's BatchNorm (train mode) now sees the global views alone
        student = method.prototypes(F.normalize(method.head(method.encoder(views.flatten(0, 1))), dim=-1))
    torch.testing.assert_close(only_global, dino_loss(student.view(4, 2, 12), teacher.view(4, 2, 12), method.center, 0.1, 0.055))


def test_last_layer_is_weight_normalised_with_unit_norm_and_the_head_is_the_bottleneck(small_method):
    method = small_method("dino", out_dim=12)
    weight = method.prototypes.weight
    assert weight.shape == (12, 8)
    torch.testing.assert_close(weight.norm(dim=1), torch.ones(12))
    scale = method.prototypes.parametrizations.weight.original0
    assert not scale.requires_grad and small_method("dino", norm_last_layer=False).prototypes.parametrizations.weight.original0.requires_grad
    kinds = [type(layer).__name__ for layer in method.head]
    assert kinds == ["Linear", "BatchNorm1d", "GELU", "Linear", "BatchNorm1d", "GELU", "Linear"]  # 3 layers
    assert "BatchNorm1d" not in [type(layer).__name__ for layer in small_method("dino", head_batchnorm=False).head]
    method.eval()
    with torch.no_grad():
        reps = method.representations(torch.rand(3, 1, 8, 8))
    assert list(reps) == ["encoder", "head"] and reps["head"].shape == (3, 8)


def test_on_step_end_moves_the_teacher_by_the_steps_cosine_momentum_and_the_centre(small_method):
    torch.manual_seed(0)
    method = small_method("dino", out_dim=12, center_momentum=0.8)
    views = torch.rand(4, 2, 1, 8, 8)
    method.on_step_start(50, 100)  # momentum 1 - 0.004 * (cos(pi / 2) + 1) / 2 = 0.998
    terms = method.training_terms(views, torch.zeros(4, dtype=torch.long), torch.rand(4, 2, 1, 8, 8))
    with torch.no_grad():
        teacher = method.teacher_prototypes(F.normalize(method.teacher_head(method.teacher_encoder(views.flatten(0, 1))), dim=-1))
    terms["loss"].backward()
    teacher_params = [*method.teacher_encoder.parameters(), *method.teacher_head.parameters(), *method.teacher_prototypes.parameters()]
    assert all(p.grad is None and not p.requires_grad for p in teacher_params)
    with torch.no_grad():  # stands in for the optimiser step
        for p in [*method.encoder.parameters(), *method.head.parameters(), *method.prototypes.parameters()]:
            p.add_(torch.randn_like(p))
    old = [p.clone() for p in teacher_params]
    old_center = method.center.clone()
    method.on_step_end()
    student = [*method.encoder.parameters(), *method.head.parameters(), *method.prototypes.parameters()]
    for p_old, p_student, p_teacher in zip(old, student, teacher_params, strict=True):
        torch.testing.assert_close(p_teacher, 0.998 * p_old + 0.002 * p_student)
    torch.testing.assert_close(method.center, 0.8 * old_center + 0.2 * teacher.mean(0))
    before = method.center.clone()
    method.eval()
    with torch.no_grad():  # an evaluation forward leaves the centre alone
        method.training_terms(views, torch.zeros(4, dtype=torch.long))
    method.on_step_end()
    assert torch.equal(method.center, before) and "center" in method.state_dict() and "teacher_temp" not in method.state_dict()


def test_the_last_layer_is_frozen_over_the_first_part_of_the_run_only(small_method):
    torch.manual_seed(0)
    method = small_method("dino", out_dim=12, freeze_last_layer=0.1)
    views, labels = torch.rand(4, 2, 1, 8, 8), torch.zeros(4, dtype=torch.long)
    direction = method.prototypes.parametrizations.weight.original1  # v of w = v / |v|
    for step, frozen in ((0, True), (9, True), (10, False)):
        method.zero_grad()
        method.on_step_start(step, 100)
        method.training_terms(views, labels)["loss"].backward()
        assert direction.grad is not None and (torch.all(direction.grad == 0) if frozen else direction.grad.abs().sum() > 0)
        assert next(method.encoder.parameters()).grad.abs().sum() > 0, "the rest of the student trains throughout"


@pytest.mark.parametrize(("key", "value"), [("out_dim", 1), ("student_temp", 0), ("teacher_temp", 0), ("momentum", 1.5),
                                            ("center_momentum", 1.0), ("teacher_temp_warmup", 2.0),
                                            ("freeze_last_layer", -0.1)])
def test_config_validation(key, value):
    with pytest.raises(ConfigError, match=f"method.{key}"):
        config_from_dict({"method": {"name": "dino", key: value}})


def test_trains_from_the_command_line_with_local_crops_and_probes(tmp_path, small_shapes, monkeypatch):
    monkeypatch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: small_shapes)
    run = tmp_path / "dino"
    assert main(["train", "--out", str(run), "method.name=dino", "method.out_dim=64", "augment.local_crops.number=2",
                 "data.limit_train=96", "train.batch_size=32", "train.epochs=1", "net.latent_dim=3", "eval.mlp_steps=20",
                 "eval.gmm_n_init=1", "eval.knn_k=[1]", "eval.figures=false"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["method"] == "dino" and set(metrics["results"]) == {"encoder"}
    assert 0.0 <= metrics["results"]["encoder"]["content"]["linear"]["test"] <= 1.0
    assert (run / "config.yaml").read_text().count("number: 2") == 1
