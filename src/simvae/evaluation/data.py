"""Another labelled dataset to probe a trained run on (`simvae eval RUN --data NAME --root PATH`)."""

from __future__ import annotations

from dataclasses import dataclass

from simvae.config import RunConfig
from simvae.data import Dataset, load_dataset


@dataclass(frozen=True)
class EvalData:
    """A dataset named as `simvae data` lists them; its own train/val/test splits (val carved with the run's
    data.val_fraction and data.split_seed) serve the probes exactly as the run's own splits would."""

    name: str
    root: str | None = None

    def load(self, config: RunConfig) -> Dataset:
        return load_dataset(self.name, self.root, config.data.val_fraction, config.data.split_seed)

