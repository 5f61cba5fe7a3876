"""The README's path for a new user, on a generated image folder with two style factors in a CSV: train with
their own augmentations, evaluate, read the TensorBoard logs, and load the encoder in Python."""

from __future__ import annotations

import json

import numpy as np
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import simvae
from simvae.cli.main import main


def write_folder(root, per_class: int = 40) -> None:
    """root/<shape>/<i>.png: a bright square or bar at a position (style pos) with a brightness (style level)."""
    rng = np.random.default_rng(0)
    rows = ["path,pos,level"]
    for shape in ("square", "bar"):
        (root / shape).mkdir(parents=True)
        for i in range(per_class):
            pos, level = int(rng.integers(2)), int(rng.integers(2))
            image = np.zeros((16, 16), np.uint8)
            x = 2 + 7 * pos
            image[5:11, x:x + (6 if shape == "square" else 2)] = 150 + 100 * level
            Image.fromarray(image).save(root / shape / f"{i}.png")
            rows.append(f"{shape}/{i}.png,{pos},{level}")
    (root / "styles.csv").write_text("\n".join(rows) + "\n")


def test_a_folder_of_own_images_trains_evaluates_logs_and_loads(tmp_path):
    data, run = tmp_path / "images", tmp_path / "run"
    write_folder(data)
    assert main(["train", "--out", str(run), "data.name=folder", f"data.root={data}",
                 "augment.ops=[{crop: {scale: [0.6, 1.0]}}, {translate: {max: 0.1}}]", "train.epochs=2",
                 "train.batch_size=16", "net.latent_dim=4", "train.log_every=2", "train.loggers=[csv, tensorboard]",
                 "eval.mlp_steps=20", "eval.gmm_n_init=1", "eval.figures=false", "--no-eval"]) == 0
    assert main(["eval", str(run), "eval.mlp_steps=30"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["eval"]["mlp_steps"] == 30 and set(metrics["num_classes"]) == {"content", "pos", "level"}

    events = EventAccumulator(str(run / "logs" / "tensorboard")).Reload()
    assert "train/loss" in events.Tags()["scalars"] and "probe/mean/pos/linear" in events.Tags()["scalars"]
    assert "reconstructions" in events.Tags()["images"]
    [csv] = (run / "logs").glob("*.csv")  # one CSV log per run, appended by training and evaluation
    rows = csv.read_text().splitlines()
    assert rows[0] == "step,metric,value" and rows.count("step,metric,value") == 1
    assert any(",train/loss," in row for row in rows) and any(",probe/mean/pos/linear," in row for row in rows)

    loaded = simvae.load_run(run)
    images = torch.from_numpy(np.array(Image.open(data / "bar" / "0.png")))[None, None]
    assert loaded.encode(images).shape == (1, 4) and loaded.config.augment.ops[1] == {"translate": {"max": 0.1}}
