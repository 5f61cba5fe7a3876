"""examples/: each script runs as a user would run it (a subprocess, from the repository), at its --tiny settings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TIMEOUT_S = 300  # each takes under a minute on 2 idle cores; the margin is for a machine shared with other work


def run_example(name: str, *args: str) -> str:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, str(EXAMPLES / name), "--tiny", *args], capture_output=True, text=True,
                          timeout=TIMEOUT_S, env=env, cwd=EXAMPLES.parent)
    assert done.returncode == 0, f"{name} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_examples_are_the_three_tested_here():
    assert sorted(path.name for path in EXAMPLES.glob("*.py")) == ["own_backbone.py", "own_images_with_styles.py",
                                                                    "own_training_loop.py"]


def test_own_images_with_style_labels(tmp_path):
    out = run_example("own_images_with_styles.py", "--out", str(tmp_path))
    for method, representation in (("simvae", "mean"), ("simclr", "encoder")):
        assert re.search(rf"Run\(method={method}, data=npz, .*linear probe on `{representation}`: content \d+%, pos \d+%, "
                         r"level \d+%", out), out
    assert (tmp_path / "mine.npz").is_file() and (tmp_path / "simvae" / "metrics.json").is_file()


def test_own_backbone(tmp_path):
    out = run_example("own_backbone.py", "--out", str(tmp_path / "run"))
    assert re.search(r"Run\(method=simvae, data=shapes, step=8, .*linear probe content \d+%, pos_x \d+%", out), out
    assert "encode -> (4, 10), reconstruct -> (4, 3, 32, 32)" in out


def test_own_training_loop():
    out = run_example("own_training_loop.py")
    elbos = [float(value) for value in re.findall(r"held-out ELBO_SSL (-?[\d.]+) nats", out)]
    assert len(elbos) == 2 and elbos[1] > elbos[0], out  # the loop raises the ELBO
    assert re.search(r"linear probe, orientation \(content\): \d+%", out), out


@pytest.mark.parametrize("name", ["own_backbone.py", "own_images_with_styles.py", "own_training_loop.py"])
def test_each_example_says_how_to_run_it(name):
    text = (EXAMPLES / name).read_text()
    assert f"python examples/{name} --tiny" in text and f"python examples/{name}  " in text
