"""Run configuration: typed dataclasses, loaded from YAML with `key=value` overrides.

Every field is checked at load: a misspelt key or an impossible value raises `ConfigError` naming it,
so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import yaml

from simvae.augment import PRESETS, LocalCrops, check_local_crops, check_ops
from simvae.config_files import find_config
from simvae.config_keys import EXECUTION_KEYS, MONITOR_KEYS, RESUME_KEYS, TRAINING_SECTIONS  # noqa: F401  (re-exported)
from simvae.data import DATASETS
from simvae.data.tensors import CUSTOM as DATA_CUSTOM
from simvae.errors import ConfigError
from simvae.fields import NUMPY_SEEDS, TORCH_SEEDS, bounded, check_bounds, shown
from simvae.methods import METHODS, MethodConfig, method_config
from simvae.nets import BACKBONES
from simvae.nets.custom import CUSTOM
from simvae.yamlfile import load_yaml

Precision = Literal["32-true", "32", "bf16-mixed", "16-mixed", "64-true"]  # Lightning Fabric's names
# the dtype each precision computes its matmuls in (bench measures the peak of that dtype)
PRECISION_DTYPES: dict[str, torch.dtype] = {"32-true": torch.float32, "32": torch.float32, "bf16-mixed": torch.bfloat16,
                                            "16-mixed": torch.float16, "64-true": torch.float64}


@dataclass
class DataConfig:
    name: str = "shapes"
    root: str | None = None  # where to look first; see `simvae data`
    val_fraction: float = bounded(0.1, gt=0, lt=0.5)  # carved from train, seeded
    limit_train: int | None = bounded(None, ge=1)  # keep only this many training images (quick runs)
    split_seed: int = bounded(0, ge=0, le=TORCH_SEEDS)
    image_size: int | None = bounded(None, ge=8)  # folder data: resize to this square size (null: the common size)


@dataclass
class AugmentConfig:
    preset: str = "auto"  # "auto" picks the dataset's official preset; see simvae.augment.PRESETS
    views: int = bounded(2, ge=1)  # J, augmented views per image
    # operations and their parameters, e.g. [{crop: {scale: [0.4, 1]}}, {hflip: {p: 0.5}}]; replaces the
    # preset when non-empty (docs/augmentations.md)
    ops: list[dict[str, Any]] | None = None
    # multi-crop (dino, swav): {number, size, scale} of the small views beside the J global ones; null = none. Other
    # methods take the global views only, and their resolved config records null here
    local_crops: LocalCrops | None = field(default_factory=LocalCrops)


@dataclass
class NetConfig:
    backbone: str = "auto"  # "auto" picks the dataset's default; see simvae.nets.BACKBONES
    latent_dim: int = bounded(10, ge=1)  # d: size of the representation


@dataclass
class TrainConfig:
    epochs: int = bounded(10, ge=1)
    batch_size: int = bounded(64, ge=1)  # images per step; each brings `augment.views` views (official: 64 x 2 = 128)
    lr: float = bounded(1e-3, gt=0)
    adam_eps: float = bounded(1e-4, gt=0)  # the official code's value
    weight_decay: float = bounded(0.0, ge=0)
    # the learning rate per optimiser step (simvae.training.schedule): constant, or a linear warm-up over
    # warmup_epochs (a fraction is fine) then a cosine decay to 0 at the last step
    schedule: Literal["constant", "warmup-cosine"] = "constant"
    warmup_epochs: float = bounded(0.0, ge=0)
    seed: int = bounded(1234, ge=0, le=NUMPY_SEEDS)
    checkpoint_every: int = bounded(500, ge=1)  # steps; a checkpoint is also written at the end of every epoch
    log_every: int = bounded(20, ge=1)  # steps between loss-curve points
    accelerator: Literal["cpu", "cuda", "gpu", "mps", "auto"] = "cpu"  # Lightning Fabric's
    devices: int = bounded(1, ge=1)
    num_nodes: int = bounded(1, ge=1)
    strategy: Literal["auto", "ddp"] = "auto"
    precision: Precision = "32-true"
    sync_batchnorm: bool = False  # BatchNorm statistics over all processes (torch's SyncBatchNorm; GPUs only)
    threads: int | None = bounded(None, ge=1)  # torch CPU threads; null = torch's default
    loggers: list[Literal["csv", "tensorboard", "wandb"]] = field(default_factory=lambda: ["csv"])  # RUN/logs/<name>
    compile: Literal["none", "default", "reduce-overhead"] = "none"  # torch.compile of the method (docs/scaling.md)
    tf32: bool = True  # CUDA: float32 matmuls and convolutions in TF32 (docs/scaling.md, Speed settings)
    eval_every: int | None = bounded(None, ge=1)  # epochs between learning-curve probes (RUN/curve/); null = none


@dataclass
class EvalConfig:
    # linear probe: logistic regression fitted to convergence (L-BFGS), its L2 strength (scikit-learn's C) chosen on val
    linear_C: list[float] = bounded(default_factory=lambda: [0.001, 0.01, 0.1, 1.0, 10.0], gt=0)
    linear_max_iter: int = bounded(1000, ge=1)  # L-BFGS iterations per C (convergence is recorded in metrics.json)
    # MLP probe (d -> d -> classes): Adam for a budget of steps, not epochs (the same work for 300 images as for
    # 30,000), early-stopped on val accuracy; decoupled weight decay chosen on val
    mlp_steps: int = bounded(3000, ge=1)
    mlp_lr: float = bounded(3e-3, gt=0)  # with 1e-3, 2,000 steps under-fit 10,000 embeddings by ~2 points (README)
    mlp_batch_size: int = bounded(256, ge=1)
    mlp_weight_decay: list[float] = bounded(default_factory=lambda: [0.0, 0.1, 1.0], ge=0)
    mlp_eval_every: int = bounded(50, ge=1)  # steps between validation checks
    mlp_patience: int | None = bounded(10, ge=1)  # checks without improvement before stopping (null: the whole budget)
    knn_k: list[int] = bounded(default_factory=lambda: [1, 5, 10, 20], ge=1)
    gmm_n_init: int = bounded(3, ge=1)
    gmm_max_train: int = bounded(10000, ge=1)  # GMM is fitted on at most this many training embeddings
    max_train: int | None = bounded(None, ge=1)  # probe on at most this many training embeddings (null = all)
    all_representations: bool = False  # also probe secondary outputs (e.g. a projection head's)
    # DCI, MIG and SAP over every labelled factor (docs/metrics.md): DCI's L1 strength, MIG's bins per code dimension
    disentanglement: bool = True
    dci_l1: float = bounded(0.01, gt=0)
    mig_bins: int = bounded(20, ge=2)
    # learning-curve probes every train.eval_every epochs: the linear probe and kNN, on fewer training embeddings
    curve_max_train: int | None = bounded(5000, ge=1)
    figures: bool = True


# evaluation settings of earlier versions, and what replaced them: a saved run's config may still hold them (they
# are dropped: evaluation settings never change what a run is); given by a user, they are refused naming the successor
RETIRED_EVAL_KEYS = {
    "probe_epochs": "eval.mlp_steps (the MLP probe trains for a budget of steps; the linear probe is fitted to convergence)",
    "probe_lr": "eval.mlp_lr", "probe_batch_size": "eval.mlp_batch_size",
    "curve_probe_epochs": "nothing (the curves' linear probe is fitted to convergence; eval.curve_max_train sizes it)",
}


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    net: NetConfig = field(default_factory=NetConfig)
    method: MethodConfig = field(default_factory=lambda: method_config("simvae"))  # chosen by `method.name`
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def validate(self) -> None:
        """What can be checked from the config alone, before any data is read."""
        for name in ("data", "augment", "net", "method", "train", "eval"):
            check_bounds(getattr(self, name), name)
        if self.train.warmup_epochs >= self.train.epochs:
            raise ConfigError(f"config value train.warmup_epochs={self.train.warmup_epochs:g} is invalid: the warm-up must "
                              f"end before the last epoch (train.epochs={self.train.epochs})")
        # data.name=custom (data passed from Python) is checked where it is needed: loading the data
        if self.data.name not in {*DATASETS, DATA_CUSTOM}:
            raise ConfigError(f"config value data.name={self.data.name!r}: unknown dataset {self.data.name!r};"
                              f"{did_you_mean(self.data.name, DATASETS)} available: {sorted(DATASETS)} (see `simvae data`)")
        needed = METHODS[self.method.name].min_views
        if self.augment.views < needed:
            raise ConfigError(f"config value augment.views={self.augment.views} is invalid: "
                              f"{self.method.name} needs at least {needed} views")
        # net.backbone=custom (networks passed from Python) is checked where they are needed: building the method
        for key, value, known in (("net.backbone", self.net.backbone, {*BACKBONES, CUSTOM}),
                                  ("augment.preset", self.augment.preset, PRESETS)):
            if value != "auto" and value not in known:
                raise ConfigError(f"config value {key}={value!r} is unknown;{did_you_mean(value, known)} "
                                  f"available: auto, {', '.join(sorted(known))}")
        if self.augment.ops is not None:
            check_ops(self.augment.ops)
        if self.augment.local_crops is not None:
            check_local_crops(self.augment.local_crops)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def did_you_mean(name: Any, known: Any) -> str:
    """' did you mean 'x'?' for the closest of `known` to a misspelt `name` (empty when none is close)."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f" did you mean {close[0]!r}?" if close else ""


