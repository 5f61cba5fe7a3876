"""`train.loggers=[wandb]` in W&B's offline mode (no network): the run files W&B writes are read back here, with a
reader of their record format (LevelDB's log format, W&B's header) written from its definition."""

from __future__ import annotations

import json
import struct
import time
import zlib
from pathlib import Path

import pytest
from wandb.proto import wandb_internal_pb2

from simvae.config import load_config
from simvae.errors import ConfigError
from simvae.evaluation import evaluate_run
from simvae.runs import loggers as run_loggers
from simvae.runs import setup as run_setup
from simvae.training import train

BLOCK, HEADER = 32768, 7  # LevelDB log blocks; each record: crc32 (4 bytes), length (2), type (1); W&B's file header
FULL, FIRST, LAST = 1, 2, 4


def records(path: Path) -> list[wandb_internal_pb2.Record]:
    """Every complete record of a W&B transaction log (.wandb), checksums verified."""
    raw = path.read_bytes()
    assert struct.unpack("<4sHB", raw[:HEADER]) == (b":W&B", 0xBEE1, 0), "not a W&B transaction log"
    found, pending, position = [], b"", HEADER
    while position + HEADER <= len(raw):
        if BLOCK - position % BLOCK < HEADER:  # a block's tail too short for a record header is padding
            position += BLOCK - position % BLOCK
            continue
        checksum, length, kind = struct.unpack("<IHB", raw[position:position + HEADER])
        if kind == 0 and length == 0 or position + HEADER + length > len(raw):  # the end, or a record still being written
            break
        data = raw[position + HEADER:position + HEADER + length]
        assert zlib.crc32(data, zlib.crc32(bytes([kind]))) == checksum, f"corrupt record at byte {position}"
        position += HEADER + length
        pending = data if kind in (FULL, FIRST) else pending + data
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            found.append(record)
    return found


def complete_records(path: Path, timeout_s: float = 60) -> list[wandb_internal_pb2.Record]:
    """The records of a session's log once it ends with its exit record: W&B's service process may still be writing
    the file when `finish` has returned."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = records(path)
        if found and found[-1].WhichOneof("record_type") == "exit" or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def history(path: Path) -> list[dict]:
    """The logged points: {key: value}, a nested key (an image's fields) as nested dicts."""
    points = []
    for record in complete_records(path):
        if record.WhichOneof("record_type") != "history":
            continue
        point: dict = {}
        for item in record.history.item:
            *parents, key = list(item.nested_key) or [item.key]
            node = point
            for parent in parents:
                node = node.setdefault(parent, {})
            node[key] = json.loads(item.value_json)
        points.append(point)
    return points


@pytest.fixture
def offline(monkeypatch, tmp_path, small_shapes):
    for name, value in {"WANDB_MODE": "offline", "WANDB_CONFIG_DIR": tmp_path / "config", "WANDB_CACHE_DIR": tmp_path / "cache",
                        "WANDB_DATA_DIR": tmp_path / "data", "WANDB_PROJECT": "simvae-test"}.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: small_shapes)


def test_training_resume_and_evaluation_log_to_one_offline_wandb_run(tmp_path, offline):
    config = load_config(overrides=["train.loggers=[csv, wandb]", "train.epochs=2", "train.batch_size=64", "train.log_every=2",
                                    "net.latent_dim=3", "train.schedule=warmup-cosine", "train.warmup_epochs=1",
                                    "eval.mlp_steps=20", "eval.gmm_n_init=1", "eval.knn_k=[1]"])
    run = tmp_path / "run"
    train(config, run, max_steps=3, progress=False)  # interrupted, then resumed: one W&B run, two sessions
    train(config, run, resume=True, progress=False)
    evaluate_run(run, progress=False)

    sessions = sorted((run / "logs" / "wandb" / "wandb").glob("offline-run-*/run-*.wandb"))
    run_id = (run / "logs" / "wandb" / "run_id").read_text()
    assert len(sessions) == 3 and all(path.name == f"run-{run_id}.wandb" for path in sessions)
    assert all(complete_records(path)[-1].WhichOneof("record_type") == "exit" for path in sessions)
    first = complete_records(sessions[0])
    started = next(r.run for r in first if r.WhichOneof("record_type") == "run")
    assert started.project == "simvae-test" and started.display_name == "run"
    config_keys = {update.key: json.loads(update.value_json) for update in started.config.update}
    assert config_keys["method"]["name"] == "simvae" and config_keys["train"]["schedule"] == "warmup-cosine"

    points = [point for path in sessions[:2] for point in history(path)]
    train_points = [p for p in points if "train/loss" in p]
    assert [p["step"] for p in train_points] == [2, 4, 6, 8]  # 4 steps an epoch: 2 before the interruption
    assert train_points[0]["train/lr"] == pytest.approx(config.train.lr * 2 / 4)  # step 2 of a 4-step warm-up
    assert train_points[-1]["train/lr"] < train_points[1]["train/lr"]  # then the cosine decay
    evaluation = history(sessions[2])
    probes = {key for point in evaluation for key in point if key.startswith("probe/")}
    assert "probe/mean/content/linear" in probes and "probe/mean/hue/knn" in probes
    assert any(point.get("reconstructions", {}).get("_type") == "image-file" for point in evaluation)


def test_wandb_not_installed_is_one_error_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setattr(run_loggers.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"pip install simvae\[wandb\]"):
        run_loggers.make_loggers(["wandb"], tmp_path)
