"""A table of bad inputs (config, YAML, data files, run directories, checkpoints, devices) to the real CLI:
each must exit with code 2 and one line on stderr naming the problem and the fix, never a traceback.

The cases are independent, so `outcomes` runs all of them, a few at a time in forked children of one
interpreter that has imported the CLI, before the first assertion.
"""

from __future__ import annotations

import fcntl
import gzip
import io
import re
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import simvae
from simvae.config import load_config, parse_overrides
from simvae.errors import ConfigError
from simvae.data.idx import write_idx
from simvae.data.mnist import IDX_FILES

TRAIN = ["train", "--no-eval"]
TINY = ["data.name=npz", "data.root=good.npz", "train.batch_size=16", "train.threads=1"]
EDITS = {  # an edited copy of a real run's checkpoint: what is changed, and what the error line says of it
    "latent": ("a weight of another shape", "holds weights that do not fit the networks its config builds"),
    "no-groups": ("optimizer groups emptied", "the optimizer state has no parameter groups"),
    "moments": ("an Adam moment of another shape", "holds optimiser state that do not fit"),
    "step-text": ("step='eight'", "step is 'eight', not int"),
    "step-negative": ("step=-3", "step is -3"),
    "config-none": ("config=None", "config is None, not dict"),
    "config-bad": ("train.lr=-1 in the saved config", "saved config no longer loads"),
    "config-net-text": ("net='mlp' in the saved config", "saved config no longer loads"),
    "finished-text": ("finished='yes'", "finished is 'yes', not bool"),
    "model-list": ("model=[1, 2]", "model is [1, 2], not dict"),
}
NEW_CASES = [
    # YAML that parses but must not be read as it is (bounded work, no silently dropped keys)
    ("yaml-deep", [*TRAIN, "--config", "deep.yaml"], ["deep.yaml is refused: nesting deeper than 64 levels", "remove"]),
    ("yaml-alias-bomb", [*TRAIN, "--config", "bomb.yaml"], ["bomb.yaml is refused: it expands to more than 100,000 values",
                                                          "write the values out"]),
    ("yaml-two-sections", [*TRAIN, "--config", "twice.yaml"], ["the key 'train' appears twice", "line 3", "keep one"]),
    ("yaml-two-keys", [*TRAIN, "--config", "twice-key.yaml"], ["the key 'lr' appears twice", "line 3"]),
    ("override-alias-bomb", [*TRAIN, f"train.lr={'[' * 100}"], ["is refused: nesting deeper than 64 levels"]),
    # values that pass a type check but are not usable numbers
    ("lr-inf", [*TRAIN, "train.lr=.inf"], ["train.lr=inf is not a finite number", "train.lr=0.001"]),
    ("lr-nan", [*TRAIN, "train.lr=.nan"], ["train.lr=nan is not a finite number"]),
    ("seed-negative", [*TRAIN, "train.seed=-1"], ["train.seed=-1 is invalid", ">= 0 and <= 4294967295"]),
    ("seed-too-large", [*TRAIN, "train.seed=5e9"], ["train.seed=5000000000 is invalid", "<= 4294967295"]),
    ("split-seed-too-large", [*TRAIN, "data.split_seed=1e20"], ["data.split_seed=100000000000000000000 is invalid",
                                                               "<= 18446744073709551615"]),
    ("key-typo-long-value", [*TRAIN, f"train.lrr={'x' * 5000}"], ["unknown config key(s) ['lrr']"]),
    ("lr-long-list", [*TRAIN, f"train.lr=[{','.join(['1'] * 5000)}]"], ["train.lr=[1, 1, 1", "characters) must be of type float"]),
    # sizes checked against the machine and the data before anything is allocated
    ("latent-too-large", [*TRAIN, *TINY, "net.latent_dim=1e9"], ["net.latent_dim=1000000000", "parameters",
                                                                "memory this machine has available", "lower net.latent_dim"]),
    ("image-size-too-large", [*TRAIN, "--out", "image-size", "data.name=folder", "data.root=folder", "data.image_size=100000"],
     ["images of 100000x100000 pixels", "memory this machine has available", "lower data.image_size"]),
    ("num-nodes-no-launcher", [*TRAIN, *TINY, "train.num_nodes=2"], ["train.num_nodes=2 needs a launcher", "torchrun",
                                                                    "train.num_nodes=1"]),
    ("out-name-too-long", [*TRAIN, *TINY, "--out", "r" * 300], ["has a name of 300 bytes", "pick a shorter one"]),
    ("eval-knn-too-large", ["eval", "real", "eval.knn_k=[100000]"], ["eval.knn_k=[100000] asks for more neighbours than",
                                                                    "give values of at most"]),
    ("eval-max-train-1", ["eval", "real", "eval.max_train=1"], ["eval.max_train=1 leaves the probes fewer training "
                                                               "embeddings than the 4 classes", "raise it to at least 4"]),
    ("eval-max-train-3", ["eval", "real", "eval.max_train=3"], ["eval.max_train=3 leaves the probes fewer"]),
    ("eval-gmm-max-train-1", ["eval", "real", "eval.gmm_max_train=1"], ["eval.gmm_max_train=1 is too small",
                                                                       "raise it to 4 or more"]),
    ("eval-device-cuda", ["eval", "real", "--device", "cuda"], ["device cuda was asked for", "sees no CUDA GPU",
                                                               "--device cpu"]),
    # data files whose headers claim what they do not hold
    ("npz-header-huge", [*TRAIN, "data.name=npz", "data.root=huge.npz"], ["huge.npz: array 'images' claims (1000000, 1000, 1000)",
                                                                         "931.3 GiB", "truncated or corrupt"]),
    ("npz-header-2gb", [*TRAIN, "data.name=npz", "data.root=twogb.npz"], ["claims (2000, 1000, 1000) uint8 = 1.9 GiB",
                                                                         "truncated or corrupt"]),
    ("npz-negative-shape", [*TRAIN, "data.name=npz", "data.root=negative-shape.npz"], ["claims the shape (-5, 16, 16)",
                                                                                      "negative side"]),
    ("npz-not-npy", [*TRAIN, "data.name=npz", "data.root=readme.npz"], ["member 'readme.txt' is not a .npy array"]),
    ("npz-object", [*TRAIN, "data.name=npz", "data.root=object.npz"], ["array 'content' is an object array",
                                                                      "store labels as integers"]),
    ("npz-uint64-label", [*TRAIN, "data.name=npz", "data.root=uint64.npz"], ["holds the label 9223372036854775813",
                                                                            "number the classes 0..K-1"]),
    ("npz-one-class", [*TRAIN, "data.name=npz", "data.root=one-class.npz"], ["every image has the same content label",
                                                                            "at least 2 content classes"]),
    ("folder-one-class", [*TRAIN, "--out", "one-class", "data.name=folder", "data.root=one-folder"], ["every image has the same content label (only)"]),
    ("png-bomb", [*TRAIN, "--out", "bomb", "data.name=folder", "data.root=bomb-folder"], ["bomb.png is refused", "exceeds limit",
                                                                        "decompression bombs", "shrink it"]),
    ("png-float", [*TRAIN, "--out", "float", "data.name=folder", "data.root=float-folder"], ["is a 32-bit float image (PIL mode F)",
                                                                          "8-bit (or 16-bit) PNG"]),
    # the command line's own values
    ("compare-seeds-text", ["compare", "--out", "cmp", "--seeds", "a"], ["argument --seeds: 'a' is not a comma-separated list"]),
    ("compare-seeds-empty", ["compare", "--out", "cmp", "--seeds", ""], ["argument --seeds: '' is not a comma-separated"]),
    ("reproduce-seeds-text", ["reproduce", "--seeds", "x"], ["argument --seeds: 'x' is not a comma-separated list"]),
    ("demo-epochs-zero", ["demo", "--epochs", "0"], ["argument --epochs: '0' is not a whole number of at least 1"]),
    ("reproduce-jobs-zero", ["reproduce", "--jobs", "0"], ["--jobs 0 is invalid", "1 or more"]),
    ("download-deadline-zero", ["data", "download", "mnist", "--deadline", "0"], ["argument --deadline: 0 is not a positive"]),
    # edited checkpoints: resume (for one more epoch) and eval (which reads no optimiser state: moments do not matter)
    *[(f"edited-{edit}-{command}", [*TRAIN, "--resume", f"edited-{edit}", "train.epochs=2"] if command == "resume" else
       ["eval", f"edited-{edit}"], [f"edited-{edit}/checkpoint.pt", fragment, "restore a copy or retrain"])
      for edit, (_, fragment) in EDITS.items() for command in ("resume", "eval") if (edit, command) != ("moments", "eval")],
]
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
    ("unknown-section", [*TRAIN, "trian.lr=0.1"], ["unknown config key(s) ['trian']", "did you mean 'train'?", "valid keys"]),
    ("unknown-key", [*TRAIN, "train.lrr=0.1"], ["unknown config key(s) ['lrr']", "did you mean 'lr'?", "valid keys"]),
    ("lr-text", [*TRAIN, "train.lr=fast"], ["train.lr='fast' must be of type float"]),
    ("lr-negative", [*TRAIN, "train.lr=-1e-3"], ["train.lr", "-0.001"]),
    ("epochs-zero", [*TRAIN, "train.epochs=0"], ["train.epochs=0", ">= 1"]),
    ("epochs-fraction", [*TRAIN, "train.epochs=1.5"], ["train.epochs=1.5 must be of type int"]),
    ("threads-negative", [*TRAIN, "train.threads=-1"], ["train.threads=-1", ">= 1"]),
    ("threads-zero", [*TRAIN, "train.threads=0"], ["train.threads=0", ">= 1"]),
    ("val-fraction", [*TRAIN, "data.val_fraction=0.9"], ["data.val_fraction=0.9", "< 0.5"]),
    ("method-unknown", [*TRAIN, "method.name=simvea"], ["method.name='simvea' is unknown", "did you mean 'simvae'?"]),
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
    ("data-unknown", [*TRAIN, "--out", "debris", "data.name=fashion_mnist"],
     ["unknown dataset 'fashion_mnist'", "did you mean 'fashion-mnist'?", "simvae data"]),
    ("data-root-typo", [*TRAIN, "--out", "debris-too", "data.name=npz", "data.root=/typo"], ["/typo does not exist", "set data.root"]),
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
    *NEW_CASES,
]
# a new run that fails once its directory is locked gets a directory of its own: the default one, named by the time
# to the second, would be the same for cases running at once (one would find it locked by the other)
CASES = [(case, [*args, "--out", f"out-{case}"] if args[:2] == TRAIN and "--out" not in args and "--resume" not in args
          else args, fragments) for case, args, fragments in CASES]


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
    write_limit_cases(root)
    write_image_cases(root)


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


