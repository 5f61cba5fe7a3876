"""Data-parallel correctness on 2 CPU ranks (gloo): the union-batch rule of simvae.distributed.

Each test forks 2 ranks that find each other through MASTER_ADDR/MASTER_PORT and LOCAL_RANK (the way
Fabric's own launcher and torchrun start ranks), so Fabric sets up DDP on gloo without launching
anything itself. Results come back as files and are compared in the test process with a single
process on the union batch (networks in float64; the losses are float32 by design).

BatchNorm statistics are per rank (SyncBatchNorm needs a GPU backend), so the equality tests put the
BatchNorm layers in eval mode; everything else is trained exactly as in the loop.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time

import pytest
import torch
import torch.multiprocessing as mp
from lightning_fabric import Fabric
from torch import nn

from simvae.cli.main import main
from simvae.config import load_config
from simvae.data.base import Dataset, ImageSet
from simvae.methods import ModelSpec, build_method, method_config
from simvae.runs import setup as run_setup
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint
from simvae.training import loop

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
    reason="needs fork and torch.distributed with gloo",
)

WORLD = 2
SPEC = ModelSpec(image_shape=(1, 8, 8), latent_dim=4, backbone="mlp", num_classes=3, likelihood="gaussian")
IMAGES, VIEWS = 8, 2  # the union batch: 8 images x 2 views, 4 images per rank
HALF = IMAGES // WORLD
METHOD_SETTINGS = {
    "simclr": {"head_hidden": 16, "head_dim": 8},
    "vicreg": {"head_hidden": 16, "head_dim": 8},
    "moco": {"head_hidden": 16, "head_dim": 8, "queue_size": 64, "momentum": 0.9},
    "supervised": {},
    "simvae": {},
    "dino": {"head_hidden": 16, "head_dim": 8, "out_dim": 12},
    "swav": {"head_hidden": 16, "head_dim": 8, "prototypes": 6, "queue_size": 24},
    "barlowtwins": {"head_hidden": 16, "head_dim": 8},
}
GATHERED = {"simclr", "vicreg", "swav", "barlowtwins"}  # batch-coupled losses: every rank computes the union batch's loss
LOCAL_CROPS = 2  # the multi-crop methods' (dino, swav) local crops per image


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rank_entry(rank: int, fn, world: int, port: int, args: tuple) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), LOCAL_RANK=str(rank), NODE_RANK="0",
                      WORLD_SIZE=str(world))
    if sys.platform == "linux":
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    torch.set_num_threads(1)
    fn(rank, *args)


def run_ranks(fn, *args, world: int = WORLD, timeout: float = 120.0) -> None:
    """Run fn(rank, *args) on `world` forked ranks; re-raise a rank's exception; kill them on a timeout."""
    context = mp.start_processes(_rank_entry, args=(fn, world, free_port(), args), nprocs=world, join=False,
                                 start_method="fork")
    deadline = time.monotonic() + timeout
    while not context.join(timeout=0.5):
        if time.monotonic() > deadline:
            for process in context.processes:
                if process.is_alive():
                    process.kill()
            pytest.fail(f"the {world} ranks did not finish within {timeout:.0f} s")


def make_method(name: str):
    torch.manual_seed(0)
    config = method_config(name)
    for key, value in METHOD_SETTINGS[name].items():
        setattr(config, key, value)
    method = build_method(config, SPEC)
    method.train()
    for module in method.modules():  # per-rank BatchNorm statistics would differ from the union batch's
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()
    return method


def union_batch():
    generator = torch.Generator().manual_seed(1)
    views = torch.rand(IMAGES, VIEWS, *SPEC.image_shape, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, SPEC.num_classes, (IMAGES,), generator=generator)
    eps = torch.randn(IMAGES * VIEWS, SPEC.latent_dim, generator=generator, dtype=torch.float64)  # SimVAE's noise
    local = torch.rand(IMAGES, LOCAL_CROPS, *SPEC.image_shape, generator=generator, dtype=torch.float64)
    return views, labels, eps, local


