"""What an evaluation measures on small and degenerate data: the probes equal a converged scikit-learn fit on the
run's own embeddings, a label that cannot be measured is null (and said so), a thin validation split is named,
and metrics.json records the split sizes and the settings each probe chose."""

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from simvae.cli.main import main
from simvae.evaluation.embeddings import Embeddings
from simvae.evaluation.probes import standardise

TINY = ["train.batch_size=32", "train.epochs=2", "net.latent_dim=4", "eval.mlp_steps=100", "eval.gmm_n_init=1",
        "eval.knn_k=[1,3]", "eval.figures=false"]


def write_small_npz(path, n=180, seed=0):
    """3 content classes x 60 images whose brightness *is* the class; `level` is a 3-class style label the images
    also show (a bright square's position); `flat` has one class."""
    rng = np.random.default_rng(seed)
    content = np.arange(n) % 3
    level = (np.arange(n) // 3) % 3
    images = rng.integers(0, 40, (n, 16, 16), dtype=np.uint8) + (content * 60).astype(np.uint8)[:, None, None]
    for i, row in enumerate(level):
        images[i, 2 + 4 * row: 6 + 4 * row, 2:6] = 255
    np.savez(path, images=images, content=content, level=level, flat=np.zeros(n, np.int64))
    return path


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    data = write_small_npz(root / "small.npz")
    run = root / "run"
    assert main(["train", "--out", str(run), "data.name=npz", f"data.root={data}", *TINY]) == 0
    return run


def test_the_linear_probe_equals_a_converged_logistic_regression_on_the_runs_embeddings(small_run):
    metrics = json.loads((small_run / "metrics.json").read_text())
    embeddings = Embeddings.load(small_run / "embeddings.npz")
    codes = embeddings.codes["mean"]
    train, test = (x.double().numpy() for x in standardise(codes["train"].double(), codes["test"].double()))
    for task in ("content", "level"):
        scores = metrics["results"]["mean"][task]["linear"]
        labels = embeddings.labels[task]
        reference = LogisticRegression(C=scores["C"], tol=1e-10, max_iter=20_000).fit(train, labels["train"].numpy())
        assert scores["test"] == pytest.approx(reference.score(test, labels["test"].numpy()), abs=0.005)


def test_a_label_with_one_class_is_null_and_named_once(small_run, capsys):
    assert main(["eval", str(small_run)]) == 0
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines() if "'flat'" in line]
    assert len(notes) == 1 and "not measurable" in notes[0] and "1 class" in notes[0]
    metrics = json.loads((small_run / "metrics.json").read_text())
    assert metrics["results"]["mean"]["flat"] is None and "flat" in metrics["unmeasurable"]
    assert "| flat | 1 | 100.0 | not measurable |" in captured.out
    assert metrics["disentanglement"]["mean"]["per_factor"]["flat"]["measurable"] is False


def test_metrics_record_split_sizes_and_the_chosen_settings(small_run):
    metrics = json.loads((small_run / "metrics.json").read_text())
    embeddings = Embeddings.load(small_run / "embeddings.npz")
    assert metrics["sizes"] == embeddings.sizes and sum(metrics["sizes"].values()) == 180
    scores = metrics["results"]["mean"]["content"]
    assert scores["linear"]["C"] in metrics["eval"]["linear_C"] and scores["linear"]["converged"]
    assert scores["mlp"]["weight_decay"] in metrics["eval"]["mlp_weight_decay"]
    assert 0 < scores["mlp"]["step"] <= metrics["eval"]["mlp_steps"]
    assert scores["knn"]["k"] in metrics["eval"]["knn_k"]


def test_a_thin_validation_split_names_the_setting_to_raise(tmp_path, capsys):
    data = write_small_npz(tmp_path / "small.npz")
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "data.name=npz", f"data.root={data}", "data.val_fraction=0.05", *TINY]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "data.val_fraction" in line]
    assert notes and all("fewer than 5 per class" in line for line in notes)
