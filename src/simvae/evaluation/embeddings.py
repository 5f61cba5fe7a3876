"""The representations an evaluation probed, kept so that results can be re-read without the weights or the data.

`embed_splits` embeds a run's clean images once: the probes' train split (its first `eval.max_train` images), val and
test, every representation the method gives, with every label. The codes are rounded to float16 — the precision they
are stored in — *before* they are probed, so probing a saved `embeddings.npz` again gives the run's numbers exactly.

The file is a plain npz (no pickles: `numpy.load(allow_pickle=False)` reads it): `codes/<representation>/<split>`
(float16, N x d), `labels/<task>/<split>` (int64) and `meta` (a JSON string: method, dataset, step, classes, ...).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simvae.data import ImageSet
from simvae.data.npz import check_members
from simvae.errors import DataError
from simvae.output import atomic_write
from simvae.runs import Setup

SPLITS = ("train", "val", "test")
EMBEDDINGS = "embeddings.npz"
WRITE_ONE = "write one with `simvae eval RUN` or `simvae embed RUN --out FILE`"


@dataclass
class Embeddings:
    """codes: {representation: {split: (N, d) float32 holding float16 values}}; labels: {task: {split: (N,) int64}}."""

    codes: dict[str, dict[str, torch.Tensor]]
    labels: dict[str, dict[str, torch.Tensor]]
    num_classes: dict[str, int]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sizes(self) -> dict[str, int]:
        first = next(iter(self.labels.values()))
        return {split: len(first[split]) for split in SPLITS}

    def representations(self, names: list[str] | None = None) -> "Embeddings":
        """The same embeddings with only the representations `names` (in that order)."""
        names = names if names is not None else list(self.codes)
        return Embeddings({name: self.codes[name] for name in names}, self.labels, self.num_classes, self.meta)

    def save(self, path: str | Path) -> None:
        arrays = {f"codes/{rep}/{split}": codes.numpy().astype(np.float16) for rep, splits in self.codes.items()
                  for split, codes in splits.items()}
        arrays |= {f"labels/{task}/{split}": labels.numpy() for task, splits in self.labels.items()
                   for split, labels in splits.items()}
        arrays["meta"] = np.array(json.dumps({**self.meta, "num_classes": self.num_classes}))
        atomic_write(path, lambda file: np.savez_compressed(file, **arrays))

    @classmethod
    def load(cls, path: str | Path) -> "Embeddings":
        """An embeddings file written by `save`; anything else raises DataError naming the file."""
        try:
            check_members(Path(path), WRITE_ONE)  # from the headers, before anything is allocated
            with np.load(path, allow_pickle=False) as stored:
                arrays = {key: stored[key] for key in stored.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
            raise DataError(f"{path} is not a readable embeddings file ({str(error).splitlines()[0] if str(error) else type(error).__name__}): "
                            f"{WRITE_ONE}") from None
        try:
            meta = json.loads(str(arrays.pop("meta")))
            codes: dict[str, dict[str, torch.Tensor]] = {}
            labels: dict[str, dict[str, torch.Tensor]] = {}
            for key, value in arrays.items():
                kind, name, split = key.split("/")
                target = codes if kind == "codes" else labels
                tensor = torch.from_numpy(value.astype(np.float32) if kind == "codes" else value.astype(np.int64))
                target.setdefault(name, {})[split] = tensor
            num_classes = {task: int(count) for task, count in meta.pop("num_classes").items()}
            if set(labels) != set(num_classes) or any(set(s) != set(SPLITS) for s in (*codes.values(), *labels.values())):
                raise ValueError("splits or tasks missing")
        except (KeyError, ValueError, TypeError, json.JSONDecodeError) as error:
            raise DataError(f"{path} is not a simvae embeddings file ({error}): {WRITE_ONE}") from None
        return cls(codes, {task: labels[task] for task in num_classes}, num_classes, meta)


@torch.no_grad()
def embed(setup: Setup, images: torch.Tensor, device: torch.device | str = "cpu", batch: int = 1024) -> dict[str, torch.Tensor]:
    """Representations of clean (un-augmented) images: the method's posterior means / encoder outputs."""
    method = setup.method.to(device).eval()
    chunks: dict[str, list[torch.Tensor]] = {}
    for start in range(0, len(images), batch):
        x = setup.augmenter.clean(images[start:start + batch].to(device))
        for name, value in method.representations(x).items():
            chunks.setdefault(name, []).append(value.float().cpu())
    return {name: torch.cat(parts) for name, parts in chunks.items()}


def probe_splits(setup: Setup, max_train: int | None) -> dict[str, ImageSet]:
    """The probes' splits: train cut to its first `max_train` images, val and test."""
    dataset = setup.dataset
    splits = {"train": dataset.train, "val": dataset.val, "test": dataset.test}
    if max_train is not None:
        splits["train"] = dataset.train.subset(torch.arange(min(max_train, len(dataset.train))))
    return splits


def embed_splits(setup: Setup, max_train: int | None, device: torch.device | str,
                 meta: dict[str, Any] | None = None) -> Embeddings:
    """Every representation of the probes' splits, rounded to float16 (what `Embeddings.save` keeps), with labels."""
    splits = probe_splits(setup, max_train)
    by_split = {split: embed(setup, data.images, device) for split, data in splits.items()}
    codes = {rep: {split: by_split[split][rep].half().float() for split in SPLITS} for rep in by_split["train"]}
    labels = {task: {split: splits[split].labels()[task] for split in SPLITS} for task in setup.dataset.num_classes}
    return Embeddings(codes, labels, dict(setup.dataset.num_classes), dict(meta or {}))
