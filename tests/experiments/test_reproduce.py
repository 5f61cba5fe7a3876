"""`simvae reproduce`: the grid file's checks, a whole smoke grid with an ablation, its report in Chromium, resuming."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from simvae.cli.main import main
from simvae.config import merge
from simvae.errors import ConfigError
from simvae.experiments import compare as compare_module
from simvae.experiments.reproduce import BUDGETS, ablation_runs, load_grid, plan
from simvae.runs import setup as run_setup

REPO = Path(__file__).resolve().parents[2]
TINY = {"data": {"limit_train": 128}, "train": {"epochs": 1, "batch_size": 32},
        "eval": {"mlp_steps": 20, "max_train": 128, "gmm_n_init": 1, "gmm_max_train": 128, "knn_k": [1, 3]}}
CURVES = {"train": {"epochs": 2, "eval_every": 1},
          "eval": {"all_representations": True, "curve_max_train": 128}}


@pytest.fixture(autouse=True)
def quick_data(small_shapes, monkeypatch):
    monkeypatch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: small_shapes)


def write_grid(path: Path, **changes) -> Path:
    grid = {"methods": ["simvae", "simclr"], "seeds": [1, 2], "datasets": {"shapes": {"data": {"name": "shapes"}}},
            "budgets": {"smoke": {"all": TINY}, "short": {"shapes": {"train": {"epochs": 2}}},
                        "medium": {"all": merge(TINY, CURVES), "seeds": [1, 2], "seeds_by_method": {"simclr": [3]}},
                        "paper": {"all": {}}},
            "ablations": {"views": {"J=2": {"augment": {"views": 2}}, "J=3": {"augment": {"views": 3}}}}}
    grid.update(changes)
    path.write_text(yaml.safe_dump(grid))
    return path


def test_the_shipped_grid_is_valid_for_every_budget_and_ablation():
    grid = load_grid(REPO / "configs" / "reproduce.yaml")
    assert len(grid.methods) == 13 and len(grid.seeds) == 3 and {"shapes", "fashion-mnist-canvas"} <= set(grid.datasets)
    paper = grid.base("shapes", "paper")["train"]
    assert (paper["epochs"], paper["batch_size"], paper["lr"]) == (400, 64, 8e-5)
    medium = grid.seeds_by_method("medium")
    assert all(len(medium[m]) == 3 for m in ("simvae", "vae", "simclr", "vicreg", "dino")) and all(len(s) >= 1 for s in medium.values())
    assert medium["swav"] == medium["barlowtwins"] == [1]
    assert {"shapes", "fashion-mnist-canvas", "fashion-mnist-canvas-control"} <= set(grid.budget_datasets("medium"))
    for dataset in grid.budget_datasets("medium"):
        config = grid.config(dataset, "medium", "simclr", 1)
        assert config.train.epochs >= 10 and config.train.eval_every and config.eval.all_representations
    assert grid.config("fashion-mnist-canvas", "medium", "vae", 1).data.limit_train == 20000
    plain = grid.config("fashion-mnist", "medium", "simvae", 1)  # the paper's own benchmark, with the paper's MLP
    assert plain.data.limit_train == 20000 and plain.data.name == "fashion-mnist"
    assert grid.budget_datasets("short") == ["shapes", "fashion-mnist-canvas"]  # as the README's short results were made
    assert all(len(s) == 1 for s in grid.with_seeds([7]).seeds_by_method("medium").values())
    assert all(grid.ablation_seeds("medium", name) == [1] for name in ("sigma2", "recon", "latent", "lr", "canvas-augment"))
    assert grid.ablation_seeds("medium", "views") == [1, 2, 3] == grid.ablation_seeds("short", "sigma2")
    assert grid.dataset_ablations("medium", "shapes", ["recon"]) == [] and grid.dataset_ablations("medium", "fashion-mnist-canvas", ["recon"])
    for name, values in grid.ablations.items():
        for overrides in values.values():
            assert grid.ablation_config("shapes", "short", overrides, seed=1).method.name == "simvae", name


def budgets(**changes):
    """Valid empty budgets, with `changes` to some."""
    return {"budgets": {**{name: {} for name in BUDGETS}, **changes}}


@pytest.mark.parametrize("change,message", [
    ({"methods": ["simvae", "simclrr"]}, "unknown method 'simclrr'"),
    ({"datasets": {"shapez": {}}}, "unknown dataset 'shapez'"),
    ({"datasets": {"shapes": {"method": {"sigma2": 0.1}}}}, "sets method keys"),
    ({"budgets": {"smoke": {}, "short": {}}}, "budgets must be exactly"),
    (budgets(smoke={"cifar": {}}), "budgets.smoke.cifar names no dataset"),
    (budgets(smoke={"all": {"train": {"epochs": 0}}}), "train.epochs"),
    ({"method": ["simvae"]}, "unknown key"),
    ({"seeds": []}, "seeds must be a non-empty list of distinct integers"),
    (budgets(medium={"seeds": [1, 1]}), "budgets.medium.seeds must be a non-empty list of distinct integers"),
    (budgets(medium={"seeds_by_method": {"mocoo": [1]}}), "seeds_by_method names 'mocoo', not one of the grid's methods"),
    (budgets(medium={"seeds_by_method": {"simclr": "1"}}), "seeds_by_method.simclr must be a non-empty list"),
    (budgets(medium={"seeds_by_method": [1]}), "seeds_by_method must map method names to seed lists"),
    (budgets(medium={"datasets": ["cifar10"]}), "budgets.medium.datasets must be a non-empty list of the grid's datasets"),
    (budgets(medium={"seeds_by_ablation": {"depth": [1]}}), "seeds_by_ablation names 'depth', not one of the grid's ablations"),
    (budgets(medium={"seeds_by_ablation": {"views": []}}), "seeds_by_ablation.views must be a non-empty list"),
    (budgets(medium={"seeds_by_ablation": [1]}), "seeds_by_ablation must map ablation names to seed lists"),
    (budgets(medium={"ablation_datasets": ["mnist"]}), "budgets.medium.ablation_datasets must be a non-empty list"),
])
def test_bad_grid_files_fail_at_load_naming_the_problem(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        load_grid(write_grid(tmp_path / "grid.yaml", **change))


def test_methods_restrict_the_grid_and_unknown_ones_are_refused(tmp_path):
    grid = load_grid(write_grid(tmp_path / "grid.yaml"))
    assert [job.label for job in plan(grid.with_methods(["simclr"]), "short", ["shapes"], [], tmp_path)] == [
        "shapes/simclr/seed1", "shapes/simclr/seed2"]
    overridden = grid.with_methods(["simvae"]).with_overrides({"net": {"latent_dim": 64}})  # medium's simclr seeds go too
    assert overridden.seeds_by_method("medium") == {"simvae": [1, 2]}
    with pytest.raises(ConfigError, match="--methods simclr,byol must name some of the grid's methods"):
        grid.with_methods(["simclr", "byol"])


def test_overrides_reach_every_run_and_bad_ones_are_refused(tmp_path):
    grid = load_grid(write_grid(tmp_path / "grid.yaml")).with_overrides({"net": {"latent_dim": 64}})
    assert {grid.config("shapes", budget, "simclr", 1).net.latent_dim for budget in BUDGETS} == {64}
    with pytest.raises(ConfigError, match="net.latent_dim"):
        load_grid(write_grid(tmp_path / "grid.yaml")).with_overrides({"net": {"latent_dim": 0}})
    with pytest.raises(ConfigError, match="method.* would apply to every method"):
        load_grid(write_grid(tmp_path / "grid.yaml")).with_overrides({"method": {"sigma2": 0.1}})


def test_an_ablation_may_screen_its_values_with_fewer_seeds_than_the_main_grid(tmp_path):
    grid = load_grid(write_grid(tmp_path / "grid.yaml", **budgets(medium={"seeds": [1, 2], "seeds_by_ablation": {"views": [2]}})))
    runs = ablation_runs(grid, "shapes", "medium", "views", tmp_path)
    assert [(run.label, run.seed, run.reused) for run in runs] == [("J=2", 2, True), ("J=3", 2, False)]
    assert runs[0].run_dir == tmp_path / "simvae" / "seed2"  # the main grid's run of the same settings
    assert [run.seed for run in ablation_runs(grid, "shapes", "short", "views", tmp_path)] == [1, 2, 1, 2]


def test_a_budget_may_run_its_ablations_on_some_datasets_only(tmp_path):
    datasets = {"shapes": {"data": {"name": "shapes"}}, "fashion-mnist-canvas": {"data": {"name": "fashion-mnist-canvas"}}}
    grid = load_grid(write_grid(tmp_path / "grid.yaml", datasets=datasets, **budgets(medium={"ablation_datasets": ["shapes"]})))
    jobs = plan(grid, "medium", ["fashion-mnist-canvas", "shapes"], ["views"], tmp_path)
    assert [job.label for job in jobs if "ablation" in job.label] == ["shapes/ablation-views/J=3/seed1", "shapes/ablation-views/J=3/seed2"]
    assert grid.dataset_ablations("short", "fashion-mnist-canvas", ["views"]) == ["views"]  # every dataset by default


def test_smoke_grid_with_an_ablation_writes_a_report_that_renders(tmp_path, capsys, render_html, monkeypatch):
    out = tmp_path / "out"
    args = ["reproduce", "--grid", str(write_grid(tmp_path / "grid.yaml")), "--budget", "smoke", "--out", str(out),
            "--ablations", "views"]
    assert main(args) == 0
    assert "report.html" in capsys.readouterr().out
    report = (out / "report.md").read_text()
    for expected in ("## shapes", "| simvae |", "| simclr |", "content (5 cls) · linear", "hue (6 cls)",
                     "within-sample (across views) / between-sample variance", "best test step (official)", "**Disentanglement**", "DCI completeness", "#### views",
                     "| J=3 |", "mean style · linear · val", "Main grid trained at commit(s) `", "report written at commit `"):
        assert expected in report, expected
    # J=2 is the main grid's SimVAE run, reused; J=3 was trained with 3 views
    assert not (out / "shapes" / "ablation-views" / "J=2").exists()
    saved = yaml.safe_load((out / "shapes" / "ablation-views" / "J=3" / "seed1" / "config.yaml").read_text())
    assert saved["augment"]["views"] == 3 and saved["method"]["name"] == "simvae"
    diagnostics = json.loads((out / "shapes" / "simclr" / "seed2" / "diagnostics.json").read_text())
    assert diagnostics["view_variance_ratio"] >= 0 and 1 <= diagnostics["effective_rank"] <= diagnostics["effective_rank_max"]
    rendered = render_html(out / "report.html")
    assert rendered["broken_images"] == [] and rendered["images"] >= 2 + 2 * 3  # bars + simvae and simclr figures
    assert rendered["tables"] >= 4 + 2 + 1  # probes, diagnostics, selection, ablation
    assert "data:image/png;base64," in (out / "report.html").read_text() and "src=\"shapes/" not in (out / "report.html").read_text()

    # re-running trains nothing and gives the same tables
    monkeypatch.setattr(compare_module, "train", lambda *a, **k: pytest.fail("a finished run was trained again"))
    assert main(args) == 0
    assert (out / "report.md").read_text().split("## shapes")[1] == report.split("## shapes")[1]


def test_medium_budget_curves_per_method_seeds_encoder_and_head_and_the_tradeoff_figure(tmp_path, capsys, render_html):
    out = tmp_path / "out"
    assert main(["reproduce", "--grid", str(write_grid(tmp_path / "grid.yaml")), "--budget", "medium", "--out", str(out)]) == 0
    runs = sorted(str(path.relative_to(out)) for path in out.glob("shapes/*/seed*"))
    assert runs == ["shapes/simclr/seed3", "shapes/simvae/seed1", "shapes/simvae/seed2"]
    assert sorted(p.name for p in (out / "shapes" / "simclr" / "seed3" / "curve").iterdir()) == ["epoch-001.json", "epoch-002.json"]
    report = (out / "report.md").read_text()
    section = report.split("## shapes")[1]
    # the trade-off figure opens the section, before any table
    assert section.index("![content-style trade-off](shapes/tradeoff.png)") < section.index("|")
    for expected in ("seeds simvae [1, 2], simclr [3]", "### Encoder and projection head", "| simclr | `encoder` |",
                     "| simclr | `head` |", "| simvae | `mean` |", "mean style", "curves_linear.png", "curves_knn.png",
                     "Every 1 epochs: a linear probe (logistic regression to convergence"):
        assert expected in section, expected
    comparison = json.loads((out / "shapes" / "comparison.json").read_text())
    assert comparison["curves"]["simvae"]["mean"]["content"]["linear"]["epochs"] == [1, 2]
    assert len(comparison["representations"]["simvae"]["mean"]["hue"]["mlp"]["values"]) == 2
    rendered = render_html(out / "report.html")
    assert rendered["broken_images"] == [] and rendered["images"] >= 1 + 2 + 2  # trade-off, bars, curves


def test_a_run_directory_made_with_other_settings_is_refused(tmp_path, capsys):
    grid = write_grid(tmp_path / "grid.yaml", methods=["simclr"], seeds=[1], ablations={})
    assert main(["reproduce", "--grid", str(grid), "--budget", "smoke", "--out", str(tmp_path / "out")]) == 0
    tiny_other = {**TINY, "train": {"epochs": 1, "batch_size": 16}}
    write_grid(tmp_path / "grid.yaml", methods=["simclr"], seeds=[1], ablations={}, **budgets(smoke={"all": tiny_other}))
    assert main(["reproduce", "--grid", str(grid), "--budget", "smoke", "--out", str(tmp_path / "out")]) == 2
    assert "train.batch_size: 32 -> 16" in capsys.readouterr().err


def test_unknown_budget_dataset_or_ablation_is_a_clear_error(tmp_path, capsys):
    grid = str(write_grid(tmp_path / "grid.yaml"))
    assert set(BUDGETS) == {"smoke", "short", "medium", "paper"}
    for extra, message in ((["--budget", "long"], "--budget 'long' is invalid"), (["--datasets", "mnist"], "unknown dataset 'mnist'"),
                           (["--ablations", "depth"], "unknown ablation 'depth'"),
                           (["--methods", "simvae,byol"], "--methods simvae,byol must name some of the grid's methods"),
                           (["net.latent_dim=0"], "net.latent_dim=0 is invalid"),
                           (["method.sigma2=0.1"], "method.* would apply to every method")):
        assert main(["reproduce", "--grid", grid, "--out", str(tmp_path / "o"), *extra]) == 2
        assert message in capsys.readouterr().err