def write_limit_cases(root: Path) -> None:
    """YAML and npz files that are well-formed but claim more than they hold or than may be read."""
    (root / "deep.yaml").write_text("train: " + "[" * 20000 + "\n")
    anchors = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    anchors += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(6)]
    (root / "bomb.yaml").write_text("\n".join(anchors) + "\n")  # 10**7 values in a few hundred bytes
    (root / "twice.yaml").write_text("train:\n  lr: 0.1\ntrain:\n  epochs: 2\n")
    (root / "twice-key.yaml").write_text("train:\n  lr: 0.1\n  lr: 0.2\n")
    labels = np.arange(64) % 4
    good_content = npy_bytes(labels)
    write_zip(root / "huge.npz", {"images.npy": npy_header("(1000000, 1000, 1000)"), "content.npy": good_content})
    write_zip(root / "twogb.npz", {"images.npy": npy_header("(2000, 1000, 1000)"), "content.npy": good_content})
    write_zip(root / "negative-shape.npz", {"images.npy": npy_header("(-5, 16, 16)"), "content.npy": good_content})
    images = np.random.default_rng(0).integers(0, 256, (64, 16, 16), dtype=np.uint8)
    write_zip(root / "readme.npz", {"images.npy": npy_bytes(images), "content.npy": good_content, "readme.txt": b"hi"})
    np.savez(root / "object.npz", images=images, content=np.array([None] * 64, dtype=object))
    np.savez(root / "uint64.npz", images=images, content=np.where(labels == 3, 2**63 + 5, labels).astype(np.uint64))
    np.savez(root / "one-class.npz", images=images, content=np.zeros(64, dtype=np.int64))
    np.savez(root / "constant-style.npz", images=images, content=labels, hue=np.zeros(64, dtype=np.int64))


