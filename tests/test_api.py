"""The public Python API: `simvae.train`, `simvae.evaluate`, `simvae.load_run` do what the CLI does."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import simvae
from simvae.errors import ConfigError
from simvae.runs import setup as run_setup


def test_the_package_exports_exactly_the_api():
    assert sorted(simvae.__all__) == ["Run", "SimvaeError", "__version__", "evaluate", "load_run", "train"]


def test_the_lazy_exports_are_the_defining_modules_objects():
    assert set(simvae.__all__) == {*simvae.EXPORTS, "__version__"} and set(simvae.__all__) <= set(dir(simvae))
    for name, module in simvae.EXPORTS.items():
        assert getattr(simvae, name) is getattr(importlib.import_module(module), name)
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        simvae.trian


def test_train_then_evaluate_with_other_settings(tmp_path, small_shapes, monkeypatch):
    monkeypatch.setattr(run_setup, "load_dataset", lambda *args, **kwargs: small_shapes)
    run = simvae.train(None, out=tmp_path / "run", progress=False, method={"name": "vae"},
                       train={"epochs": 1, "batch_size": 64}, net={"latent_dim": 3},
                       eval={"mlp_steps": 10, "gmm_n_init": 1, "figures": False})
    assert isinstance(run, simvae.Run) and run.finished and run.config.method.name == "vae"
    assert run.metrics["eval"]["mlp_steps"] == 10
    metrics = simvae.evaluate(tmp_path / "run", progress=False, mlp_steps=20, knn_k=[3])
    assert metrics["eval"]["mlp_steps"] == 20 and metrics["results"]["mean"]["content"]["knn"]["k"] == 3
    assert simvae.load_run(tmp_path / "run").metrics == metrics
    with pytest.raises(ConfigError, match="net.latent_dim: 3 -> 5"):  # the same --out with other settings
        simvae.train(None, out=tmp_path / "run", progress=False, method={"name": "vae"}, net={"latent_dim": 5})


def test_no_exported_name_shadows_a_subpackage():
    subpackages = {path.name for path in Path(simvae.__file__).parent.iterdir() if (path / "__init__.py").is_file()}
    assert "training" in subpackages and not subpackages & set(simvae.__all__)
