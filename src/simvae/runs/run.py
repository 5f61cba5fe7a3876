"""A trained run as a Python object: `load_run("runs/x")` rebuilds the method from the checkpoint alone (no dataset
needed), so a researcher can embed their own images with two lines:

    run = simvae.load_run("runs/x")
    z = run.encode(images)          # uint8 (N, C, H, W) or float in [0, 1] -> (N, d)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from simvae.augment import ViewAugmenter
from simvae.config import RunConfig
from simvae.devices import usable_device
from simvae.errors import InputError, RunDirError
from simvae.methods import Method, ModelSpec
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint, load_weights
from simvae.runs.setup import build, checkpoint_config, dataset_from_spec, training_device

METRICS = "metrics.json"


@dataclass
class Run:
    """A trained method with its config; `encode`, `reconstruct` and `sample` take and give tensors on `device`."""

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

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images (scaled, and binarised where the run's preset does) or float images in [0, 1], as the
        model saw clean images in evaluation."""
        shape = tuple(images.shape[1:])
        if images.dim() != 4 or shape != self.spec.image_shape:
            raise InputError(f"images must be (N, {', '.join(map(str, self.spec.image_shape))}) like the training data, "
                             f"got {tuple(images.shape)}")
        if images.dtype == torch.uint8:
            return self.augmenter.clean(images.to(self.device))
        if not images.is_floating_point():
            raise InputError(f"images must be uint8 or float in [0, 1], got {images.dtype}")
        return images.to(self.device, torch.float32)

    @torch.no_grad()
    def encode(self, images: torch.Tensor, representation: str | None = None, batch: int = 1024) -> torch.Tensor:
        """The representation the run is evaluated on (posterior mean / pre-head features), or the one named
        (e.g. "head" for a discriminative method's projection head)."""
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
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Decoded posterior means of the images, in [0, 1] (generative methods only)."""
        return self._generative("reconstruct")(self.prepare(images))

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        """n images drawn from the model's prior, in [0, 1] (generative methods only)."""
        return self._generative("sample")(n)


def load_run(path: str | Path, device: str | torch.device | None = None) -> Run:
    """The trained run in directory `path`, in eval mode on `device` (default: where it trained, if this
    machine has it, else the CPU), rebuilt without its dataset."""
    path = Path(path)
    device = None if device is None else usable_device(device)
    saved = load_checkpoint(path / CHECKPOINT)
    if "data_spec" not in saved:
        raise RunDirError(f"{path} was trained before checkpoints described their data: use "
                          "simvae.runs.load_trained, which reloads the dataset, or retrain")
    config = checkpoint_config(saved, path / CHECKPOINT)
    setup = build(config, dataset_from_spec(saved["data_spec"]))
    load_weights(setup.method, saved["model"], path / CHECKPOINT)
    device = training_device(config) if device is None else device
    setup.method.to(device).eval()
    return Run(path, config, setup.method, setup.augmenter.to(device), setup.spec, saved["step"], saved["finished"])
