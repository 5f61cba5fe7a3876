"""Weights & Biases behind Lightning Fabric's Logger interface (`train.loggers=[wandb]`; `pip install simvae[wandb]`).

Lightning Fabric ships CSV and TensorBoard loggers but none for W&B (W&B's own Fabric integration needs the full
`lightning` package), so this is the small adapter: one W&B run per simvae run, kept in RUN/logs/wandb, its id saved
there so that resumes and evaluations continue the same W&B run. Points are logged against simvae's optimiser step
as the x axis (a W&B metric "step"), so a resumed run that logs a step again does not trip W&B's monotonic step.
W&B's own settings apply: WANDB_MODE=offline writes the run locally only (`wandb sync RUN/logs/wandb/...` uploads
it later), WANDB_PROJECT names the project (default: simvae), WANDB_ENTITY the team.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import wandb
import yaml
from lightning_fabric.loggers import Logger

from simvae.runs.rundir import CONFIG

RUN_ID = "run_id"  # RUN/logs/wandb/run_id: the W&B run id of this simvae run


class WandbLogger(Logger):
    """Fabric Logger writing to one W&B run; created per session (training, each resume, each evaluation)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        id_file = self.root / RUN_ID
        run_dir = self.root.parent.parent
        config_file = run_dir / CONFIG
        config = yaml.safe_load(config_file.read_text()) if config_file.is_file() else None
        self.run = wandb.init(dir=str(self.root), id=id_file.read_text().strip() if id_file.is_file() else None,
                              resume="allow", name=run_dir.name, project=os.environ.get("WANDB_PROJECT", "simvae"),
                              config=config, reinit="create_new", settings=wandb.Settings(console="off", silent=True))
        if not id_file.is_file():
            id_file.write_text(self.run.id)
        self.run.define_metric("step")
        self.run.define_metric("*", step_metric="step")

    @property
    def name(self) -> str:
        return "wandb"

    @property
    def version(self) -> str:
        return self.run.id

    @property
    def root_dir(self) -> str:
        return str(self.root)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.run.log({**metrics, "step": step})

    def log_hyperparams(self, params: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        self.run.config.update(params, allow_val_change=True)

    def log_image(self, tag: str, image: torch.Tensor, step: int) -> None:
        """image (C, H, W) in [0, 1]."""
        pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).squeeze(-1).numpy()
        self.run.log({tag: wandb.Image(pixels), "step": step})

    def finalize(self, status: str) -> None:
        self.run.finish(exit_code=0 if status == "success" else 1)
