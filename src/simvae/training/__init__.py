"""Training: the Fabric loop and what guards it (sync-free NaN check, SIGTERM checkpoints, run-directory lock)."""

from simvae.training.loop import train, train_step

__all__ = ["train", "train_step"]
