"""Fixed embeddings with known structure for the probe tests: Gaussian blobs around class centres shared by every
split, so a probe fitted on train can be judged on val and test."""

from __future__ import annotations

import pytest
import torch

SPLITS = ("train", "val", "test")


def blobs(n: int, classes: int = 3, dim: int = 4, spread: float = 0.3, seed: int = 0,
          centre_seed: int = 42) -> tuple[torch.Tensor, torch.Tensor]:
    centres = torch.randn(classes, dim, generator=torch.Generator().manual_seed(centre_seed)) * 3
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(classes).repeat(n // classes + 1)[:n]
    return centres[labels] + spread * torch.randn(n, dim, generator=generator), labels


def make_splits(n: int = 180, **kwargs) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """{split: features}, {split: labels}; val and test have the size of train."""
    features, labels = {}, {}
    for i, split in enumerate(SPLITS):
        features[split], labels[split] = blobs(n, seed=i, **kwargs)
    return features, labels


@pytest.fixture
def splits():
    return make_splits
