"""Building a run from its config: what `auto` resolves to, and the config's augmentation ops reaching the augmenter."""

from __future__ import annotations

import numpy as np
import pytest

from simvae.config import load_config
from simvae.errors import ConfigError, DataError
from simvae.runs import build


def write_npz(path, channels: int) -> str:
    rng = np.random.default_rng(0)
    shape = (60, 16, 16) if channels == 1 else (60, 16, 16, 3)
    np.savez(path, images=rng.integers(0, 256, shape, dtype=np.uint8), content=np.arange(60) % 3, size=np.arange(60) % 2)
    return str(path)


@pytest.mark.parametrize("channels, preset, backbone, likelihood", [(1, "fashion-mnist", "mlp", "bernoulli"),
                                                                    (3, "cifar10", "conv", "gaussian")])
def test_custom_data_picks_the_preset_backbone_and_likelihood_of_its_kind(tmp_path, channels, preset, backbone, likelihood):
    root = write_npz(tmp_path / "data.npz", channels)
    setup = build(load_config(overrides=["data.name=npz", f"data.root={root}"]))
    assert setup.spec.backbone == backbone and setup.spec.likelihood == likelihood
    assert setup.augmenter.ops == build(load_config(overrides=["data.name=npz", f"data.root={root}",
                                                              f"augment.preset={preset}"])).augmenter.ops


def test_augment_ops_replace_the_preset(tmp_path):
    root = write_npz(tmp_path / "data.npz", 1)
    ops = [{"crop": {"scale": [0.5, 1.0]}}, {"hflip": {"p": 0.5}}]
    config = load_config(overrides=["data.name=npz", f"data.root={root}", "augment.ops=[{crop: {scale: [0.5, 1.0]}}, {hflip: {p: 0.5}}]"])
    assert config.augment.ops == ops and build(config).augmenter.ops == ops


def test_a_bad_op_fails_at_load_and_image_size_only_resizes_folders(tmp_path):
    with pytest.raises(ConfigError, match="vlip"):
        load_config(overrides=["augment.ops=[{vlip: {}}]"])
    with pytest.raises(DataError, match="data.image_size"):
        build(load_config(overrides=["data.name=shapes", "data.image_size=16"]))


def test_local_crops_reach_the_augmenter_of_multi_crop_methods_only_at_a_size_their_backbone_takes(tmp_path):
    root = write_npz(tmp_path / "data.npz", 3)  # 16 x 16 colour images: the conv backbone
    data = ["data.name=npz", f"data.root={root}"]
    dino = build(load_config(overrides=[*data, "method.name=dino", "augment.local_crops.number=3"]))
    assert dino.augmenter.local_crops.number == 3 and dino.augmenter.local_pipeline.size == (16, 16)
    for name in ("simclr", "simvae", "barlowtwins"):
        assert build(load_config(overrides=[*data, f"method.name={name}"])).augmenter.local_crops is None
    with pytest.raises(ConfigError, match=r"augment.local_crops.size=8 needs a backbone that takes any image size .*"
                                          r"net.backbone=conv takes only 16x16 images: set augment.local_crops.size=null"):
        build(load_config(overrides=[*data, "method.name=swav", "augment.local_crops.size=8"]))
    resnet = build(load_config(overrides=[*data, "method.name=swav", "augment.local_crops.size=8", "net.backbone=resnet18"]))
    assert resnet.augmenter.local_pipeline.size == (8, 8)
    build(load_config(overrides=[*data, "method.name=dino", "augment.local_crops.size=16"]))  # the images' own size
