"""Training: the Fabric loop, atomic checkpoints and run provenance."""

from simvae.train.loop import Setup, TrainingDiverged, build, load_trained, train, train_step

__all__ = ["Setup", "TrainingDiverged", "build", "load_trained", "train", "train_step"]
