"""The command line end to end on tiny runs (train, resume, eval, compare, data, errors)."""

import json

from simvae.cli.main import main
from simvae.config import load_config
from simvae.runs import setup as run_setup
from simvae.training import train

TINY = ["data.limit_train=192", "train.batch_size=32", "train.epochs=1", "net.latent_dim=3", "eval.mlp_steps=20",
        "eval.gmm_n_init=1", "eval.max_train=192", "eval.knn_k=[1,3]"]


def test_train_evaluates_and_writes_tables_and_figures(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *TINY]) == 0
    printed = capsys.readouterr().out
    assert "| content |" in printed and "| hue |" in printed
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["results"]["mean"]) == {"content", "pos_x", "pos_y", "scale", "rotation", "hue"}
    for name in ("loss_curves", "latents", "reconstructions", "samples"):
        assert (run / "figures" / f"{name}.png").stat().st_size > 1000
    assert main(["eval", str(run)]) == 0
    assert main(["train", "--out", str(run), *TINY]) == 2  # refuses to overwrite; says to resume
    assert "--resume" in capsys.readouterr().err


def test_resume_refuses_new_settings(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "method.sigma2=0.1"]) == 2
    err = capsys.readouterr().err
    assert "it may change only" in err and "train.lr" in err and "method.sigma2" in err


def test_bad_config_is_reported_without_a_traceback(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "r"), "train.epohcs=2"]) == 2
    err = capsys.readouterr().err
    assert "unknown config key(s) ['epohcs']" in err and "Traceback" not in err


def test_missing_dataset_names_the_fix(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SIMVAE_DATA", str(tmp_path / "data"))
    assert main(["train", "--out", str(tmp_path / "r"), "data.name=mnist", f"data.root={tmp_path}"]) == 2
    assert "simvae data download mnist" in capsys.readouterr().err


def test_data_lists_every_dataset(capsys):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    assert "shapes" in out and "fashion-mnist" in out and "mnist" in out


def test_compare_tabulates_methods_over_seeds_and_skips_finished_runs(tmp_path, capsys):
    out = tmp_path / "cmp"
    args = ["compare", "--methods", "simvae,simclr", "--seeds", "1,2", "--out", str(out), *TINY]
    assert main(args) == 0
    payload = json.loads((out / "comparison.json").read_text())
    assert payload["methods"] == ["simvae", "simclr"] and payload["seeds"] == {"simvae": [1, 2], "simclr": [1, 2]}
    assert (payload["backbone"], payload["augment_preset"]) == ("conv", "shapes")  # "auto" resolved for the reader
    assert payload["trained_at"] == [payload["provenance"]["git_commit"]]  # read back from the runs' provenance.json
    cell = payload["summary"]["simclr"]["hue"]["linear"]
    assert len(cell["values"]) == 2 and 0 <= cell["mean"] <= 1
    assert (out / "accuracy_content.png").is_file() and (out / "accuracy_style.png").is_file()
    assert (out / "tradeoff.png").is_file() and not (out / "curves_linear.png").exists()  # no train.eval_every: no curves
    table = (out / "comparison.md").read_text()
    assert "| simvae |" in table and "± " in table
    stamp = (out / "simvae" / "seed1" / "metrics.json").stat().st_mtime
    assert main(args) == 0
    assert (out / "simvae" / "seed1" / "metrics.json").stat().st_mtime == stamp, "a finished run must be skipped"


def test_compare_rejects_method_specific_keys_and_unknown_methods(tmp_path, capsys):
    assert main(["compare", "--methods", "simvae", "--out", str(tmp_path), "method.sigma2=0.1"]) == 2
    assert "method-specific" in capsys.readouterr().err
    assert main(["compare", "--methods", "simvae,nope", "--out", str(tmp_path)]) == 2
    assert "unknown method" in capsys.readouterr().err


def test_eval_of_an_unfinished_run_says_so_and_records_the_step(tmp_path, capsys, small_shapes, monkeypatch):
    monkeypatch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: small_shapes)
    run = tmp_path / "run"
    train(load_config(overrides=["train.batch_size=32", "net.latent_dim=4"]), run, max_steps=2, progress=False)
    assert main(["eval", str(run), "eval.mlp_steps=10", "eval.gmm_n_init=1", "eval.figures=false"]) == 0
    assert f"{run} has not finished training" in capsys.readouterr().err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["step"] == 2 and metrics["finished"] is False
