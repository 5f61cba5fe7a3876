"""`simvae eval RUN --device --splits --data --root`: where it runs, what it reports, on which data, and the record."""

import json

import numpy as np
import pytest

from simvae.cli.main import main
from simvae.data import load_dataset

TINY = ["data.limit_train=192", "train.batch_size=32", "train.epochs=1", "net.latent_dim=3", "eval.mlp_steps=20",
        "eval.gmm_n_init=1", "eval.max_train=192", "eval.knn_k=[1,3]", "eval.figures=false"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("eval") / "run"
    assert main(["train", "--out", str(run_dir), "--no-eval", *TINY]) == 0
    return run_dir


def test_eval_records_device_splits_and_data_and_reports_the_asked_splits(run, capsys):
    assert main(["eval", str(run), "--device", "cpu", "--splits", "val,test"]) == 0
    printed = capsys.readouterr().out
    assert "val accuracy (%)" in printed and "test accuracy (%)" in printed
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["device"] == "cpu" and metrics["splits"] == ["val", "test"]
    assert metrics["data"] == {"name": "shapes", "root": None, "run_data": True}


def test_eval_on_another_dataset_of_the_same_shape_uses_its_own_splits(run, tmp_path, capsys):
    assert main(["eval", str(run)]) == 0  # the run's own evaluation, which the other dataset's must leave alone
    shapes = load_dataset("shapes").test
    path = tmp_path / "other.npz"
    np.savez(path, images=shapes.images[:300].numpy(), content=shapes.content[:300].numpy())
    capsys.readouterr()
    assert main(["eval", str(run), "--data", "npz", "--root", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "on npz" in printed and "test accuracy (%)" in printed and "val accuracy" not in printed
    own = (run / "metrics.json").read_text()
    metrics = json.loads((run / "metrics-npz.json").read_text())  # beside the run's own evaluation, not over it
    assert metrics["data"] == {"name": "npz", "root": str(path), "run_data": False}
    assert set(metrics["results"]["mean"]) == {"content"}  # the npz's own labels, not the run's style tasks
    assert (run / "results-npz.md").is_file() and (run / "embeddings-npz.npz").is_file()
    assert (run / "metrics.json").read_text() == own and json.loads(own)["data"]["run_data"]


def test_eval_refuses_data_of_another_image_shape_and_bad_splits_in_one_line(run, tmp_path, capsys):
    path = tmp_path / "grey.npz"
    np.savez(path, images=np.zeros((60, 28, 28), np.uint8), content=np.arange(60) % 3)
    assert main(["eval", str(run), "--data", "npz", "--root", str(path)]) == 2
    err = capsys.readouterr().err
    assert "do not fit the run's networks" in err and "\n" not in err.strip()
    assert main(["eval", str(run), "--splits", "train"]) == 2
    assert "--splits train is invalid" in capsys.readouterr().err
