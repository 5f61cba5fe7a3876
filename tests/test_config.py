import pytest
import yaml

from simvae.config import RunConfig, load_config, parse_overrides
from simvae.errors import ConfigError


def test_defaults_are_simvae_on_the_embedded_data():
    config = load_config()
    assert isinstance(config, RunConfig)
    assert config.method.name == "simvae" and config.data.name == "shapes"
    assert config.method.sigma2 == 0.15 and config.augment.views == 2


def test_yaml_file_and_overrides_merge_with_overrides_winning(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"train": {"epochs": 7, "lr": 0.01}, "method": {"name": "simvae", "sigma2": 0.3}}))
    config = load_config(path, ["train.epochs=2", "method.p_y=uniform"])
    assert config.train.epochs == 2 and config.train.lr == 0.01
    assert config.method.sigma2 == 0.3 and config.method.p_y == "uniform"


def test_round_trip_through_to_dict():
    config = load_config(overrides=["train.epochs=3", "eval.knn_k=[1,3]"])
    from simvae.config import config_from_dict

    assert config_from_dict(config.to_dict()) == config


@pytest.mark.parametrize("overrides,message", [
    (["train.epoch=3"], r"unknown config key\(s\) \['epoch'\] in section 'train'"),
    (["trian.epochs=3"], r"unknown config key\(s\) \['trian'\]"),
    (["method.sigma=0.1"], r"unknown config key\(s\) \['sigma'\] in section 'method'"),
    (["method.name=simclear"], r"method.name='simclear' is unknown"),
    (["train.lr=-1"], r"train.lr=-1.0 is invalid"),
    (["train.lr=fast"], r"train.lr='fast' must be of type float"),
    (["train.epochs=2.5"], r"train.epochs=2.5 must be of type int"),
    (["augment.views=0"], r"augment.views=0 is invalid"),
    (["data.val_fraction=0.9"], r"data.val_fraction=0.9 is invalid"),
    (["train.precision=8-bit"], r"train.precision='8-bit' is invalid"),
    (["eval.knn_k=[]"], r"eval.knn_k=\[\] is invalid"),
    (["method.name=dino", "augment.local_crops.number=0"], r"augment.local_crops.number=0 is invalid"),
    (["method.name=dino", "augment.local_crops.size=2"], r"augment.local_crops.size=2 is invalid"),
    (["method.name=dino", "augment.local_crops.scale=[0.5, 0.1]"], r"augment.local_crops.scale=\[0.5, 0.1\] is invalid"),
    (["method.name=swav", "augment.local_crops.scale=[0, 0.3]"], r"augment.local_crops.scale=\[0.0, 0.3\] is invalid"),
    (["method.name=swav", "augment.local_crops.scale=[0.1]"], r"augment.local_crops.scale=\[0.1\] is invalid"),
    (["method.name=dino", "augment.local_crops.numbr=3"], r"unknown config key\(s\) \['numbr'\] in section 'augment.local_crops'"),
])
def test_bad_keys_and_values_fail_at_load_naming_them(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(overrides=overrides)


def test_override_syntax_errors_are_explained():
    with pytest.raises(ConfigError, match="section.key=value"):
        parse_overrides(["train.epochs"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("no/such/file.yaml")


def test_shipped_configs_load(tmp_path):
    from pathlib import Path

    configs = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))
    assert configs, "configs/ should ship example configs"
    for path in configs:
        if path.name != "reproduce.yaml":  # a grid file, not a run config: tests/evaluation/test_reproduce.py loads it
            load_config(path)


def test_local_crops_default_for_multi_crop_methods_and_are_recorded_as_none_for_the_others():
    from simvae.augment import LocalCrops
    from simvae.config import config_from_dict

    assert load_config(overrides=["method.name=dino"]).augment.local_crops == LocalCrops(number=4, size=None, scale=[0.1, 0.4])
    assert load_config(overrides=["method.name=swav", "augment.local_crops=null"]).augment.local_crops is None
    for name in ("simvae", "simclr", "barlowtwins"):  # they take the global views only: a shared setting leaves them as they were
        config = load_config(overrides=[f"method.name={name}", "augment.local_crops.number=6"])
        assert config.augment.local_crops is None and config == load_config(overrides=[f"method.name={name}"])
    dino = load_config(overrides=["method.name=dino", "augment.local_crops.size=16"])
    assert config_from_dict(dino.to_dict()) == dino


@pytest.mark.parametrize("path", ["configs/fashion-mnist.yaml", "configs/shapes.yaml"])
def test_the_example_configs_take_any_method_from_the_command_line(path):
    from pathlib import Path

    from simvae.methods import METHODS

    path = Path(__file__).parents[1] / path
    for name in METHODS:  # e.g. simvae train --config configs/fashion-mnist.yaml method.name=dino
        assert load_config(path, [f"method.name={name}"]).method.name == name
