"""What every probe shares: standardised features, accuracy, and the guard against tasks that cannot be measured."""

from __future__ import annotations

import torch

# below this many validation images per class, a setting chosen on validation is mostly noise
MIN_VAL_PER_CLASS = 5


def standardise(train: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    """Scale every split by the training split's per-dimension mean and std."""
    mean, std = train.mean(0), train.std(0).clamp_min(1e-6)
    return [(x - mean) / std for x in (train, *others)]


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return (logits.argmax(1) == labels).float().mean().item()


def unmeasurable(labels: dict[str, torch.Tensor]) -> str | None:
    """Why a label task cannot be probed (None when it can): with one class in the training split every
    probe scores 100% without learning anything."""
    present = torch.unique(labels["train"]).numel()
    if present < 2:
        return f"only {present} class in the training split"
    if len(labels["val"]) == 0 or len(labels["test"]) == 0:
        return "an empty validation or test split"
    return None


def thin_validation(labels: dict[str, torch.Tensor], classes: int) -> bool:
    """Whether the validation split has too few images per class to choose a probe's setting on."""
    return len(labels["val"]) < MIN_VAL_PER_CLASS * classes