def build_dataclass(cls: type, values: dict[str, Any], prefix: str) -> Any:
    """Build dataclass `cls` from a plain dict, recursively, rejecting unknown keys and wrong types."""
    if not isinstance(values, dict):
        raise ConfigError(f"config section {prefix or 'root'} must be a mapping, got {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields), key=str)
    if unknown:
        where = f" in section '{prefix}'" if prefix else ""
        raise ConfigError(f"unknown config key(s) {shown(unknown)}{where};{did_you_mean(unknown[0], fields)} "
                          f"valid keys: {sorted(fields)}")
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
        raise last_error or ConfigError(f"config value {key}={shown(value)} has the wrong type")
    if origin is Literal:
        if not isinstance(value, typing.Hashable) or value not in args:
            raise ConfigError(f"config value {key}={shown(value)} is invalid: expected one of {list(args)}")
        return value
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config value {key}={shown(value)} must be a mapping")
        return {k: _coerce(args[1], v, f"{key}.{k}") for k, v in value.items()}
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config value {key}={shown(value)} must be a list")
        return [_coerce(args[0], v, f"{key}[{i}]") for i, v in enumerate(value)]
    if hint is Any:
        return value
    if hint in (int, float) and isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        value = float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string; a person means the number
        if hint is int and value.is_integer():
            value = int(value)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):  # .inf passes every lower bound; nan fails them with a misleading message
            raise ConfigError(f"config value {key}={value!r} is not a finite number: give a number, e.g. {key}=0.001")
        return float(value)
    if hint is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # e.g. precision=32 from the command line
    if isinstance(hint, type) and not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"config value {key}={shown(value)} must be of type {getattr(hint, '__name__', hint)}")
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
        node[keys[-1]] = _yaml_value(raw, f"override {item!r}") if raw.strip() else None
    return nested