@contextlib.contextmanager
def fixed_noise(eps: torch.Tensor):
    """torch.randn_like returns `eps` (one row per view, rank-sliced like the views): the same noise per sample."""
    original = torch.randn_like
    torch.randn_like = lambda t, *args, **kwargs: eps.to(dtype=t.dtype, device=t.device).view_as(t)
    try:
        yield
    finally:
        torch.randn_like = original


def one_step(fabric: Fabric, name: str, views, labels, eps, local, index) -> dict:
    """A loop step (loop.loop_step, SGD) on the images `index` of the union batch; what the tests compare."""
    method = make_method(name)
    model, optimizer = fabric.setup(method, torch.optim.SGD(method.parameters(), lr=0.1))
    queue_before = method.queue.clone() if name == "moco" else None  # in float64, after Fabric's setup
    rows = torch.cat([torch.arange(i * VIEWS, (i + 1) * VIEWS) for i in index.tolist()])
    local_views = (local[index],) if method.uses_local_crops else ()
    with fixed_noise(eps[rows]):
        with torch.no_grad():  # the rank's own loss, before the loop averages the terms over ranks
            own = {k: v.detach() for k, v in model(views[index], labels[index], *local_views).items()}
        method._pending_keys = None
        terms = loop.loop_step(fabric, model, optimizer, lambda x: x, views, labels, index,
                               (lambda _: local[index]) if method.uses_local_crops else None)
    out = {
        "own": own,
        "terms": terms,
        "grads": {n: p.grad.clone() for n, p in method.named_parameters() if p.grad is not None},
        "params": {n: p.detach().clone() for n, p in method.named_parameters()},
        "buffers": {n: b.clone() for n, b in method.named_buffers() if "running_" not in n and "num_batches" not in n},
    }
    if name == "moco":
        out.update(queue=method.queue.clone(), queue_ptr=int(method.queue_ptr), queue_before=queue_before,
                   key_params={n: p.clone() for n, p in method.key_encoder.named_parameters()})
    return out


def _gradient_worker(rank: int, out_dir: str) -> None:
    fabric = Fabric(accelerator="cpu", devices=WORLD, strategy="ddp", precision="64-true")
    fabric.launch()
    views, labels, eps, local = union_batch()
    index = torch.arange(rank * HALF, (rank + 1) * HALF)
    results = {name: one_step(fabric, name, views, labels, eps, local, index) for name in METHOD_SETTINGS}
    torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))


@pytest.fixture(scope="module")
def two_ranks_and_one(tmp_path_factory):
    """Per method: what each of 2 ranks saw after one DDP step, and one process on the union batch."""
    out = tmp_path_factory.mktemp("ddp")
    run_ranks(_gradient_worker, str(out))
    ranks = [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]
    fabric = Fabric(accelerator="cpu", devices=1, precision="64-true")
    views, labels, eps, local = union_batch()
    single = {name: one_step(fabric, name, views, labels, eps, local, torch.arange(IMAGES)) for name in METHOD_SETTINGS}
    return ranks, single


OUTPUT_RTOL = 1e-6  # Fabric's 64-true casts the model's outputs (the terms) back to float32


def assert_close(a, b, what, rtol=1e-9):
    # the networks, losses and gradients run in float64 (64-true): they differ only by summation order
    torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * 1e-2, check_dtype=False, msg=lambda m: f"{what}: {m}")


