"""train.sync_batchnorm: BatchNorm layers become torch's SyncBatchNorm, which on one process is plain
BatchNorm; CPU multi-process runs, where torch cannot sync, are refused with the fix."""

import copy
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from simvae.config import load_config
from simvae.errors import ConfigError
from simvae.methods import ModelSpec, build_method, method_config
from simvae.runs import load_trained
from simvae.training import train
from simvae.training.loop import sync_batchnorm

SPEC = ModelSpec(image_shape=(1, 8, 8), latent_dim=4, backbone="mlp", num_classes=3)
ONE_CPU = SimpleNamespace(world_size=1, device=torch.device("cpu"))


def simclr(sync: bool):
    torch.manual_seed(0)
    config = load_config(overrides=["method.name=simclr", f"train.sync_batchnorm={str(sync).lower()}"])
    return config, build_method(method_config("simclr"), SPEC).double()


def batchnorms(module: nn.Module, kind) -> list[str]:
    return [name for name, layer in module.named_modules() if type(layer) is kind]


def test_every_batchnorm_becomes_sync_batchnorm_with_the_same_state_and_outputs():
    config, method = simclr(sync=True)
    plain = copy.deepcopy(method)
    converted = sync_batchnorm(method, config, ONE_CPU)
    assert batchnorms(plain, nn.BatchNorm1d), "the SimCLR head should hold BatchNorm layers"
    assert batchnorms(converted, nn.SyncBatchNorm) == batchnorms(plain, nn.BatchNorm1d)
    assert not batchnorms(converted, nn.BatchNorm1d)
    assert list(converted.state_dict()) == list(plain.state_dict())  # checkpoints load either way
    views = torch.rand(6, 2, *SPEC.image_shape, dtype=torch.float64)
    torch.testing.assert_close(converted.embed_views(views), plain.embed_views(views), rtol=1e-12, atol=1e-12)


def test_without_the_flag_the_method_is_untouched():
    config, method = simclr(sync=False)
    assert sync_batchnorm(method, config, ONE_CPU) is method
    assert not batchnorms(method, nn.SyncBatchNorm)


def test_cpu_processes_are_refused_with_the_fix():
    config, method = simclr(sync=True)
    with pytest.raises(ConfigError, match="train.sync_batchnorm=false"):
        sync_batchnorm(method, config, SimpleNamespace(world_size=2, device=torch.device("cpu")))


def test_a_run_with_sync_batchnorm_trains_and_loads(tmp_path):
    config = load_config(overrides=["method.name=simclr", "train.sync_batchnorm=true", "data.limit_train=64",
                                    "train.batch_size=32", "train.epochs=1", "net.latent_dim=4"])
    state = train(config, tmp_path / "run", progress=False)
    assert state["finished"] and state["step"] == 2
    _, setup = load_trained(tmp_path / "run")
    assert batchnorms(setup.method, nn.BatchNorm1d)  # evaluation rebuilds plain BatchNorm from the same weights
