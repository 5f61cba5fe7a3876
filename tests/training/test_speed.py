"""Speed settings: a sync-free step, its operator count, train.compile (and its fallback), TF32/channels_last."""

import json

import pytest
import torch
from torch._inductor import config as inductor_config

from simvae.augment.ops_count import syncing_ops_outside
from simvae.config import load_config
from simvae.data.base import Dataset, ImageSet
from simvae.experiments.step_ops import step_ops
from simvae.runs import build
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint
from simvae.training import speed, train
from simvae.training.loop import make_optimizer
from simvae.training.speed import CompiledForward, has_convolutions, math_mode

TINY = ["data.limit_train=256", "train.batch_size=32", "train.epochs=2", "net.latent_dim=4", "train.log_every=3",
        "train.checkpoint_every=1000"]


def fashion_mnist_shaped(n=256):
    generator = torch.Generator().manual_seed(0)
    split = ImageSet(torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=generator),
                     torch.randint(0, 10, (n,), generator=generator))
    return Dataset("fashion-mnist", split, split, split, [str(i) for i in range(10)], likelihood="bernoulli")


def shapes_mlp():
    config = load_config(overrides=["data.name=shapes", "net.backbone=mlp", "data.limit_train=256"])
    return config, build(config).dataset


# name -> (config and data, aten operators measured when this test was written: full step, augmentation), torch
# 2.13 on CPU, of which 112 of the full step's in the CPU loops of Adam's multi-tensor operators; before #22
# (commit d46ffd5): 818 and 89 for Fashion-MNIST, 876 and 122 for shapes
STEP_OPS = {"fashion-mnist": (lambda: (load_config("configs/fashion-mnist.yaml"), fashion_mnist_shaped()), 655, 61),
            "shapes (simvae bench's default data)": (shapes_mlp, 673, 85)}


@pytest.mark.parametrize("name", list(STEP_OPS))
def test_a_full_simvae_mlp_step_never_waits_for_the_device_and_runs_at_most_600_operators(name):
    make, full_step, augment = STEP_OPS[name]
    counts = step_ops(*make())
    print(f"{name}: {counts}; measured when this test was written: full step {full_step}, augmentation {augment}")
    assert counts["syncs"] == [], "a non-logging step (loop_step + TermLog.add) must not read the device"
    # The target: <= 600 operators, counting each multi-tensor operator (the optimiser's) once, as CUDA
    # launches it; on CPU, torch's Adam adds a loop over the 16 parameter tensors (112 operators: see
    # simvae.augment.ops_count.MULTI_TENSOR_PREFIXES). The other bounds leave room for small changes, not regressions.
    assert counts["full_step"] - counts["multi_tensor_loops"] <= 600, counts
    assert counts["full_step"] <= full_step + 15 and counts["augment"] <= augment + 5, counts


@pytest.mark.parametrize("method", ["dino", "swav", "barlowtwins"])
def test_a_step_of_the_multi_crop_and_redundancy_reduction_methods_never_waits_for_the_device(method):
    settings = ["augment.local_crops.number=4", "method.queue_size=256"] if method == "swav" else ["augment.local_crops.number=4"]
    counts = step_ops(load_config("configs/fashion-mnist.yaml", [f"method.name={method}", *settings]), fashion_mnist_shaped())
    assert counts["syncs"] == [], "a non-logging step (global views, local crops, loss, EMA, queue) must not read the device"


def test_the_sync_check_sees_a_read_outside_the_optimiser_only():
    def step():
        with torch.profiler.record_function("Optimizer.step#Adam.step"):
            torch.ones(2).sum().item()
        return torch.ones(2)[torch.tensor([True, False])]

    assert syncing_ops_outside("Optimizer.step", step) == {"aten::nonzero"}


def test_compiled_terms_equal_the_eager_terms():
    config = load_config(overrides=[*TINY, "data.name=shapes"])
    setup = build(config)
    views = setup.augmenter(setup.dataset.train.images[:16])
    labels = setup.dataset.train.content[:16]
    torch.manual_seed(0)
    eager = setup.method(views, labels)
    compiled = torch.compile(setup.method, mode="default")
    with inductor_config.patch(fallback_random=True):  # the same noise as eager, so the terms are comparable
        torch.manual_seed(0)
        terms = compiled(views, labels)
    for name in eager:
        torch.testing.assert_close(terms[name], eager[name], rtol=1e-4, atol=1e-3)


def test_a_compiled_run_trains_and_lowers_the_loss(tmp_path):
    state = train(load_config(overrides=[*TINY, "train.epochs=4", "train.lr=0.003", "train.compile=default"]),
                  tmp_path / "run", progress=False)
    losses = [point["loss"] for point in state["history"]]
    assert losses[-1] < 0.9 * losses[0]
    assert "compile_fallback" not in json.loads((tmp_path / "run" / "provenance.json").read_text())