def npy_header(shape: str) -> bytes:
    """A .npy header announcing `shape` (uint8), with no data after it."""
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': %s, }" % shape
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def png_header(width: int, height: int) -> bytes:
    """A PNG's signature, an IHDR chunk announcing width x height grey pixels, and IEND: no pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) + chunk(b"IEND", b"")


def write_image_cases(root: Path) -> None:
    """Image folders: ordinary grey PNGs, one class only, a decompression bomb among them, a 32-bit float image."""
    rng = np.random.default_rng(0)
    for folder, classes in (("folder", ("a", "b")), ("one-folder", ("only",)), ("bomb-folder", ("a", "b")),
                            ("float-folder", ("a", "b"))):
        for name in classes:
            (root / folder / name).mkdir(parents=True)
            for i in range(4):
                Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(root / folder / name / f"{i}.png")
    (root / "bomb-folder" / "b" / "bomb.png").write_bytes(png_header(20000, 20000))
    Image.fromarray(rng.random((8, 8), dtype=np.float32)).save(root / "float-folder" / "a" / "float.png", format="TIFF")


def write_real_runs(root: Path, run: Path) -> None:
    """`real`: a trained run (of the tiny npz data, as data.npz), and edited copies of it (EDITS)."""
    shutil.copy(run.parent / "data.npz", root / "data.npz")
    shutil.copytree(run, root / "real")
    for edit in EDITS:
        target = root / f"edited-{edit}"
        shutil.copytree(run, target)
        saved = torch.load(target / "checkpoint.pt", weights_only=True)
        edit_checkpoint(saved, edit)
        torch.save(saved, target / "checkpoint.pt")


def edit_checkpoint(saved: dict, edit: str) -> None:
    model, optimizer = saved["model"], saved["optimizer"]
    name = next(key for key, value in model.items() if value.dim() == 2)
    if edit == "latent":
        model[name] = torch.zeros(model[name].shape[0] + 3, model[name].shape[1])
    elif edit == "no-groups":
        optimizer["param_groups"] = []
    elif edit == "moments":
        state = next(iter(optimizer["state"].values()))
        state["exp_avg"] = torch.zeros(*state["exp_avg"].shape, 2)
    elif edit == "step-text":
        saved["step"] = "eight"
    elif edit == "step-negative":
        saved["step"] = -3
    elif edit == "config-none":
        saved["config"] = None
    elif edit == "config-bad":
        saved["config"]["train"]["lr"] = -1.0
    elif edit == "config-net-text":
        saved["config"]["net"] = "mlp"
    elif edit == "finished-text":
        saved["finished"] = "yes"
    elif edit == "model-list":
        saved["model"] = [1, 2]


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
    checkpoint = {"config": config, "model": {"weight": torch.randn(64, 64)}, "optimizer": {"state": {}, "param_groups": [{"params": []}]},
                  "step": 1}
    for name in ("done", "busy-run", "ckpt-truncated", "ckpt-foreign", "ckpt-dir/checkpoint.pt", "busy"):
        (root / name).mkdir(parents=True)
    torch.save(checkpoint, root / "done" / "checkpoint.pt")
    torch.save(checkpoint, root / "busy-run" / "checkpoint.pt")
    whole = (root / "done" / "checkpoint.pt").read_bytes()
    (root / "ckpt-truncated" / "checkpoint.pt").write_bytes(whole[:len(whole) // 2])
    torch.save({"state_dict": {"weight": torch.zeros(3)}}, root / "ckpt-foreign" / "checkpoint.pt")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, one_epoch_run) -> Path:
    root = tmp_path_factory.mktemp("bad-inputs")
    write_workspace(root)
    write_real_runs(root, one_epoch_run)
    return root


@pytest.fixture(scope="module")
def outcomes(workspace, tmp_path_factory, cli) -> dict:
    """Every case's CompletedProcess, run while another process holds the locks of `busy` and `busy-run`."""
    root = workspace
    held = [open(root / name / ".lock", "a+") for name in ("busy", "busy-run")]  # noqa: SIM115
    try:
        for file in held:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        before = sorted(p.name for p in [*root.iterdir(), root / WARNED[-1]])
        results = cli.run_many([*((args, root) for _, args, _ in CASES), (WARNED, root)], tmp_path_factory.mktemp("outputs"))
    finally:
        for file in held:
            file.close()
    return {"before": before, "warned": results[-1], **{case: result for (case, _, _), result in zip(CASES, results)}}


