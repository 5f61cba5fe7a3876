"""Run configuration: typed dataclasses, loaded from YAML with `key=value` overrides.

Every field is checked at load: a misspelt key or an impossible value raises `ConfigError` naming it,
so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml


class ConfigError(ValueError):
    """A configuration key or value that cannot be used; the message names it and the fix."""


@dataclass
class DataConfig:
    name: str = "shapes"
    root: str | None = None  # where to look first; see `simvae data`
    val_fraction: float = 0.1  # carved from train, seeded
    limit_train: int | None = None  # keep only this many training images (quick runs)
    split_seed: int = 0

    def validate(self) -> None:
        _check(0.0 < self.val_fraction < 0.5, "data.val_fraction", self.val_fraction, "a fraction in (0, 0.5)")
        _check(self.limit_train is None or self.limit_train > 0, "data.limit_train", self.limit_train, "> 0 or null")


@dataclass
class AugmentConfig:
    preset: str = "auto"  # "auto" picks the dataset's official preset; see simvae.augment.PRESETS
    views: int = 2  # J, augmented views per image

    def validate(self) -> None:
        _check(self.views >= 1, "augment.views", self.views, ">= 1")


@dataclass
class NetConfig:
    backbone: str = "auto"  # "auto" picks the dataset's default; see simvae.nets.BACKBONES
    latent_dim: int = 10  # d: size of the representation

    def validate(self) -> None:
        _check(self.latent_dim >= 1, "net.latent_dim", self.latent_dim, ">= 1")


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 64  # images per step; each brings `augment.views` views (official: 64 x 2 = 128)
    lr: float = 1e-3
    adam_eps: float = 1e-4  # the official code's value
    weight_decay: float = 0.0
    seed: int = 1234
    checkpoint_every: int = 500  # steps; a checkpoint is also written at the end of every epoch
    log_every: int = 20  # steps between loss-curve points
    accelerator: str = "cpu"  # Lightning Fabric: cpu | cuda | gpu | auto
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "auto"  # auto | ddp
    precision: str = "32-true"  # 32-true | bf16-mixed | 16-mixed | 64-true
    sync_batchnorm: bool = False  # BatchNorm statistics over all processes (torch's SyncBatchNorm; GPUs only)
    threads: int | None = None  # torch CPU threads; null = torch's default

    def validate(self) -> None:
        for name in ("epochs", "batch_size", "checkpoint_every", "log_every", "devices", "num_nodes"):
            _check(getattr(self, name) >= 1, f"train.{name}", getattr(self, name), ">= 1")
        _check(self.lr > 0, "train.lr", self.lr, "> 0")
        _check(self.adam_eps > 0, "train.adam_eps", self.adam_eps, "> 0")
        _check(self.weight_decay >= 0, "train.weight_decay", self.weight_decay, ">= 0")
        _check(
            self.precision in ("32-true", "32", "bf16-mixed", "16-mixed", "64-true"),
            "train.precision",
            self.precision,
            "one of 32-true, bf16-mixed, 16-mixed, 64-true",
        )


# train settings that say where a run executes, not what it computes: a resume or a rerun may change them
EXECUTION_KEYS = ("devices", "num_nodes", "accelerator", "strategy", "sync_batchnorm")


@dataclass
class EvalConfig:
    probe_epochs: int = 40  # linear and MLP probes; the epoch with the best validation accuracy is kept
    probe_lr: float = 1e-3
    probe_batch_size: int = 256
    knn_k: list[int] = field(default_factory=lambda: [1, 5, 10, 20])
    gmm_n_init: int = 3
    gmm_max_train: int = 10000  # GMM is fitted on at most this many training embeddings
    max_train: int | None = None  # probe on at most this many training embeddings (null = all)
    all_representations: bool = False  # also probe secondary outputs (e.g. a projection head's)
    figures: bool = True

    def validate(self) -> None:
        _check(self.probe_epochs >= 1, "eval.probe_epochs", self.probe_epochs, ">= 1")
        _check(self.probe_lr > 0, "eval.probe_lr", self.probe_lr, "> 0")
        _check(len(self.knn_k) > 0 and min(self.knn_k) >= 1, "eval.knn_k", self.knn_k, "a non-empty list of k >= 1")
        _check(self.gmm_n_init >= 1, "eval.gmm_n_init", self.gmm_n_init, ">= 1")


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    net: NetConfig = field(default_factory=NetConfig)
    method: Any = None  # the method's own dataclass, chosen by `method.name`; see simvae.methods.METHODS
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        if self.method is None:
            from simvae.methods import method_config

            self.method = method_config("simvae")

    def validate(self) -> None:
        for section in (self.data, self.augment, self.net, self.method, self.train, self.eval):
            if hasattr(section, "validate"):
                section.validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check(ok: bool, key: str, value: Any, expected: str) -> None:
    if not ok:
        raise ConfigError(f"config value {key}={value!r} is invalid: expected {expected}")


def build_dataclass(cls: type, values: dict[str, Any], prefix: str) -> Any:
    """Build dataclass `cls` from a plain dict, recursively, rejecting unknown keys and wrong types."""
    if not isinstance(values, dict):
        raise ConfigError(f"config section {prefix or 'root'} must be a mapping, got {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        where = f" in section '{prefix}'" if prefix else ""
        raise ConfigError(f"unknown config key(s) {unknown}{where}; valid keys: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {name: _coerce(hints[name], value, f"{prefix}.{name}" if prefix else name) for name, value in values.items()}
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return build_dataclass(hint, value, key)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        last_error: ConfigError | None = None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, key)
            except ConfigError as error:
                last_error = error
        raise last_error or ConfigError(f"config value {key}={value!r} has the wrong type")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"config value {key}={value!r} is invalid: expected one of {list(args)}")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config value {key}={value!r} must be a list")
        return [_coerce(args[0], v, f"{key}[{i}]") for i, v in enumerate(value)]
    if hint is Any:
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # e.g. precision=32 from the command line
    if isinstance(hint, type) and not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"config value {key}={value!r} must be of type {getattr(hint, '__name__', hint)}")
    return value


def parse_overrides(overrides: list[str]) -> dict[str, Any]:
    """Turn ['train.epochs=3', 'method.name=vae'] into a nested dict (values parsed as YAML scalars)."""
    nested: dict[str, Any] = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.key=value, e.g. train.epochs=3")
        dotted, raw = item.split("=", 1)
        keys = dotted.strip().split(".")
        node = nested
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r} conflicts with another override of {key}")
        node[keys[-1]] = yaml.safe_load(raw) if raw.strip() else None
    return nested


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def config_from_dict(values: dict[str, Any]) -> RunConfig:
    """Validate a nested dict (as read from YAML) into a RunConfig."""
    from simvae.methods import METHODS, method_config

    values = dict(values or {})
    method_values = dict(values.pop("method", None) or {})
    name = method_values.pop("name", "simvae")
    if name not in METHODS:
        raise ConfigError(f"config value method.name={name!r} is unknown; available methods: {sorted(METHODS)}")
    config = build_dataclass(RunConfig, values, "")
    config.method = build_dataclass(type(method_config(name)), {"name": name, **method_values}, "method")
    config.validate()
    return config


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist; see configs/ for examples")
        values = yaml.safe_load(path.read_text()) or {}
    return config_from_dict(merge(values, parse_overrides(overrides or [])))
