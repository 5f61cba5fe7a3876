"""Building a run from its config: data, method and augmenter. Shared by training, evaluation and experiments.

The config has already been checked on its own (`RunConfig.validate`: bounds, method's minimum views,
backbone and preset names); what is left here needs the data: resolving `auto` against the images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from simvae.augment import ViewAugmenter, preset_for
from simvae.config import RunConfig, config_from_dict, merge
from simvae.data import Dataset, load_dataset
from simvae.errors import ConfigError
from simvae.methods import Method, ModelSpec, build_method
from simvae.nets import backbone_for
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint


@dataclass
class Setup:
    """Everything built from a config."""

    dataset: Dataset
    method: Method
    augmenter: ViewAugmenter
    spec: ModelSpec


def load_data(config: RunConfig) -> Dataset:
    data = config.data
    dataset = load_dataset(data.name, data.root, data.val_fraction, data.split_seed, data.image_size)
    return dataset.with_train_limit(data.limit_train)


def build(config: RunConfig, dataset: Dataset | None = None) -> Setup:
    """Data, method and augmenter of `config`; `dataset` skips loading (experiments reuse one dataset)."""
    dataset = dataset if dataset is not None else load_data(config)
    try:
        backbone = backbone_for(config.net.backbone, dataset.image_shape)
        preset = preset_for(config.augment.preset, dataset.augment_preset or dataset.name)
    except ValueError as error:
        raise ConfigError(str(error)) from error
    spec = ModelSpec(dataset.image_shape, config.net.latent_dim, backbone, len(dataset.class_names), dataset.likelihood)
    augmenter = ViewAugmenter(preset, dataset.image_shape[1:], config.augment.views, ops=config.augment.ops)
    return Setup(dataset, build_method(config.method, spec), augmenter, spec)


def load_trained(run_dir: str | Path, device: str | torch.device = "cpu",
                 overrides: dict[str, Any] | None = None) -> tuple[RunConfig, Setup]:
    """Rebuild a run's config, data and method from its directory, with the trained weights loaded.
    `overrides` (a nested dict, e.g. {"eval": {"probe_epochs": 5}}) are merged into the saved config."""
    saved = load_checkpoint(Path(run_dir) / CHECKPOINT)
    config = config_from_dict(merge(saved["config"], overrides or {}))
    setup = build(config)
    setup.method.load_state_dict(saved["model"])
    setup.method.to(device).eval()
    return config, setup
