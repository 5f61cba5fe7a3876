"""Training: the Fabric loop, atomic checkpoints and run provenance."""

from simvae.train.loop import Setup, build, load_trained, train, train_step

__all__ = ["Setup", "build", "load_trained", "train", "train_step"]
