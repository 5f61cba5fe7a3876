"""PNG figures of a run: reconstructions, prior samples, 2-D latent maps and loss curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

from simvae.output import atomic_write  # noqa: E402

FEW_POINTS = 20  # loss curves with fewer points than this mark each one


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
    marker = "o" if len(history) < FEW_POINTS else None  # one point draws no line: a short run's curve still shows
    for axis, term in zip(axes[0], terms):
        axis.plot(epochs, [point[term] for point in history], lw=1.2, marker=marker, ms=4)
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


def tradeoff(panels: dict[str, dict[str, dict[str, list[tuple[float, float]]]]], chance: tuple[float, float], path: Path,
             title: str) -> None:
    """Content against style accuracy, one panel per probe: panels[probe][method][representation] = one (x, y) per run.

    A method's first representation is drawn filled, any other (a projection head) hollow; each one's mean is a
    large marker outlined in black. Dashed lines mark chance.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(5.6 * len(panels), 4.8), squeeze=False)
    for axis, (probe, methods) in zip(axes[0], panels.items()):
        for index, (method, representations) in enumerate(methods.items()):
            colour = plt.get_cmap("tab10")(index % 10)
            for order, (rep, points) in enumerate(representations.items()):
                x, y = np.array(points).T * 100
                face = colour if order == 0 else "none"
                label = method if order == 0 else f"{method} · {rep}"
                axis.scatter(x, y, s=18, facecolors=face, edgecolors=colour, alpha=0.7)
                axis.scatter(x.mean(), y.mean(), s=110, marker="o" if order == 0 else "s", facecolors=face,
                             edgecolors="black" if order == 0 else colour, linewidths=1.5, label=label)
        axis.axvline(100 * chance[0], color="grey", ls="--", lw=0.8)
        axis.axhline(100 * chance[1], color="grey", ls="--", lw=0.8)
        axis.set_title(probe)
        axis.set_xlabel("content accuracy (%)")
        axis.set_ylabel("mean style accuracy (%)")
        axis.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(title)
    _save(fig, path)


def learning_curves(curves: dict[str, dict[str, dict[str, list[float]]]], chance: dict[str, float], path: Path,
                    title: str) -> None:
    """Accuracy against epoch, one panel per task: curves[method][task] = {"epochs", "mean", "std"}; ± std shaded."""
    tasks = list(next(iter(curves.values())))
    columns = min(len(tasks), 3)
    rows = -(-len(tasks) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns + 1.4, 3.0 * rows), squeeze=False)
    for axis in axes.flat[len(tasks):]:
        axis.set_visible(False)
    for axis, task in zip(axes.flat, tasks):
        for index, (method, by_task) in enumerate(curves.items()):
            epochs, mean, std = (np.array(by_task[task][key]) for key in ("epochs", "mean", "std"))
            colour = plt.get_cmap("tab10")(index % 10)
            axis.plot(epochs, 100 * mean, marker=".", color=colour, lw=1.2, label=method)
            axis.fill_between(epochs, 100 * (mean - std), 100 * (mean + std), color=colour, alpha=0.15, lw=0)
        axis.axhline(100 * chance[task], color="grey", ls="--", lw=0.8)
        axis.set_title(task)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel("test accuracy (%)")
        axis.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(title)
    _save(fig, path)


def _save(fig, path: Path) -> None:
    """The figure as a PNG, written atomically (a full disk leaves the previous figure, and one line)."""
    try:
        fig.tight_layout()
        atomic_write(path, lambda file: fig.savefig(file, format="png", dpi=110))
    finally:
        plt.close(fig)
