"""Resume does what it says or says why not: `--resume RUN train.epochs=N` extends a finished run bit-exactly (at a
constant learning rate) and provenance records it; a resume with nothing to do, an empty --resume, and a resume
refused because the run is locked are one line each and change nothing; a run directory deleted under a training
process stops that process instead of being recreated for a second one."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import time
from pathlib import Path

import torch

TRAIN = ["train", "--no-eval"]


def copy_run(run: Path, cwd: Path, name: str) -> Path:
    shutil.copytree(run, cwd / name)
    return cwd / name


def test_extending_a_finished_run_continues_it_bit_exactly_and_provenance_records_it(one_epoch_run, cli, tmp_path,
                                                                                     uninterrupted):
    shutil.copy(one_epoch_run.parent / "data.npz", tmp_path)
    run = copy_run(one_epoch_run, tmp_path, "run")
    epochs = cli.STEPS // 12
    extended = cli.run([*TRAIN, "--resume", "run", f"train.epochs={epochs}"], tmp_path)
    assert extended.returncode == 0, extended.stderr
    assert f"trained {cli.STEPS} steps" in extended.stdout
    cli.assert_same_run(run, uninterrupted)  # weights, optimiser and the loss curve, continued
    assert cli.load_checkpoint(run / "checkpoint.pt")["finished"]
    [resume] = json.loads((run / "provenance.json").read_text())["resumes"]
    assert resume["changed"] == {"train.epochs": str(epochs)}
    assert resume["extended"] == {"from_epochs": 1, "to_epochs": epochs, "at_step": 12,
                                  "learning_rate": "constant, train.lr=0.001"}


def write_cases(cwd: Path, one_epoch_run: Path) -> None:
    shutil.copy(one_epoch_run.parent / "data.npz", cwd)
    copy_run(one_epoch_run, cwd, "done")
    beyond = copy_run(one_epoch_run, cwd, "beyond")  # stopped at epoch 2 of 3 (an edited copy)
    saved = torch.load(beyond / "checkpoint.pt", weights_only=True)
    saved.update(step=24, epoch=2, finished=False, images_seen=24 * 16)
    saved["config"]["train"]["epochs"] = 3
    torch.save(saved, beyond / "checkpoint.pt")
    copy_run(one_epoch_run, cwd, "locked")


CASES = [
    ("at-the-epochs-reached", [*TRAIN, "--resume", "done", "train.epochs=1"],
     ["the run done is finished at epoch 1 (step 12); train.epochs=1 does not extend it",
      "`simvae train --resume done train.epochs=2`", "simvae eval done"]),
    ("nothing-left", [*TRAIN, "--resume", "done"], ["the run done is finished at epoch 1", "nothing is left to train"]),
    ("beyond-the-epochs", [*TRAIN, "--resume", "beyond", "train.epochs=1"],
     ["beyond has already trained to epoch 2 (step 24), beyond train.epochs=1", "give train.epochs=2 or more"]),
    ("empty-resume", [*TRAIN, "--resume", ""], ["--resume needs the run directory", "give one"]),
    ("locked", [*TRAIN, "--resume", "locked", "train.epochs=2"], ["locked is in use by another simvae process"]),
]


def test_a_resume_that_cannot_proceed_is_one_line_and_changes_nothing(one_epoch_run, cli, tmp_path):
    write_cases(tmp_path, one_epoch_run)
    before = {name: (tmp_path / name / "provenance.json").read_text() for name in ("done", "beyond", "locked")}
    with open(tmp_path / "locked" / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        results = cli.run_many([(args, tmp_path) for _, args, _ in CASES], tmp_path)
    for (case, _, fragments), result in zip(CASES, results):
        cli.assert_one_line_error(result, *fragments)
    for name, text in before.items():  # a refused resume (even a locked one) records nothing
        assert (tmp_path / name / "provenance.json").read_text() == text, name
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["beyond", "done", "locked"]  # no new run


def test_a_run_directory_deleted_while_training_is_not_recreated(workdir, cli):
    process = cli.start([*cli.RUN, "--out", "run", "train.epochs=50", "train.checkpoint_every=1"], workdir,
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (workdir / "run" / "checkpoint.pt").is_file():
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.05)
    (workdir / "run").rename(workdir / "deleted")  # at once, as `rm -r` would seem to the process
    shutil.rmtree(workdir / "deleted", ignore_errors=True)  # (files it writes meanwhile make one pass fall short)
    stderr = process.communicate(timeout=60)[1]
    result = subprocess.CompletedProcess([], process.returncode, "", stderr)
    cli.assert_one_line_error(result, "run was deleted or replaced while this process trained into it",
                              "train anew into another --out")
    assert not (workdir / "run").exists()
    resumed = cli.run([*TRAIN, "--resume", "run"], workdir)
    cli.assert_one_line_error(resumed, "no checkpoint at run/checkpoint.pt")