# a run whose npz holds a style label with one value: it trains, with one warning line
WARNED = [*TRAIN, "data.name=npz", "data.root=constant-style.npz", "train.batch_size=16", "train.threads=1",
          "train.epochs=1", "net.backbone=mlp", "--out", "warned"]


def test_a_style_label_with_one_value_is_one_warning_line(outcomes):
    result = outcomes["warned"]
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    [warning] = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warning.startswith("simvae: warning: constant-style.npz") and "the style label 'hue' has a single value" in warning


def test_the_table_is_large_enough():
    assert len(CASES) >= 100 and len({case for case, _, _ in CASES}) == len(CASES)


def test_a_failed_start_leaves_nothing_behind(outcomes, workspace):
    """No case wrote anything into its working directory: not a config that failed at load (an unknown dataset),
    nor one whose data failed once the run directory was locked (a typo in data.root, a decompression bomb)."""
    assert outcomes["data-unknown"].returncode == outcomes["data-root-typo"].returncode == 2
    assert sorted(p.name for p in workspace.iterdir()) == outcomes["before"]


def test_an_error_line_quotes_at_most_a_few_hundred_characters_of_what_it_refuses(outcomes):
    for case in ("yaml-alias-bomb", "key-typo-long-value", "lr-long-list"):
        assert len(outcomes[case].stderr) < 1000, (case, len(outcomes[case].stderr))


