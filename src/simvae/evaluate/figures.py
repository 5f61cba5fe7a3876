"""PNG figures of a run: reconstructions, prior samples, 2-D latent maps and loss curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402


def _tile(images: torch.Tensor, columns: int) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one (rows*H, columns*W, C) array with 1-pixel white gutters."""
    n, c, h, w = images.shape
    rows = -(-n // columns)
    canvas = torch.ones(c, rows * (h + 1) + 1, columns * (w + 1) + 1)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        canvas[:, 1 + r * (h + 1):1 + r * (h + 1) + h, 1 + col * (w + 1):1 + col * (w + 1) + w] = image
    array = canvas.permute(1, 2, 0).clamp(0, 1).numpy()
    return array[..., 0] if c == 1 else array


def image_grid(rows: list[torch.Tensor], labels: list[str], path: Path, title: str) -> None:
    """Save stacked rows of images (each (N, C, H, W)), one labelled row each."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(len(rows[0]) * 0.6, len(rows) * 0.75 + 0.5), squeeze=False)
    for axis, row, label in zip(axes[:, 0], rows, labels):
        axis.imshow(_tile(row.float().cpu(), len(row)), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axis.set_ylabel(label, rotation=0, ha="right", va="center")
        axis.set_xticks([])
        axis.set_yticks([])
    fig.suptitle(title)
    _save(fig, path)


def latent_map(features: torch.Tensor, colourings: dict[str, tuple[torch.Tensor, list[str]]], path: Path, title: str) -> None:
    """PCA of a representation to 2-D, one panel per labelling (content first, then a style)."""
    points = PCA(n_components=2, random_state=0).fit_transform(features.numpy()) if features.shape[1] > 2 else features.numpy()
    fig, axes = plt.subplots(1, len(colourings), figsize=(4.6 * len(colourings), 4.2), squeeze=False)
    for axis, (name, (labels, names)) in zip(axes[0], colourings.items()):
        scatter = axis.scatter(points[:, 0], points[:, 1], c=labels.numpy(), cmap="tab10" if len(names) <= 10 else "tab20",
                               s=4, alpha=0.7, vmin=-0.5, vmax=max(len(names), 10) - 0.5)
        handles = [plt.Line2D([], [], marker="o", ls="", color=scatter.cmap(scatter.norm(i)), label=n) for i, n in enumerate(names)]
        axis.legend(handles=handles, fontsize=7, loc="best", markerscale=1.2, title=name, title_fontsize=8)
        axis.set_title(f"coloured by {name}")
        axis.set_xlabel("PC 1")
        axis.set_ylabel("PC 2")
    fig.suptitle(title)
    _save(fig, path)


def loss_curves(history: list[dict[str, float]], path: Path, title: str) -> None:
    """One panel per logged term against the epoch."""
    if not history:
        return
    terms = [k for k in history[0] if k not in ("step", "epoch")]
    epochs = [point["epoch"] for point in history]
    fig, axes = plt.subplots(1, len(terms), figsize=(3.2 * len(terms), 2.8), squeeze=False)
    for axis, term in zip(axes[0], terms):
        axis.plot(epochs, [point[term] for point in history], lw=1.2)
        axis.set_title(term)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
    fig.suptitle(title)
    _save(fig, path)


def accuracy_bars(table: dict[str, dict[str, float]], path: Path, title: str, errors: dict[str, dict[str, float]] | None = None) -> None:
    """Grouped bars: table[group][series] = accuracy in [0, 1] (e.g. group = task, series = method)."""
    groups = list(table)
    series = list(dict.fromkeys(s for g in groups for s in table[g]))
    width = 0.8 / max(1, len(series))
    fig, axis = plt.subplots(figsize=(max(6.0, 1.1 * len(groups) * max(1, len(series)) * 0.35 + 2), 3.8))
    for i, name in enumerate(series):
        x = np.arange(len(groups)) + (i - (len(series) - 1) / 2) * width
        values = [100 * table[g].get(name, np.nan) for g in groups]
        err = [100 * errors[g].get(name, 0.0) for g in groups] if errors else None
        axis.bar(x, values, width, yerr=err, label=name, capsize=2)
    axis.set_xticks(np.arange(len(groups)), groups)
    axis.set_ylabel("test accuracy (%)")
    axis.set_ylim(0, 100)
    axis.grid(axis="y", alpha=0.3)
    axis.legend(fontsize=7, ncol=min(len(series), 5))
    fig.suptitle(title)
    _save(fig, path)


def _save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
