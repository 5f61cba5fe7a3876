"""A table of bad inputs (config, YAML, data files, run directories, checkpoints, devices) to the real CLI:
each must exit with code 2 and one line on stderr naming the problem and the fix, never a traceback.

The cases are independent, so `outcomes` runs all of them, a few at a time in forked children of one
interpreter that has imported the CLI, before the first assertion.
"""

from __future__ import annotations

import fcntl
import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from simvae.config import load_config
from simvae.data.idx import write_idx
from simvae.data.mnist import IDX_FILES

TRAIN = ["train", "--no-eval"]
# (case, arguments, fragments the error line must hold: the problem and the fix)
CASES = [
    # the command line itself
    ("command-unknown", ["trian"], ["invalid choice: 'trian'", "simvae --help"]),
    ("option-unknown", [*TRAIN, "--outt", "run"], ["unrecognized arguments: --outt", "simvae --help"]),
    ("option-without-value", [*TRAIN, "--out"], ["argument --out: expected one argument", "simvae train --help"]),
    # YAML files
    ("yaml-syntax", [*TRAIN, "--config", "syntax.yaml"], ["syntax.yaml is not valid YAML", "close brackets"]),
    ("yaml-tabs", [*TRAIN, "--config", "tabs.yaml"], ["tabs.yaml is not valid YAML", "not tabs"]),
    ("yaml-binary", [*TRAIN, "--config", "binary.yaml"], ["binary.yaml is not a text file", "pass a YAML file"]),
    ("yaml-list", [*TRAIN, "--config", "list.yaml"], ["must hold a mapping of sections", "not a list"]),
    ("yaml-section-scalar", [*TRAIN, "--config", "scalar.yaml"], ["config section train must be a mapping"]),
    ("yaml-unknown-key", [*TRAIN, "--config", "typo.yaml"], ["unknown config key(s) ['lrr']", "valid keys"]),
    ("yaml-missing", [*TRAIN, "--config", "nowhere.yaml"], ["nowhere.yaml does not exist", "configs/"]),
    # overrides
    ("override-syntax", [*TRAIN, "train.lr=[0.1"], ["override 'train.lr=[0.1' is not valid YAML", "close brackets"]),
    ("override-no-equals", [*TRAIN, "train.lr"], ["must look like section.key=value"]),
    ("unknown-section", [*TRAIN, "trian.lr=0.1"], ["unknown config key(s) ['trian']", "valid keys"]),
    ("unknown-key", [*TRAIN, "train.lrr=0.1"], ["unknown config key(s) ['lrr']", "valid keys"]),
    ("lr-text", [*TRAIN, "train.lr=fast"], ["train.lr='fast' must be of type float"]),
    ("lr-negative", [*TRAIN, "train.lr=-1e-3"], ["train.lr", "-0.001"]),
    ("epochs-zero", [*TRAIN, "train.epochs=0"], ["train.epochs=0", ">= 1"]),
    ("epochs-fraction", [*TRAIN, "train.epochs=1.5"], ["train.epochs=1.5 must be of type int"]),
    ("threads-negative", [*TRAIN, "train.threads=-1"], ["train.threads=-1", ">= 1"]),
    ("threads-zero", [*TRAIN, "train.threads=0"], ["train.threads=0", ">= 1"]),
    ("val-fraction", [*TRAIN, "data.val_fraction=0.9"], ["data.val_fraction=0.9", "< 0.5"]),
    ("method-unknown", [*TRAIN, "method.name=simvea"], ["method.name='simvea' is unknown", "simvae"]),
    ("method-key", [*TRAIN, "method.name=vae", "method.temperature=0.1"], ["unknown config key(s) ['temperature']"]),
    ("views-too-few", [*TRAIN, "method.name=simclr", "augment.views=1"], ["augment.views=1", "at least 2 views"]),
    ("backbone-unknown", [*TRAIN, "net.backbone=resnet50"], ["net.backbone='resnet50' is unknown", "available"]),
    ("preset-unknown", [*TRAIN, "augment.preset=imagenet"], ["augment.preset='imagenet' is unknown", "available"]),
    ("knn-k-zero", [*TRAIN, "eval.knn_k=[0,5]"], ["eval.knn_k", ">= 1"]),
    ("batch-too-large", [*TRAIN, "--out", "big", "train.batch_size=100000"], ["train.batch_size=100000", "lower it"]),
    # devices
    ("accelerator-tpu", [*TRAIN, "train.accelerator=tpu"], ["train.accelerator='tpu' is invalid", "'cpu'"]),
    ("accelerator-cuda", [*TRAIN, "train.accelerator=cuda"], ["sees no CUDA GPU", "train.accelerator=cpu"]),
    ("accelerator-gpu", [*TRAIN, "train.accelerator=gpu"], ["sees no CUDA GPU", "train.accelerator=cpu"]),
    ("accelerator-mps", [*TRAIN, "train.accelerator=mps"], ["train.accelerator=mps but this machine has no Apple GPU", "train.accelerator=cpu"]),
    ("strategy-unknown", [*TRAIN, "train.strategy=fsdp"], ["train.strategy='fsdp' is invalid", "'ddp'"]),
    ("precision-unknown", [*TRAIN, "train.precision=8"], ["train.precision=8 is invalid", "'32-true'"]),
    ("devices-zero", [*TRAIN, "train.devices=0"], ["train.devices=0", ">= 1"]),
    # data
    ("data-unknown", [*TRAIN, "data.name=fashion_mnist"], ["unknown dataset 'fashion_mnist'", "simvae data"]),
    ("data-root-typo", [*TRAIN, "data.name=npz", "data.root=/typo"], ["/typo does not exist", "set data.root"]),
    ("data-root-typo-idx", [*TRAIN, "data.name=fashion-mnist", "data.root=/typo"],
     ["fashion-mnist not found in /typo/fashion-mnist, /typo:", "simvae data download fashion-mnist --root /typo"]),
    ("npz-no-root", [*TRAIN, "data.name=npz"], ["the npz dataset needs data.root"]),
    ("npz-truncated", [*TRAIN, "data.name=npz", "data.root=truncated.npz"], ["truncated.npz is not a readable .npz", "np.savez"]),
    ("npz-npy", [*TRAIN, "data.name=npz", "data.root=single.npy"], ["single.npy holds a single array", "np.savez"]),
    ("npz-no-content", [*TRAIN, "data.name=npz", "data.root=nocontent.npz"], ["has no array 'content'", "np.savez"]),
    ("npz-float-images", [*TRAIN, "data.name=npz", "data.root=float.npz"], ["float32", "store uint8"]),
    ("npz-label-200", [*TRAIN, "data.name=npz", "data.root=label200.npz"], ["label200.npz", "label 200", "0..K-1"]),
    ("npz-label-negative", [*TRAIN, "data.name=npz", "data.root=negative.npz"], ["negative.npz", "negative label -1"]),
    ("npz-dir-no-splits", [*TRAIN, "data.name=npz", "data.root=empty"], ["lacks train.npz and test.npz", "set data.root"]),
    ("idx-label-200", [*TRAIN, "data.name=mnist", "data.root=idx-label"],
     ["train-labels-idx1-ubyte.gz holds label 200", "fetch it again"]),
    ("idx-bad-magic", [*TRAIN, "data.name=mnist", "data.root=idx-magic"], ["bad magic number", "fetch it again"]),
    ("idx-truncated-gzip", [*TRAIN, "data.name=mnist", "data.root=idx-gzip"], ["truncated or corrupt gzip", "fetch it again"]),
    ("idx-short", [*TRAIN, "data.name=mnist", "data.root=idx-short"], ["the file is truncated or corrupt", "fetch it again"]),
    ("download-unknown", ["data", "download", "imagenet"], ["cannot download 'imagenet'", "downloadable datasets"]),
    ("download-timeout-zero", ["data", "download", "mnist", "--timeout", "0"],
     ["argument --timeout: 0 is not a positive number of seconds", "simvae data --help"]),
    ("download-retries-negative", ["data", "download", "mnist", "--retries", "-1"],
     ["argument --retries: -1 is negative", "simvae data --help"]),
    # run directories
    ("out-is-file", [*TRAIN, "--out", "a-file"], ["a-file is a file", "pick another --out"]),
    ("out-under-file", [*TRAIN, "--out", "a-file/run"], ["lies under a file", "pick another --out"]),
    ("out-holds-run", [*TRAIN, "--out", "done"], ["done already holds a run", "--resume done"]),
    ("out-locked", [*TRAIN, "--out", "busy"], ["busy is in use by another simvae process", "another --out"]),
    ("resume-locked", ["train", "--no-eval", "--resume", "busy-run"], ["busy-run is in use", "wait for it to finish"]),
    ("resume-nothing", ["train", "--resume", "empty"], ["no checkpoint at empty/checkpoint.pt", "simvae train"]),
    ("resume-missing-dir", ["train", "--resume", "nowhere"], ["no checkpoint at nowhere/checkpoint.pt"]),
    ("resume-new-method", ["train", "--resume", "done", "method.sigma2=0.1"], ["it may change only", "method.sigma2"]),
    ("resume-with-config", ["train", "--resume", "done", "--config", "typo.yaml"], ["it may change only", "--config"]),
    # checkpoints
    ("checkpoint-empty", ["train", "--resume", "ckpt-empty"], ["ckpt-empty/checkpoint.pt cannot be read", "retrain"]),
    ("checkpoint-truncated", ["train", "--resume", "ckpt-truncated"], ["ckpt-truncated/checkpoint.pt cannot be read", "retrain"]),
    ("checkpoint-text", ["train", "--resume", "ckpt-text"], ["ckpt-text/checkpoint.pt cannot be read", "retrain"]),
    ("checkpoint-foreign", ["train", "--resume", "ckpt-foreign"], ["is not a simvae checkpoint", "simvae train"]),
    ("checkpoint-is-dir", ["train", "--resume", "ckpt-dir"], ["no checkpoint at ckpt-dir/checkpoint.pt"]),
    ("eval-foreign", ["eval", "ckpt-foreign"], ["is not a simvae checkpoint", "simvae train"]),
    ("eval-train-key", ["eval", "done", "train.lr=0.1"], ["changes only evaluation settings", "train a new run"]),
]