def test_a_compiled_run_resumes_bit_exactly_on_cpu(tmp_path):
    """Inductor draws its random numbers from seeds it takes off torch's generator, which the checkpoint restores."""
    compiled = [*TINY, "train.compile=default"]
    full = train(load_config(overrides=compiled), tmp_path / "full", progress=False)
    train(load_config(overrides=compiled), tmp_path / "split", max_steps=5, progress=False)
    resumed = train(load_config(overrides=compiled), tmp_path / "split", resume=True, progress=False)
    assert resumed["step"] == full["step"] == 16 and resumed["history"] == full["history"]
    a, b = (load_checkpoint(tmp_path / name / CHECKPOINT)["model"] for name in ("full", "split"))
    assert all(torch.equal(a[k], b[k]) for k in a), "the resumed compiled run differs from the uninterrupted one"
    assert "compile_fallback" not in json.loads((tmp_path / "split" / "provenance.json").read_text())


def test_compile_failing_at_the_first_step_falls_back_to_eager_once_and_says_so(tmp_path, monkeypatch, capsys):
    def broken_compile(fn, mode=None):
        def fails(*args, **kwargs):
            torch.randn(3)  # draws from the RNG before failing: the fallback must restore it
            raise RuntimeError("no C++ compiler found\nsecond line")
        return fails

    monkeypatch.setattr(speed.torch, "compile", broken_compile)
    train(load_config(overrides=[*TINY, "train.compile=reduce-overhead"]), tmp_path / "fallback", progress=False)
    monkeypatch.undo()
    train(load_config(overrides=TINY), tmp_path / "eager", progress=False)
    err = capsys.readouterr().err
    assert err.count("simvae: train.compile=reduce-overhead is unavailable here "
                     "(RuntimeError: no C++ compiler found); training eagerly") == 1
    recorded = json.loads((tmp_path / "fallback" / "provenance.json").read_text())["compile_fallback"]
    assert recorded == {"mode": "reduce-overhead", "reason": "RuntimeError: no C++ compiler found"}
    a, b = (load_checkpoint(tmp_path / name / CHECKPOINT)["model"] for name in ("fallback", "eager"))
    assert all(torch.equal(a[key], b[key]) for key in a), "the fallback run must equal an eager run"


def test_a_real_error_is_not_hidden_by_the_fallback():
    def step():
        raise ValueError("a bug in the method")

    guard = CompiledForward(torch.nn.Linear(2, 2), "default", on_fallback=lambda reason: None)
    with pytest.raises(ValueError, match="a bug in the method"):
        guard.run(step)


def test_math_mode_and_channels_last_apply_to_cuda_and_conv_backbones_only():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert math_mode("32-true", True, cuda) == "tfloat32" and math_mode("32-true", False, cuda) == "float32"
    assert math_mode("32-true", True, cpu) == "float32" and math_mode("bf16-mixed", True, cuda) == "bfloat16"
    conv = build(load_config(overrides=["data.name=shapes", "net.backbone=conv"])).method
    mlp = build(load_config(overrides=["data.name=shapes", "net.backbone=mlp"])).method
    assert has_convolutions(conv) and not has_convolutions(mlp)
    speed.use_channels_last(conv, cpu)
    assert all(p.is_contiguous() for p in conv.parameters()), "CPU keeps the default layout"


def test_what_a_cuda_run_selects_is_decided_here_without_a_gpu(monkeypatch):
    """The CUDA-only branches (fused Adam, channels_last, TF32, the compile mode, the math mode) taken with a CUDA
    device object on a machine without CUDA: no tensor goes to the GPU, so a typo in them shows here."""
    cuda, cpu, mps = torch.device("cuda"), torch.device("cpu"), torch.device("mps")
    config = load_config(overrides=["data.name=shapes", "net.backbone=conv", "train.compile=reduce-overhead"])
    method = build(config).method
    assert make_optimizer(method, config, cuda).defaults["fused"] is True
    assert not any(make_optimizer(method, config, device).defaults["fused"] for device in (cpu, mps, None))

    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = matmul.allow_tf32, cudnn.allow_tf32
    try:
        for enabled in (True, False, True):
            speed.set_tf32(enabled, cuda)
            assert matmul.allow_tf32 is enabled and cudnn.allow_tf32 is enabled
        speed.set_tf32(False, cpu)
        assert matmul.allow_tf32 and cudnn.allow_tf32, "only CUDA runs touch the TF32 flags"
    finally:
        matmul.allow_tf32, cudnn.allow_tf32 = saved
    assert math_mode(config.train.precision, config.train.tf32, cuda) == "tfloat32"

    speed.use_channels_last(method, cuda)
    weights = [p for p in method.parameters() if p.dim() == 4]
    assert weights and all(p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous() for p in weights)

    modes = []
    monkeypatch.setattr(speed.torch, "compile", lambda fn, mode=None: modes.append(mode) or fn)
    CompiledForward(method, config.train.compile, on_fallback=print)
    CompiledForward(method, "none", on_fallback=print)
    assert modes == ["reduce-overhead"], "train.compile is passed to torch.compile as it is (none: not compiled)"