@pytest.mark.parametrize("name", list(METHOD_SETTINGS))
def test_loss_and_gradients_on_two_ranks_equal_one_process_on_the_union_batch(two_ranks_and_one, name):
    ranks, single = two_ranks_and_one
    reference = single[name]
    for rank, result in enumerate(ranks):
        got = result[name]
        # the loop's terms (float32, averaged over ranks) are the union batch's, on every rank
        assert set(got["terms"]) == set(reference["terms"])
        for term, value in reference["terms"].items():
            assert_close(got["terms"][term], value, f"{name} rank {rank} term {term}", OUTPUT_RTOL)
        # after DDP's averaging, every rank holds the union batch's gradient, and so the same step
        assert set(got["grads"]) == set(reference["grads"]) and got["grads"]
        for param, grad in reference["grads"].items():
            assert_close(got["grads"][param], grad, f"{name} rank {rank} grad {param}")
        for param, value in reference["params"].items():
            assert_close(got["params"][param], value, f"{name} rank {rank} param {param}")
    own = [r[name]["own"]["loss"].double() for r in ranks]
    if name in GATHERED:  # each rank computed the loss of the union batch itself
        for value in own:
            assert_close(value, reference["own"]["loss"].double(), f"{name} own loss", OUTPUT_RTOL)
    else:  # a mean over images: each rank has its half's, their mean is the union's
        assert_close(sum(own) / WORLD, reference["own"]["loss"].double(), f"{name} mean of the ranks' losses", OUTPUT_RTOL)
        assert not torch.allclose(own[0], own[1]), "the two halves should have different losses"


@pytest.mark.parametrize(("name", "statistics"), [("dino", {"center"}), ("swav", {"queue", "queue_filled", "queue_ptr"})])
def test_batch_statistics_are_the_union_batchs_on_every_rank(two_ranks_and_one, name, statistics):
    """DINO's centre (an EMA of the teacher's batch means) and SwAV's queue after one step; the Sinkhorn assignment
    and Barlow Twins' cross-correlation are in the loss and gradients compared above."""
    ranks, single = two_ranks_and_one
    reference = single[name]["buffers"]
    assert statistics <= set(reference)
    for rank, result in enumerate(ranks):
        for buffer, value in reference.items():
            assert_close(result[name]["buffers"][buffer], value, f"{name} rank {rank} buffer {buffer}")
    if name == "dino":
        assert reference["center"].abs().sum() > 0, "the centre moved"
    else:
        assert int(reference["queue_filled"]) == IMAGES * VIEWS, "the global views of both ranks were enqueued"


def test_moco_queue_holds_the_keys_of_both_ranks(two_ranks_and_one):
    ranks, single = two_ranks_and_one
    reference = single["moco"]
    n_keys = IMAGES * VIEWS
    assert reference["queue_ptr"] == n_keys
    for rank, result in enumerate(ranks):
        got = result["moco"]
        assert got["queue_ptr"] == n_keys, "each rank enqueues the keys of the whole (gathered) batch"
        assert_close(got["queue"], reference["queue"], f"rank {rank} queue")
        for param, value in reference["key_params"].items():
            assert_close(got["key_params"][param], value, f"rank {rank} key encoder {param}")
    # rows HALF*VIEWS.. are rank 1's keys: rank 0 holds them too, and they are new entries
    other = slice(HALF * VIEWS, n_keys)
    assert_close(ranks[0]["moco"]["queue"][other], ranks[1]["moco"]["queue"][other], "rank 1's keys on rank 0")
    assert not torch.allclose(ranks[0]["moco"]["queue"][other], ranks[0]["moco"]["queue_before"][other])
    assert_close(ranks[0]["moco"]["queue"][n_keys:], ranks[0]["moco"]["queue_before"][n_keys:], "untouched entries")


# --- the training loop end to end on 2 processes ---------------------------------------------------------------

TINY_N = 64


def tiny_dataset(*_args, **_kwargs) -> Dataset:
    generator = torch.Generator().manual_seed(5)

    def split(n):
        return ImageSet(torch.randint(0, 256, (n, 1, 8, 8), dtype=torch.uint8, generator=generator),
                        torch.randint(0, 3, (n,), generator=generator))

    return Dataset("tiny", split(TINY_N), split(16), split(16), ["a", "b", "c"], likelihood="gaussian")


@pytest.fixture
def tiny_data(monkeypatch):
    # patched before the ranks are forked, so they inherit it; shapes would take seconds to generate
    monkeypatch.setattr(run_setup, "load_dataset", tiny_dataset)


def tiny_config(*extra):
    return load_config(overrides=["net.backbone=mlp", "net.latent_dim=4", "augment.preset=none", "method.name=simvae",
                                  "train.batch_size=8", "train.epochs=2", "train.log_every=1", "train.checkpoint_every=1000",
                                  "train.accelerator=cpu", *extra])


