"""What `simvae train --resume RUN key=value` continues: the saved config with the few settings a resume may
change (RESUME_KEYS and eval.*), refused in one line when there is nothing to continue."""

from __future__ import annotations

from pathlib import Path

from simvae.config import RESUME_KEYS, RunConfig, parse_overrides
from simvae.errors import ConfigError
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint
from simvae.runs.setup import checkpoint_config


def resume_config(run: str, overrides: list[str], config_file: str | None = None) -> tuple[RunConfig, dict[str, str]]:
    """The config to continue run directory `run` with, and the changes the overrides make (the training loop
    records them in provenance.json once it holds the run's lock). A finished run is continued only for more
    epochs than it has reached (`train.epochs=N`)."""
    if not run.strip():
        raise ConfigError("--resume needs the run directory to continue, e.g. --resume runs/simvae-shapes-...: "
                          "give one (or drop --resume to start a new run)")
    changed = [item.split("=", 1)[0].strip() for item in overrides]
    refused = [key for key in changed if key not in RESUME_KEYS and not key.startswith("eval.")]
    if config_file or refused:
        raise ConfigError(f"--resume continues a run with its saved config; it may change only {', '.join(RESUME_KEYS)} "
                          f"and eval.*, not {refused or '--config'}: drop those, or train a new run")
    saved = load_checkpoint(Path(run) / CHECKPOINT)
    config = checkpoint_config(saved, Path(run) / CHECKPOINT, parse_overrides(overrides))
    reached = saved.get("epoch", 0)
    if saved.get("finished") and config.train.epochs <= reached:
        asked = f"train.epochs={config.train.epochs} does not extend it" if "train.epochs" in changed else "nothing is left to train"
        raise ConfigError(f"the run {run} is finished at epoch {reached} (step {saved['step']}); {asked}: to train it "
                          f"further, give more epochs, e.g. `simvae train --resume {run} train.epochs={2 * reached}`, "
                          f"or probe it with simvae eval {run}")
    return config, dict(zip(changed, (item.split("=", 1)[1] for item in overrides)))