def _yaml_value(text: str, where: str) -> Any:
    """YAML text parsed, or ConfigError naming `where` and the parser's complaint on one line."""
    try:
        return load_yaml(text)
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        if hasattr(error, "fix"):  # valid YAML that simvae does not read (too deep, an alias bomb, a key twice)
            raise ConfigError(f"{where} is refused: {problem}{at}; {error.fix}") from None
        raise ConfigError(f"{where} is not valid YAML ({problem}{at}): fix the syntax, e.g. close brackets "
                          "and indent with spaces, not tabs") from None


def read_yaml_file(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """A YAML mapping from `path`; a missing, binary or malformed file, or one that is not a mapping,
    raises ConfigError in one line naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist; see configs/ for examples")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path} is not a text file (not UTF-8): pass a YAML file, see configs/") from None
    except OSError as error:
        raise ConfigError(f"{what} {path} cannot be read ({error.strerror}): check its permissions") from None
    values = _yaml_value(text, f"{what} {path}")
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{what} {path} must hold a mapping of sections (data:, train:, ...), "
                          f"not a {type(values).__name__}: see configs/ for examples")
    return values


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def config_from_dict(values: dict[str, Any]) -> RunConfig:
    """Validate a nested dict (as read from YAML) into a RunConfig."""
    values = dict(values or {})
    retired = sorted(set(values.get("eval") or {}) & set(RETIRED_EVAL_KEYS)) if isinstance(values.get("eval"), dict) else []
    if retired:
        raise ConfigError(f"config key eval.{retired[0]} was retired: use {RETIRED_EVAL_KEYS[retired[0]]}")
    method_values = dict(values.pop("method", None) or {})
    name = method_values.pop("name", "simvae")
    if not isinstance(name, str) or name not in METHODS:
        raise ConfigError(f"config value method.name={shown(name)} is unknown;{did_you_mean(name, METHODS)} "
                          f"available methods: {sorted(METHODS)}")
    config = build_dataclass(RunConfig, values, "")
    config.method = build_dataclass(type(method_config(name)), {"name": name, **method_values}, "method")
    if not METHODS[name].uses_local_crops:
        config.augment.local_crops = None  # what the run uses, so a shared augment section leaves other runs as they were
    config.validate()
    return config


def saved_config(values: dict[str, Any], overrides: dict[str, Any] | None = None) -> RunConfig:
    """A run's saved config (checkpoint or config.yaml), read by a later version — its retired evaluation keys
    dropped — with `overrides` (a nested dict) merged in."""
    values = dict(values or {})
    if isinstance(values.get("eval"), dict):
        values["eval"] = {key: value for key, value in values["eval"].items() if key not in RETIRED_EVAL_KEYS}
    return config_from_dict(merge(values, overrides or {}))


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    """The run config from a YAML file or the name of a shipped one (`fashion-mnist`; None: the defaults),
    with `section.key=value` overrides."""
    values = read_yaml_file(find_config(path)) if path is not None else {}
    return config_from_dict(merge(values, parse_overrides(overrides or [])))