DDP = ("train.devices=2", "train.strategy=ddp")


def _train_worker(rank: int, run_dir: str, out_dir: str, max_steps, resume: bool) -> None:
    state = loop.train(tiny_config(*DDP), run_dir, resume=resume, max_steps=max_steps, progress=False)
    torch.save(state, os.path.join(out_dir, f"state{rank}.pt"))


def test_two_processes_train_and_rank_zero_alone_writes_the_checkpoint_then_one_process_resumes(tmp_path, tiny_data):
    run = tmp_path / "run"
    run_ranks(_train_worker, str(run), str(tmp_path), 3, False)
    states = [torch.load(tmp_path / f"state{r}.pt", weights_only=False) for r in range(WORLD)]
    assert [s["step"] for s in states] == [3, 3]
    assert states[0]["history"] == states[1]["history"], "the logged terms are averaged over ranks"
    assert sorted(p.name for p in run.iterdir()) == [".lock", CHECKPOINT, "config.yaml", "logs", "provenance.json", "train_history.json"]
    saved = load_checkpoint(run / CHECKPOINT)
    assert saved["step"] == 3 and saved["world_size"] == 2 and saved["images_seen"] == 3 * 8 * 2
    assert len(saved["rng_ranks"]) == 2
    assert not torch.equal(saved["rng_ranks"][0]["torch"], saved["rng_ranks"][1]["torch"]), "each rank draws its own noise"

    # one process continues: 48 images seen = step 6 of 8 images; two more steps, then stop
    state = loop.train(tiny_config(), run, resume=True, max_steps=8, progress=False)
    assert state["step"] == 8 and state["images_seen"] == 48 + 2 * 8
    saved = load_checkpoint(run / CHECKPOINT)
    assert saved["world_size"] == 1 and saved["step"] == 8 and len(saved["rng_ranks"]) == 1
    assert [p["step"] for p in saved["history"]] == [1, 2, 3, 7, 8]
    assert all(torch.isfinite(torch.tensor(p["loss"])) for p in saved["history"])


def test_the_command_line_resumes_a_two_process_run_on_one_process(tmp_path, tiny_data, capsys):
    run = tmp_path / "run"
    run_ranks(_train_worker, str(run), str(tmp_path), 3, False)
    assert load_checkpoint(run / CHECKPOINT)["config"]["train"]["devices"] == 2
    assert main(["train", "--resume", str(run), "--no-eval", "net.latent_dim=3"]) == 2  # what it computes may not change
    assert "train.devices" in capsys.readouterr().err
    assert main(["train", "--resume", str(run), "--no-eval", "train.devices=1", "train.strategy=auto"]) == 0
    saved = load_checkpoint(run / CHECKPOINT)
    steps = 2 * TINY_N // 8  # two epochs of 8 images per step on one process
    assert saved["finished"] and saved["step"] == steps and saved["images_seen"] == 48 + (steps - 6) * 8
    assert [p["step"] for p in saved["history"]] == [1, 2, 3, *range(7, steps + 1)]
    assert saved["config"]["train"]["devices"] == 1 and saved["world_size"] == 1


@pytest.mark.slow
def test_resume_on_two_processes_equals_the_uninterrupted_two_process_run(tmp_path, tiny_data):
    run_ranks(_train_worker, str(tmp_path / "full"), str(tmp_path / "full"), None, False)
    run_ranks(_train_worker, str(tmp_path / "split"), str(tmp_path / "split"), 3, False)
    assert load_checkpoint(tmp_path / "split" / CHECKPOINT)["step"] == 3
    run_ranks(_train_worker, str(tmp_path / "split"), str(tmp_path / "split"), None, True)
    full, split = (load_checkpoint(tmp_path / name / CHECKPOINT) for name in ("full", "split"))
    assert full["finished"] and split["finished"] and full["step"] == split["step"] == 2 * TINY_N // 16
    assert all(torch.equal(full["model"][k], split["model"][k]) for k in full["model"]), "resumed weights differ"
    assert full["history"] == split["history"]