def write_workspace(root: Path) -> None:
    """Every file the cases name, in `root` (their working directory)."""
    files = {
        "syntax.yaml": b"train: {lr: [0.1\n",
        "tabs.yaml": b"train:\n\tlr: 0.1\n",
        "binary.yaml": bytes(range(256)) * 4,
        "list.yaml": b"- train\n- data\n",
        "scalar.yaml": b"train: 5\n",
        "typo.yaml": b"train:\n  lrr: 0.1\n",
        "a-file": b"not a directory\n",
        "ckpt-empty/checkpoint.pt": b"",
        "ckpt-text/checkpoint.pt": b"hello\n",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    write_npz_cases(root)
    write_idx_cases(root)
    write_run_cases(root)


def write_npz_cases(root: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 16, 16), dtype=np.uint8)
    content = np.arange(64) % 4
    np.savez(root / "good.npz", images=images, content=content)
    good = (root / "good.npz").read_bytes()
    (root / "truncated.npz").write_bytes(good[:len(good) // 2])
    np.save(root / "single.npy", images)
    np.savez(root / "nocontent.npz", images=images)
    np.savez(root / "float.npz", images=images.astype(np.float32), content=content)
    np.savez(root / "label200.npz", images=images, content=np.where(content == 3, 200, content))
    np.savez(root / "negative.npz", images=images, content=content - 1)
    (root / "empty").mkdir()


def write_idx_cases(root: Path) -> None:
    """MNIST directories, each with one bad file among the four."""
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), "train_labels": np.arange(30) % 10,
              "test_images": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), "test_labels": np.arange(10) % 10}
    for case in ("idx-label", "idx-magic", "idx-gzip", "idx-short"):
        (root / case).mkdir()
        for key, stem in IDX_FILES.items():
            write_idx(root / case / f"{stem}.gz", arrays[key])
    labels = arrays["train_labels"].copy()
    labels[7] = 200
    write_idx(root / "idx-label" / f"{IDX_FILES['train_labels']}.gz", labels)
    (root / "idx-magic" / f"{IDX_FILES['test_images']}.gz").write_bytes(gzip.compress(b"\x00\x00\x09\x03" + bytes(100)))
    gz = root / "idx-gzip" / f"{IDX_FILES['train_images']}.gz"
    gz.write_bytes(gz.read_bytes()[:500])
    short = root / "idx-short" / f"{IDX_FILES['train_images']}.gz"
    short.write_bytes(gzip.compress(gzip.decompress(short.read_bytes())[:-28]))


