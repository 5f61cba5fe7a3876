"""Standard experiment logs in the run directory, chosen by `train.loggers`: CSV (RUN/logs/metrics.csv, one file
per run), TensorBoard (RUN/logs/tensorboard, through Lightning Fabric's logger; `pip install simvae[tensorboard]`)
and Weights & Biases (RUN/logs/wandb, `simvae.runs.wandb_log`; `pip install simvae[wandb]`).

They receive the loss-curve points and the learning rate (every `train.log_every` steps), the probe results at the
end and, in TensorBoard and W&B, reconstructions and samples as images. `train_history.json` and `metrics.json` stay
the source of simvae's own tables and figures. Training, every resume and every evaluation append to the same
logs; points logged after the last checkpoint of an interrupted run appear twice (the resumed run logs them
again).
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from lightning_fabric.loggers import Logger, TensorBoardLogger

from simvae.errors import ConfigError, DiskFull
from simvae.output import mount_point

LOG_DIR = "logs"
CSV_FILE = "metrics.csv"
CSV_HEADER = "step,metric,value\n"


class CSVLog(Logger):
    """RUN/logs/metrics.csv, one row per logged value (`step,metric,value`), appended by every session of the run:
    the columns stay the same whatever is logged. Each call is one append of whole rows; a full disk takes the
    partial rows back off and raises DiskFull, so the file never holds half a row."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOG_DIR / CSV_FILE
        self.path.parent.mkdir(exist_ok=True)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        if os.fstat(self.fd).st_size == 0:
            self._append(CSV_HEADER)

    @property
    def name(self) -> str:
        return "csv"

    @property
    def version(self) -> None:
        return None

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass  # config.yaml holds them

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._append("".join(f"{step},{name},{float(value)!r}\n" for name, value in metrics.items()))

    def _append(self, text: str) -> None:
        data, size = text.encode(), os.fstat(self.fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as error:
            os.ftruncate(self.fd, size)
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFull(mount_point(self.path.parent), self.path, kept=True) from None
            raise

    def finalize(self, status: str) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


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
    "csv": CSVLog,
    "tensorboard": _tensorboard,  # one directory; TensorBoard reads every event file in it
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
