"""Building a run from its config: data, method and augmenter. Shared by training, evaluation and experiments.

The config has already been checked on its own (`RunConfig.validate`: bounds, method's minimum views,
backbone and preset names); what is left here needs the data: resolving `auto` against the images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from simvae.augment import ViewAugmenter, preset_for
from simvae.config import RunConfig, saved_config
from simvae.data import Dataset, ImageSet, load_dataset
from simvae.devices import usable_device
from simvae.errors import ConfigError, RunDirError
from simvae.methods import METHODS, Method, ModelSpec, build_method
from simvae.nets import BACKBONES, backbone_for
from simvae.nets.custom import CUSTOM, networks_text
from simvae.resources import fits_in_memory, memory_note
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint, load_weights
from simvae.runs.rundir import recorded_networks


@dataclass
class Setup:
    """Everything built from a config (and, from `load_trained`, where its checkpoint stands)."""

    dataset: Dataset
    method: Method
    augmenter: ViewAugmenter
    spec: ModelSpec
    step: int = 0  # optimiser steps in the loaded checkpoint
    finished: bool = False  # whether that checkpoint ends the run's training


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
    check_model_fits(config, spec)
    local = config.augment.local_crops if METHODS[config.method.name].uses_local_crops else None
    if (local is not None and local.size is not None and (local.size, local.size) != dataset.image_shape[1:]
            and not BACKBONES[backbone].any_size):
        raise ConfigError(f"config value augment.local_crops.size={local.size} needs a backbone that takes any image size "
                          f"(resnet18); net.backbone={backbone} takes only {dataset.image_shape[1]}x{dataset.image_shape[2]} "
                          "images: set augment.local_crops.size=null (the images' size) or net.backbone=resnet18")
    augmenter = ViewAugmenter(preset, dataset.image_shape[1:], config.augment.views, ops=config.augment.ops, local_crops=local)
    return Setup(dataset, build_method(config.method, spec), augmenter, spec)


def check_model_fits(config: RunConfig, spec: ModelSpec) -> None:
    """The method's parameters, with their gradients and Adam's two moments, fit in this machine's memory: counted
    on torch's meta device, which allocates nothing (and draws no random numbers). Networks passed from Python
    (net.backbone=custom) already hold their weights, and cannot be rebuilt on the meta device: not counted."""
    if config.net.backbone == CUSTOM:
        return
    with torch.device("meta"):
        method = build_method(config.method, spec)
    count = sum(p.numel() for p in method.parameters()) + sum(b.numel() for b in method.buffers())
    nbytes = 4 * 4 * count  # float32 weights, gradients, exp_avg, exp_avg_sq
    if not fits_in_memory(nbytes):
        raise ConfigError(f"config value net.latent_dim={config.net.latent_dim} with images of "
                          f"{'x'.join(map(str, spec.image_shape))} makes a model of {count:,} parameters, which train in "
                          f"{memory_note(nbytes)}: lower net.latent_dim (or the image size)")


def data_spec(setup: Setup) -> dict[str, Any]:
    """What a trained model needs to know about its data, saved in checkpoints so that `load_run` can rebuild
    the method without the dataset."""
    d = setup.dataset
    return {"name": d.name, "image_shape": list(d.image_shape), "class_names": list(d.class_names),
            "style_classes": dict(d.style_classes), "likelihood": d.likelihood, "augment_preset": d.augment_preset,
            "source": d.source}


def dataset_from_spec(spec: dict[str, Any]) -> Dataset:
    """A Dataset with the saved metadata and no images: enough to `build` the method and augmenter."""
    empty = ImageSet(torch.empty(0, *spec["image_shape"], dtype=torch.uint8), torch.empty(0, dtype=torch.int64),
                     {name: torch.empty(0, dtype=torch.int64) for name in spec["style_classes"]})
    return Dataset(spec["name"], empty, empty, empty, spec["class_names"], spec["style_classes"], spec["likelihood"],
                   spec["source"], spec["augment_preset"])


def checkpoint_config(saved: dict[str, Any], path: Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """A loaded checkpoint's config with `overrides` (a nested dict) merged in. A saved config that no longer
    loads (edited, or from another version) is RunDirError; an override that cannot be used, ConfigError."""
    try:
        config = saved_config(saved["config"])
    except ConfigError as error:
        raise RunDirError(f"{path}'s saved config no longer loads ({error}): restore a copy or retrain into a new --out") from None
    return saved_config(saved["config"], overrides) if overrides else config


def training_device(config: RunConfig) -> torch.device:
    """The device a run trained on, where this machine has it (else the CPU): where it is evaluated by default."""
    accelerator = config.train.accelerator
    if accelerator in ("cuda", "gpu", "auto") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def load_run_weights(method: Method, state: dict[str, Any], run_dir: Path, config: RunConfig) -> None:
    """The trained weights of the run in `run_dir` loaded into `method`; weights that do not fit networks passed
    from Python (net.backbone=custom) are a ConfigError naming the classes the run was trained with."""
    try:
        load_weights(method, state, run_dir / CHECKPOINT)
    except RunDirError:
        if config.net.backbone != CUSTOM:
            raise
        raise ConfigError(f"the modules passed do not fit {run_dir}'s trained weights: pass modules of the "
                          f"architecture it was trained with{networks_text(recorded_networks(run_dir))}") from None


def load_trained(run_dir: str | Path, device: str | torch.device | None = None, overrides: dict[str, Any] | None = None,
                 other_data: Callable[[RunConfig], Dataset] | None = None) -> tuple[RunConfig, Setup]:
    """Rebuild a run's config, data and method from its directory, with the trained weights loaded.
    `overrides` (a nested dict, e.g. {"eval": {"mlp_steps": 500}}) are merged into the saved config;
    `other_data` loads another dataset in place of the run's own, which must have the run's image shape;
    `device` None is the run's `training_device`."""
    device = None if device is None else usable_device(device)
    path = Path(run_dir) / CHECKPOINT
    saved = load_checkpoint(path)
    config = checkpoint_config(saved, path, overrides)
    dataset = other_data(config) if other_data else None
    setup = build(config, dataset)
    try:
        load_run_weights(setup.method, saved["model"], Path(run_dir), config)
    except RunDirError:
        if dataset is None:
            raise
        raise ConfigError(f"{dataset.name}'s images {'x'.join(map(str, dataset.image_shape))} do not fit the run's "
                          f"networks (trained on {config.data.name}): evaluate on data of the run's image shape") from None
    setup.method.to(training_device(config) if device is None else device).eval()
    setup.step, setup.finished = saved["step"], saved.get("finished", False)
    return config, setup
