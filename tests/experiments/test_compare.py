"""Reusing run directories: where a run executes may differ, what it computes may not."""

import pytest
import yaml

from simvae.config import EXECUTION_KEYS, MONITOR_KEYS, load_config
from simvae.errors import ConfigError
from simvae.experiments.compare import check_same_config, differences


def saved_run(tmp_path, *overrides):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(load_config(overrides=list(overrides)).to_dict()))
    return tmp_path


def test_execution_keys_may_differ(tmp_path):
    run_dir = saved_run(tmp_path, "train.devices=2", "train.num_nodes=2", "train.strategy=ddp",
                        "train.accelerator=cuda", "train.sync_batchnorm=true", "train.threads=1", "train.eval_every=2",
                        "train.loggers=[csv, tensorboard]")
    check_same_config(load_config(), run_dir)  # the same run, made on 4 GPUs (or one thread, with curves): reused
    assert {"devices", "num_nodes", "strategy", "accelerator", "sync_batchnorm", "threads"} == set(EXECUTION_KEYS)
    assert MONITOR_KEYS == ("loggers", "eval_every")


@pytest.mark.parametrize("override, named", [("train.epochs=3", "train.epochs: 3 -> 10"),
                                             ("method.name=simclr", "method.name: 'simclr' -> 'simvae'"),
                                             ("train.precision=bf16-mixed", "train.precision")])
def test_settings_that_change_the_result_are_refused_by_name(tmp_path, override, named):
    with pytest.raises(ConfigError, match="delete it to retrain") as error:
        check_same_config(load_config(), saved_run(tmp_path, override))
    assert named in str(error.value)


def test_differences_walk_nested_sections():
    assert differences({"net": {"b": 1, "c": 2}}, {"net": {"b": 1, "c": 3}, "data": {"d": 4}}) == ["data: None -> {'d': 4}", "net.c: 2 -> 3"]


def test_evaluation_settings_are_not_part_of_a_runs_identity():
    saved = load_config(overrides=["eval.mlp_steps=2000"]).to_dict()
    assert differences(saved, load_config(overrides=["eval.mlp_steps=50", "eval.knn_k=[3]"]).to_dict()) == []
    assert differences(saved, load_config(overrides=["train.lr=0.01"]).to_dict()) == ["train.lr: 0.001 -> 0.01"]
