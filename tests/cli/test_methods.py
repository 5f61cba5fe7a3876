"""`simvae methods` lists every registered method with its family, source and hyper-parameters."""

from __future__ import annotations

import dataclasses
import json

from simvae.cli.main import main
from simvae.methods import METHODS
from simvae.methods.catalogue import catalogue


def test_methods_lists_every_method_with_family_source_and_hyperparameters(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    for info in catalogue():
        assert f"{info.name} ({info.family}, at least {info.min_views} view" in out and info.source in out
    assert "  sigma2        float" in out and "0.15" in out and "variance of p(z|y)" in out
    assert "  momentum      float  0.99     >= 0 and < 1" in out  # moco's: default and bounds in their columns


def test_methods_json_is_the_catalogue_and_names_select(capsys):
    assert main(["methods", "--json"]) == 0
    expected = json.loads(json.dumps([dataclasses.asdict(info) for info in catalogue()]))  # tuples as lists
    assert json.loads(capsys.readouterr().out) == expected
    assert main(["methods", "vicreg", "byol", "--json"]) == 0
    assert [entry["name"] for entry in json.loads(capsys.readouterr().out)] == ["vicreg", "byol"]


def test_an_unknown_method_is_one_line_naming_the_available_ones(capsys):
    assert main(["methods", "simclrr"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown method(s) ['simclrr']" in err and ", ".join(METHODS) in err