@pytest.mark.parametrize("case,fragments", [(case, fragments) for case, _, fragments in CASES], ids=[c for c, _, _ in CASES])
def test_bad_input_gives_one_line_and_exit_code_2(outcomes, cli, case, fragments):
    cli.assert_one_line_error(outcomes[case], *fragments)


# The Python API on the same bad inputs: every case a call can express raises a SimvaeError whose message is the
# CLI's line. Left out: the command line's own syntax (argparse, key=value parsing), resumes (simvae.train resumes a
# run by itself), and the checks only the commands make (an --out that already holds a run, eval's train.* keys).
CLI_ONLY = {"out-holds-run", "eval-train-key"}


def api_call(args: list[str]):
    """The API call doing what `simvae args` does (a function of no arguments), or None."""
    command, *rest = args
    options, overrides, positional = {}, [], []
    items = iter(rest)
    for item in items:
        if item in ("--config", "--out", "--device"):
            options[item] = next(items, None)
        elif "=" in item and not item.startswith("-"):
            overrides.append(item)
        elif item.startswith("-") and item != "--no-eval":
            return None  # --resume, --seeds, ...: the command line's own
        elif not item.startswith("-"):
            positional.append(item)
    try:
        sections = parse_overrides(overrides)
    except ConfigError:
        return None  # key=value syntax is the command line's
    if None in options.values():
        return None
    if command == "train" and not positional and "--device" not in options:
        out = options.get("--out", "api-run")
        return lambda: simvae.train(options.get("--config"), out=out, evaluate=False, progress=False, **sections)
    if command == "eval" and len(positional) == 1 and set(options) <= {"--device"} and set(sections) <= {"eval"}:
        return lambda: simvae.evaluate(positional[0], device=options.get("--device"), progress=False,
                                       **sections.get("eval", {}))
    return None


MIRRORED = [case for case, args, _ in CASES if case not in CLI_ONLY and api_call(args) is not None]
# simvae.load_run(RUN[, device]) on the runs of the eval cases and of the resumes of broken checkpoints
LOADS = {case: (args[1], args[3] if len(args) == 4 else None) for case, args, _ in CASES
         if case in MIRRORED and args[0] == "eval" and len(args) in (2, 4)}
LOADS.update({case: (args[args.index("--resume") + 1], None) for case, args, _ in CASES if "--resume" in args
              and case != "edited-moments-resume"  # (load_run reads no optimiser state)
              and case.startswith(("checkpoint-", "edited-", "resume-nothing", "resume-missing-dir"))})


@pytest.fixture
def in_workspace(workspace, monkeypatch):
    """The API called in the cases' working directory, with `busy` locked by another process as for the CLI."""
    monkeypatch.chdir(workspace)
    threads = torch.get_num_threads()
    with open(workspace / "busy" / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield workspace
    torch.set_num_threads(threads)


def test_the_api_mirrors_most_of_the_table():
    assert len(MIRRORED) >= 80 and len(LOADS) >= 25


@pytest.mark.parametrize("case", MIRRORED)
def test_the_api_raises_a_simvae_error_with_the_cli_message(outcomes, in_workspace, case):
    args = next(args for name, args, _ in CASES if name == case)
    with pytest.raises(simvae.SimvaeError) as error:
        api_call(args)()
    assert same_message(f"simvae: error: {error.value}", message_line(outcomes[case]))


@pytest.mark.parametrize("case", sorted(LOADS))
def test_load_run_raises_a_simvae_error_with_the_cli_message(outcomes, in_workspace, case):
    run, device = LOADS[case]
    with pytest.raises(simvae.SimvaeError) as error:
        simvae.load_run(run, device=device)
    assert same_message(f"simvae: error: {error.value}", message_line(outcomes[case]))


def same_message(api: str, cli: str) -> bool:
    """Equal but for the free memory a message may quote (it changes from one moment to the next)."""
    free = re.compile(r"the [\d.]+ [KMGTP]iB of memory")
    return free.sub("the N of memory", api) == free.sub("the N of memory", cli)


def message_line(result) -> str:
    [line] = [line for line in result.stderr.splitlines() if line.startswith("simvae")]
    return line
