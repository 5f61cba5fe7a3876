"""The configs simvae ships: one copy (the repository's configs/, which the package links to), found by name from
any directory, a path always winning, and a missing one named with the shipped alternatives."""

from __future__ import annotations

from pathlib import Path

import pytest

from simvae.config import load_config
from simvae.config_files import CONFIG_DIR, GRID, find_config, shipped
from simvae.errors import ConfigError
from simvae.experiments.reproduce import load_grid

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_the_package_ships_the_repositorys_configs_themselves():
    assert CONFIG_DIR.resolve() == REPO_CONFIGS  # a link, so the two cannot drift apart
    names = {path.stem for path in REPO_CONFIGS.glob("*.yaml")}
    assert {"fashion-mnist", "official-fashion-mnist", "shapes", GRID} <= names
    assert set(shipped()) == names - {GRID} and set(shipped(grid=True)) == {GRID}


def test_configs_are_found_by_name_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_config("fashion-mnist") == find_config("fashion-mnist.yaml") == CONFIG_DIR / "fashion-mnist.yaml"
    config = load_config("fashion-mnist", ["train.epochs=2"])
    assert (config.data.name, config.net.backbone, config.train.epochs) == ("fashion-mnist", "mlp", 2)
    grid = load_grid()  # the paper's grid, by default
    assert grid.methods == load_grid(REPO_CONFIGS / "reproduce.yaml").methods


def test_a_path_wins_over_a_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shapes.yaml").write_text("train:\n  epochs: 7\n")
    assert find_config("shapes.yaml") == Path("shapes.yaml")
    assert load_config("shapes.yaml").train.epochs == 7
    assert load_config("shapes").augment.preset == "shapes"  # no file named `shapes` here: the shipped one


def test_a_missing_file_is_not_replaced_by_a_shipped_one_of_the_same_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as error:
        load_config("configs/fashion-mnist.yaml")  # a path (here it does not exist), not a name
    assert str(error.value) == ("config file configs/fashion-mnist.yaml does not exist; give a YAML file or the name "
                                "of one of simvae's configs/: fashion-mnist, official-fashion-mnist, shapes")
    with pytest.raises(ConfigError, match="grid file reproduce.yml does not exist; .*configs/: reproduce$"):
        load_grid("reproduce.yml")
    with pytest.raises(ConfigError, match="config file reproduce does not exist"):  # the grid is not a run config
        find_config(GRID)
