"""Standard experiment logs in the run directory, through Lightning Fabric's loggers: CSV
(RUN/logs/csv/version_N/metrics.csv, one version per session), TensorBoard (RUN/logs/tensorboard;
`pip install simvae[tensorboard]`) and Weights & Biases (RUN/logs/wandb, `simvae.runs.wandb_log`;
`pip install simvae[wandb]`), chosen by `train.loggers`.

They receive the loss-curve points and the learning rate (every `train.log_every` steps), the probe results at the
end and, in TensorBoard and W&B, reconstructions and samples as images. `train_history.json` and `metrics.json` stay the
source of simvae's own tables and figures. A resumed run appends to the same logs; points logged after the
last checkpoint of an interrupted run appear twice (the resumed run logs them again).
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from pathlib import Path
from typing import Any

import torch
from lightning_fabric.loggers import CSVLogger, Logger, TensorBoardLogger

from simvae.errors import ConfigError

LOG_DIR = "logs"


def _tensorboard(run_dir: Path) -> Logger:
    try:
        return TensorBoardLogger(root_dir=run_dir / LOG_DIR, name="tensorboard", version="")
    except ModuleNotFoundError:
        raise ConfigError("train.loggers names tensorboard, which is not installed: `pip install simvae[tensorboard]` "
                          "(or tensorboardX), or set train.loggers=[csv]") from None


def _wandb(run_dir: Path) -> Logger:
    if importlib.util.find_spec("wandb") is None:
        raise ConfigError("train.loggers names wandb, which is not installed: `pip install simvae[wandb]`, "
                          "or drop wandb from train.loggers")
    # imported only here: wandb takes a second to import, which no run that does not log to it should pay
    return importlib.import_module("simvae.runs.wandb_log").WandbLogger(run_dir / LOG_DIR / "wandb")


LOGGERS = {
    # a new CSV version per session (training, each resume, each evaluation): Lightning's CSV writer
    # deletes an existing metrics.csv; TensorBoard keeps one directory and reads every event file in it
    "csv": lambda run_dir: CSVLogger(root_dir=run_dir / LOG_DIR, name="csv", flush_logs_every_n_steps=1),
    "tensorboard": _tensorboard,
    "wandb": _wandb,
}


def make_loggers(names: list[str], run_dir: Path) -> list[Logger]:
    with warnings.catch_warnings():  # "directory exists and is not empty": expected when a run resumes
        warnings.simplefilter("ignore")
        return [LOGGERS[name](Path(run_dir)) for name in names]


def log_metrics(loggers: list[Logger], metrics: dict[str, float], step: int) -> None:
    for logger in loggers:
        logger.log_metrics(metrics, step)


def probe_metrics(results: dict[str, Any]) -> dict[str, float]:
    """{"probe/<representation>/<task>/<probe>": test accuracy} from an evaluation's results (tasks that could not
    be measured, None there, are left out)."""
    return {f"probe/{rep}/{task}/{probe}": scores["test"] for rep, tasks in results.items()
            for task, probes in tasks.items() if probes is not None for probe, scores in probes.items()}


def log_images(loggers: list[Logger], tag: str, images: torch.Tensor, step: int) -> None:
    """A grid of images (N, C, H, W) in [0, 1], for the loggers that show images (TensorBoard, W&B)."""
    rows = images.clamp(0, 1).cpu()
    grid = torch.cat(list(rows), dim=-1)  # one row of N images side by side: (C, H, N * W)
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(tag, grid, step)
        elif logger.name == "wandb":
            logger.log_image(tag, grid, step)


def close(loggers: list[Logger]) -> None:
    for logger in loggers:
        logger.finalize("success")
