"""No file simvae reads may run code: a checkpoint whose pickle carries a payload is refused by `simvae eval`,
`simvae train --resume` and `simvae.load_run`, before the payload runs; checkpoints written before RNG states
were stored as tensors (numpy's state as an ndarray, as d46ffd5 wrote them) still load and resume bit-exactly."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import simvae
import simvae.training
from simvae.config import load_config
from simvae.errors import RunDirError
from simvae.runs.checkpoint import numpy_state

MARKER = "payload-ran"


class Payload:
    """Unpickling this creates the directory `path` (a harmless stand-in for any code an attacker would run)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path,)


def plant_payload(run: Path, where: str) -> None:
    """Put a Payload into the run's checkpoint at `where` (model weights, rng, config), as an attacker editing it would."""
    saved = torch.load(run / "checkpoint.pt", weights_only=True)
    marker = str(run.parent / MARKER)
    if where == "model":
        saved["model"]["extra"] = Payload(marker)
    elif where == "rng":
        saved["rng"]["numpy"] = Payload(marker)
    else:
        saved["config"] = Payload(marker)
    torch.save(saved, run / "checkpoint.pt")


def old_format(run: Path) -> None:
    """Rewrite the run's checkpoint as d46ffd5 wrote them: numpy's RNG state as np.random.get_state()'s tuple,
    whose uint32 ndarray only a full pickle (or the four numpy names simvae admits) can rebuild."""
    saved = torch.load(run / "checkpoint.pt", weights_only=True)
    for state in [saved["rng"], *saved["rng_ranks"]]:
        state["numpy"] = numpy_state(state["numpy"])
        assert isinstance(state["numpy"][1], np.ndarray) and state["numpy"][1].dtype == np.uint32
    torch.save(saved, run / "checkpoint.pt")
    with pytest.raises(pickle.UnpicklingError):  # truly the old format: a plain weights-only load refuses it
        torch.load(run / "checkpoint.pt", weights_only=True)


@pytest.mark.parametrize("where", ["model", "rng", "config"])
def test_a_checkpoint_carrying_code_is_refused_by_eval_resume_and_load_run_and_the_code_never_runs(one_epoch_run, cli,
                                                                                                   tmp_path, where):
    cwd = tmp_path
    shutil.copy(one_epoch_run.parent / "data.npz", cwd / "data.npz")
    runs = {}
    for name in ("eval", "resume", "api"):
        shutil.copytree(one_epoch_run, cwd / name)
        plant_payload(cwd / name, where)
        runs[name] = cwd / name
    results = cli.run_many([(["eval", "eval"], cwd), (["train", "--no-eval", "--resume", "resume"], cwd)], tmp_path)
    for result, name in zip(results, ("eval", "resume")):
        cli.assert_one_line_error(result, f"checkpoint {name}/checkpoint.pt holds posix.mkdir", "could run code",
                                  "simvae refuses it")
    with pytest.raises(RunDirError, match="holds posix.mkdir, not only tensors") as error:
        simvae.load_run(runs["api"])
    assert "\n" not in str(error.value)
    assert not (cwd / MARKER).exists(), "the payload ran"


def test_a_checkpoint_of_the_old_format_still_loads_and_resumes_bit_exactly(tmp_path, cli, uninterrupted, monkeypatch):
    cli.write_tiny_npz(tmp_path / "data.npz")
    monkeypatch.chdir(tmp_path)
    config = load_config(None, [*cli.TINY, f"train.epochs={cli.STEPS // 12}", "train.log_every=4"])  # cli.RUN's run
    with torch.random.fork_rng(devices=[]):  # (training seeds the global generators; leave this process's alone)
        simvae.training.train(config, "run", max_steps=12, progress=False)  # stopped after 1 of 3 epochs
    old_format(tmp_path / "run")
    assert simvae.load_run(tmp_path / "run").step == 12
    resumed = cli.run(["train", "--no-eval", "--resume", "run"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    cli.assert_same_run(tmp_path / "run", uninterrupted)
