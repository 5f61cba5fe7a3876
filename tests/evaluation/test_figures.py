"""The run's figures: a short run's loss curve is not empty axes; figures are written atomically."""

from __future__ import annotations

import matplotlib.colors
import numpy as np
from PIL import Image

from simvae.evaluation import figures


def test_a_short_runs_loss_curve_shows_its_one_point(tmp_path):
    """One logged point draws no line: it is marked, so the figure is not empty axes."""
    figures.loss_curves([{"step": 8, "epoch": 1.0, "loss": 2.5, "recon": 2.0}], tmp_path / "one.png", "one point")
    pixels = np.asarray(Image.open(tmp_path / "one.png").convert("RGB")).reshape(-1, 3).astype(int)
    line = np.array(matplotlib.colors.to_rgb("C0")) * 255
    assert (np.abs(pixels - line).sum(1) < 40).sum() >= 20  # the marker, in the line's colour


def test_a_figure_that_cannot_be_written_leaves_the_previous_one(tmp_path, monkeypatch):
    history = [{"step": s, "epoch": s / 4, "loss": 1 / s} for s in range(1, 9)]
    figures.loss_curves(history, tmp_path / "curve.png", "before")
    before = (tmp_path / "curve.png").read_bytes()

    def broken(self, file, **kwargs):
        file.write(b"half a PNG")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(figures.plt.Figure, "savefig", broken)
    try:
        figures.loss_curves(history, tmp_path / "curve.png", "after")
    except OSError:
        pass
    assert (tmp_path / "curve.png").read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["curve.png"]
