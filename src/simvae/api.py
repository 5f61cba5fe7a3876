"""The public Python API: what the CLI does, as functions (`simvae/__init__.py` exports exactly these).

    run = simvae.train("fashion-mnist", out="runs/fm", train={"epochs": 5})  # a shipped config, or a YAML path
    metrics = simvae.evaluate("runs/fm", mlp_steps=500)
    z = simvae.load_run("runs/fm").encode(images)

Your own network and data: `simvae.train(..., encoder=MyEncoder(), decoder=MyDecoder(), data=my_dataset)` (the
shapes they must have: simvae.nets.custom; the data forms: simvae.data.tensors).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from simvae import data as datasets
from simvae import nets
from simvae.config import RunConfig, config_from_dict, load_config, merge
from simvae.errors import ConfigError
from simvae.evaluation import evaluate_run
from simvae.evaluation.curves import curve_hook
from simvae.experiments.compare import check_same_config
from simvae.runs.checkpoint import CHECKPOINT
from simvae.runs.run import Run, load_run
from simvae.training.loop import train as train_loop


def provided(encoder: nn.Module | None = None, decoder: nn.Module | None = None, data: Any = None,
             progress: bool = True) -> contextlib.AbstractContextManager:
    """Within the block, net.backbone=custom builds around `encoder`/`decoder` and data.name=custom is `data`."""
    if decoder is not None and encoder is None:
        raise ConfigError("decoder= needs encoder= too: pass your encoder, mapping images (N, C, H, W) to "
                          "(N, 2 x net.latent_dim) means and log-variances")
    stack = contextlib.ExitStack()
    with stack:
        if encoder is not None:
            stack.enter_context(nets.provided(encoder, decoder))
        if data is not None:
            stack.enter_context(datasets.provided(data, progress))
        return stack.pop_all()


def is_data_section(data: Any) -> bool:
    """Whether `data=` holds config settings (data.name, data.root, ...) rather than data: a mapping without images."""
    return isinstance(data, Mapping) and "images" not in data


def _custom_sections(sections: dict[str, Any], encoder: nn.Module | None, data: Any) -> dict[str, Any]:
    """`sections` with net.backbone=custom when an encoder is passed and data.name=custom when data is."""
    sections = dict(sections)
    for given, section, key, value in ((encoder, "net", "backbone", nets.CUSTOM), (data, "data", "name", datasets.CUSTOM)):
        if given is None:
            continue
        named = dict(sections.get(section) or {})
        if named.get(key, value) != value:
            raise ConfigError(f"{section}={{'{key}': {named[key]!r}}} contradicts the {section} passed as an argument: drop one")
        sections[section] = {**named, key: value}
    return sections


def train(config: RunConfig | str | Path | dict[str, Any] | None = None, *, out: str | Path,
          evaluate: bool = True, progress: bool = True, encoder: nn.Module | None = None,
          decoder: nn.Module | None = None, data: Any = None, **sections: dict[str, Any]) -> Run:
    """Train a run into `out` (resuming it if `out` holds an unfinished one made with the same settings; other
    settings are refused, naming them), evaluate it, and return it loaded.

    `config` is a RunConfig, a YAML path or the name of a shipped config (`fashion-mnist`), a nested dict, or None
    for the defaults; `sections` override it section by section, e.g. `train={"epochs": 3}, method={"name": "vae"}`.

    `encoder` (and, for the generative methods, `decoder`): your own networks, trained in place (the returned
    Run's method holds these very modules), recorded as net.backbone=custom and, in provenance.json, their
    class names. Shapes (checked with one dummy batch before training; a mismatch is a ConfigError naming them):
    encoder: images (N, C, H, W) float in [0, 1] -> (N, 2 x net.latent_dim) means and log-variances for the
    generative methods, (N, net.latent_dim) for the others; decoder: (N, net.latent_dim) -> (N, C, H, W) pixel
    logits. Seed them yourself: simvae seeds what it builds, not modules it is given.
    `data`: your images and labels (a torch Dataset, a tuple of tensors, or a mapping with "images" and "content":
    simvae.data.tensors), recorded as data.name=custom, split like an .npz file; a mapping without "images" is the
    data section of the config, as the other sections (e.g. `data={"name": "fashion-mnist"}`). Evaluating or
    reloading such a run needs them again: `simvae.evaluate(path, encoder=..., data=...)`, `simvae.load_run(path,
    encoder=...)`.
    """
    if is_data_section(data):
        sections, data = {**sections, "data": data}, None
    if isinstance(config, RunConfig):
        config = config.to_dict()
    base = load_config(config).to_dict() if isinstance(config, (str, Path)) else dict(config or {})
    out = Path(out)
    with provided(encoder, decoder, data, progress):
        resolved = config_from_dict(merge(base, _custom_sections(sections, encoder, data)))
        check_same_config(resolved, out)
        train_loop(resolved, out, resume=(out / CHECKPOINT).is_file(), progress=progress,
                   on_epoch_end=curve_hook(resolved, out))
        if evaluate:
            evaluate_run(out, progress=progress)
        return load_run(out)


def evaluate(run_dir: str | Path, device: str | torch.device | None = None, progress: bool = True, *,
             encoder: nn.Module | None = None, decoder: nn.Module | None = None, data: Any = None,
             **eval_settings: Any) -> dict[str, Any]:
    """Probe a trained run (as `simvae eval RUN eval.key=value`) on `device` (default: where it trained);
    returns what metrics.json holds. A run trained with your own `encoder`/`decoder` or `data` needs them again
    (modules of the same architecture: the run's weights are loaded into them)."""
    with provided(encoder, decoder, data, progress):
        return evaluate_run(run_dir, progress=progress, device=device, overrides={"eval": eval_settings})


__all__ = ["Run", "evaluate", "load_run", "train"]
