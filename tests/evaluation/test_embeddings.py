"""Embeddings kept by every evaluation: probed again without weights or data, exported, and read back safely."""

import json

import numpy as np
import pytest

from simvae.cli.main import main
from simvae.errors import DataError
from simvae.evaluation import run as evaluation_run
from simvae.evaluation.embeddings import Embeddings

TINY = ["data.limit_train=192", "train.batch_size=32", "train.epochs=1", "net.latent_dim=3", "eval.mlp_steps=20",
        "eval.gmm_n_init=1", "eval.max_train=192", "eval.knn_k=[1,3]", "eval.figures=false"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("embeddings") / "run"
    assert main(["train", "--out", str(run_dir), *TINY]) == 0
    return run_dir


def test_an_evaluation_keeps_what_it_probed(run):
    embeddings = Embeddings.load(run / "embeddings.npz")
    assert embeddings.sizes == json.loads((run / "metrics.json").read_text())["sizes"]
    assert embeddings.sizes["train"] == 192 and set(embeddings.num_classes) == {"content", "pos_x", "pos_y", "scale",
                                                                                 "rotation", "hue"}
    assert embeddings.codes["mean"]["train"].shape == (192, 3) and embeddings.meta["method"] == "simvae"
    with np.load(run / "embeddings.npz", allow_pickle=False) as stored:  # plain arrays, no pickles
        assert stored["codes/mean/test"].dtype == np.float16


def test_eval_again_probes_the_saved_embeddings_without_the_weights_or_data(run, monkeypatch):
    before = json.loads((run / "metrics.json").read_text())
    monkeypatch.setattr(evaluation_run, "load_trained", lambda *a, **k: pytest.fail("the weights or data were read"))
    assert main(["eval", str(run)]) == 0
    again = json.loads((run / "metrics.json").read_text())
    assert again["results"] == before["results"] and again["disentanglement"] == before["disentanglement"]


def test_a_directory_with_embeddings_and_config_but_no_checkpoint_is_probed(run, tmp_path, capsys):
    kept = tmp_path / "kept"
    kept.mkdir()
    for name in ("embeddings.npz", "config.yaml"):
        (kept / name).write_bytes((run / name).read_bytes())
    assert main(["eval", str(kept), "eval.mlp_steps=40"]) == 0
    assert "| content |" in capsys.readouterr().out
    metrics = json.loads((kept / "metrics.json").read_text())
    assert metrics["eval"]["mlp_steps"] == 40 and metrics["step"] == json.loads((run / "metrics.json").read_text())["step"]


def test_embed_exports_and_eval_reprobes_the_exported_file(run, tmp_path, capsys):
    out = tmp_path / "z.npz"
    assert main(["embed", str(run), "--out", str(out)]) == 0
    assert "mean d=3" in capsys.readouterr().out
    assert main(["eval", str(out)]) == 0
    assert "| hue |" in capsys.readouterr().out
    reprobed = json.loads((tmp_path / "z.metrics.json").read_text())
    own = json.loads((run / "metrics.json").read_text())
    assert reprobed["results"]["mean"]["content"]["linear"] == own["results"]["mean"]["content"]["linear"]


def test_embed_with_another_training_subset_embeds_again(run, tmp_path):
    out = tmp_path / "z64.npz"
    assert main(["embed", str(run), "--out", str(out), "eval.max_train=64"]) == 0
    assert Embeddings.load(out).sizes["train"] == 64


def test_a_foreign_file_is_one_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable embeddings file"):
        Embeddings.load(bad)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    assert main(["eval", str(tmp_path / "other.npz")]) == 2
    err = capsys.readouterr().err
    assert "not a simvae embeddings file" in err and len(err.strip().splitlines()) == 1