def write_run_cases(root: Path) -> None:
    """Run directories: finished (`done`, `busy-run`), empty, and with damaged or foreign checkpoints."""
    config = load_config(None, ["data.name=npz", "data.root=good.npz", "train.batch_size=16"]).to_dict()
    checkpoint = {"config": config, "model": {"weight": torch.randn(64, 64)}, "optimizer": {}, "step": 1}
    for name in ("done", "busy-run", "ckpt-truncated", "ckpt-foreign", "ckpt-dir/checkpoint.pt", "busy"):
        (root / name).mkdir(parents=True)
    torch.save(checkpoint, root / "done" / "checkpoint.pt")
    torch.save(checkpoint, root / "busy-run" / "checkpoint.pt")
    whole = (root / "done" / "checkpoint.pt").read_bytes()
    (root / "ckpt-truncated" / "checkpoint.pt").write_bytes(whole[:len(whole) // 2])
    torch.save({"state_dict": {"weight": torch.zeros(3)}}, root / "ckpt-foreign" / "checkpoint.pt")


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, cli) -> dict:
    """Every case's CompletedProcess, run while another process holds the locks of `busy` and `busy-run`."""
    root = tmp_path_factory.mktemp("bad-inputs")
    write_workspace(root)
    held = [open(root / name / ".lock", "a+") for name in ("busy", "busy-run")]  # noqa: SIM115
    try:
        for file in held:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        results = cli.run_many([(args, root) for _, args, _ in CASES], tmp_path_factory.mktemp("outputs"))
    finally:
        for file in held:
            file.close()
    return {case: result for (case, _, _), result in zip(CASES, results)}


def test_the_table_is_large_enough():
    assert len(CASES) >= 40 and len({case for case, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("case,fragments", [(case, fragments) for case, _, fragments in CASES], ids=[c for c, _, _ in CASES])
def test_bad_input_gives_one_line_and_exit_code_2(outcomes, cli, case, fragments):
    cli.assert_one_line_error(outcomes[case], *fragments)
