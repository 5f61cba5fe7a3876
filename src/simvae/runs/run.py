"""A trained run as a Python object: `load_run("runs/x")` rebuilds the method from the checkpoint alone (no dataset
needed), so a researcher can embed their own images with two lines:

    run = simvae.load_run("runs/x")
    z = run.encode(images)          # uint8 or float in [0, 1], (N, C, H, W) or (N, H, W, C), tensor or array -> (N, d)
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from simvae import nets
from simvae.augment import ViewAugmenter
from simvae.config import RunConfig
from simvae.devices import usable_device
from simvae.errors import ConfigError, InputError, RunDirError
from simvae.methods import Method, ModelSpec
from simvae.nets.custom import CUSTOM, missing_network_message
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint
from simvae.runs.rundir import recorded_networks
from simvae.runs.setup import build, checkpoint_config, dataset_from_spec, load_run_weights, training_device

METRICS = "metrics.json"


@dataclass(repr=False)
class Run:
    """A trained method with its config; `encode`, `reconstruct` and `sample` take tensors or NumPy arrays and give
    tensors on `device`."""

    path: Path
    config: RunConfig
    method: Method
    augmenter: ViewAugmenter
    spec: ModelSpec
    step: int
    finished: bool

    @property
    def device(self) -> torch.device:
        return next(self.method.parameters()).device

    @property
    def metrics(self) -> dict[str, Any] | None:
        """The run's last evaluation (metrics.json), or None before `simvae eval`."""
        path = self.path / METRICS
        return json.loads(path.read_text()) if path.is_file() else None

    def __repr__(self) -> str:
        return (f"Run(method={self.config.method.name}, data={self.config.data.name}, step={self.step}"
                f"{'' if self.finished else ' (unfinished)'}, path={str(self.path)!r})")

    def channels_first(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        """`images` as a tensor (N, C, H, W) of the run's image shape, from (N, C, H, W), (N, H, W, C) or, for grey
        runs, (N, H, W); the layout is read from the run's image shape, which no other layout matches (C is 1 or 3
        and the sides are at least 8)."""
        images = torch.from_numpy(np.ascontiguousarray(images)) if isinstance(images, np.ndarray) else images
        channels, height, width = self.spec.image_shape
        shape = tuple(images.shape[1:])
        if images.dim() == 4 and shape == (height, width, channels) and shape != self.spec.image_shape:
            return images.permute(0, 3, 1, 2)
        if images.dim() == 3 and channels == 1 and shape == (height, width):
            return images.unsqueeze(1)
        if images.dim() != 4 or shape != self.spec.image_shape:
            grey = f" or (N, {height}, {width})" if channels == 1 else ""
            raise InputError(f"images must be (N, {channels}, {height}, {width}) or (N, {height}, {width}, {channels}){grey} "
                              f"like the training data, got {tuple(images.shape)}")
        return images

    def prepare(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        """uint8 images (scaled, and binarised where the run's preset does) or float images in [0, 1], as the
        model saw clean images in evaluation; any layout `channels_first` reads."""
        images = self.channels_first(images)
        if images.dtype == torch.uint8:
            return self.augmenter.clean(images.to(self.device))
        if not images.is_floating_point():
            raise InputError(f"images must be uint8 or float in [0, 1], got {images.dtype}")
        return images.to(self.device, torch.float32)

    @torch.no_grad()
    def encode(self, images: torch.Tensor | np.ndarray, representation: str | None = None, batch: int = 1024) -> torch.Tensor:
        """The representation the run is evaluated on (posterior mean / pre-head features), or the one named
        (e.g. "head" for a discriminative method's projection head): (N, d) float32."""
        images = self.channels_first(images)
        parts = []
        for start in range(0, len(images), batch):
            outputs = self.method.representations(self.prepare(images[start:start + batch]))
            name = representation or next(iter(outputs))
            if name not in outputs:
                raise InputError(f"{self.config.method.name} has no representation {name!r}; it has {sorted(outputs)}")
            parts.append(outputs[name].float())
        return torch.cat(parts)

    def _generative(self, what: str) -> Any:
        if not hasattr(self.method, what):
            raise InputError(f"{self.config.method.name} is not a generative method: it has no {what}; use a VAE-family run")
        return getattr(self.method, what)

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Decoded posterior means of the images, (N, C, H, W) in [0, 1] (generative methods only)."""
        return self._generative("reconstruct")(self.prepare(images))

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        """n images drawn from the model's prior, in [0, 1] (generative methods only)."""
        return self._generative("sample")(n)


def load_run(path: str | Path, device: str | torch.device | None = None, encoder: nn.Module | None = None,
             decoder: nn.Module | None = None) -> Run:
    """The trained run in directory `path`, in eval mode on `device` (default: where it trained, if this
    machine has it, else the CPU), rebuilt without its dataset. A run trained with your own networks
    (net.backbone=custom) needs modules of the same architecture as `encoder` (and `decoder`): the trained
    weights are loaded into them."""
    path = Path(path)
    device = None if device is None else usable_device(device)
    saved = load_checkpoint(path / CHECKPOINT)
    if "data_spec" not in saved:
        raise RunDirError(f"{path} was trained before checkpoints described their data: use "
                          "simvae.runs.load_trained, which reloads the dataset, or retrain")
    net = saved["config"].get("net")  # an edited config (no net section) is diagnosed by checkpoint_config below
    backbone = net.get("backbone") if isinstance(net, dict) else None
    custom = backbone == CUSTOM
    if custom and encoder is None and CUSTOM not in nets.BACKBONES:
        raise ConfigError(f"{path}: {missing_network_message(recorded_networks(path))}")
    if encoder is not None and not custom:
        raise ConfigError(f"{path} was trained with net.backbone={backbone}, not your own "
                          "network: load it without encoder=/decoder=")
    with nets.provided(encoder, decoder) if encoder is not None else contextlib.nullcontext():
        config = checkpoint_config(saved, path / CHECKPOINT)
        setup = build(config, dataset_from_spec(saved["data_spec"]))
    load_run_weights(setup.method, saved["model"], path, config)
    device = training_device(config) if device is None else device
    setup.method.to(device).eval()
    return Run(path, config, setup.method, setup.augmenter.to(device), setup.spec, saved["step"], saved["finished"])

