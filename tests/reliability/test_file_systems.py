"""Small tmpfs file systems: a full one while training (the previous checkpoint is intact and the advice
continues the run to the uninterrupted result) and a read-only --out. Mounting needs root (as in CI)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

CHECKPOINT_MB = 7.2  # the tiny run's checkpoint.pt (weights and Adam state of the conv backbone)


@contextlib.contextmanager
def tmpfs(directory: Path, options: str) -> Iterator[Path]:
    directory.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(directory)], capture_output=True, text=True,
                             check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root, as in CI): {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=True)


def test_a_full_disk_keeps_the_previous_checkpoint_and_the_advice_continues_the_run(workdir, cli, uninterrupted):
    # room for one checkpoint but not for the temporary file of the next (written before the old one goes)
    with tmpfs(workdir / "disk", f"size={int(CHECKPOINT_MB * 1.6)}m") as disk:
        run = disk / "run"
        full = cli.run([*cli.RUN, "--out", run, "train.checkpoint_every=2"], workdir)
        line = cli.assert_one_line_error(full, f"no space left on {disk} while writing {run}/checkpoint.pt",
                                         "the previous version is intact", "free some space")
        assert cli.load_checkpoint(run / "checkpoint.pt")["step"] == 2
        assert cli.temporaries(run) == []

        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)  # space freed
        resumed = cli.run([*cli.advised_command(line), "--no-eval"], workdir)
        assert resumed.returncode == 0, resumed.stderr
        cli.assert_same_run(run, uninterrupted)


def test_a_read_only_out_is_one_line(workdir, cli):
    with tmpfs(workdir / "readonly", "ro,size=1m") as readonly:
        assert not os.access(readonly, os.W_OK) or os.geteuid() == 0
        result = cli.run([*cli.RUN, "--out", readonly / "run"], workdir)
        cli.assert_one_line_error(result, f"cannot write the run directory {readonly}/run (the file system is read-only)",
                                  "pick a writable --out")


def fill(disk: Path, leave: int) -> None:
    """Fill the file system of `disk` until only about `leave` bytes are free."""
    with open(disk / "filler", "ab") as filler:
        while (free := shutil.disk_usage(disk).free) > leave:
            try:
                filler.write(b"\0" * min(free - leave, 1 << 20))
                filler.flush()
            except OSError:
                break


@pytest.mark.parametrize("how", ["read-only", "immutable"])
def test_eval_and_resume_of_a_run_that_cannot_be_written_are_one_line(one_epoch_run, cli, tmp_path, how):
    shutil.copy(one_epoch_run.parent / "data.npz", tmp_path)
    with tmpfs(tmp_path / "disk", "size=32m") as disk:
        run = disk / "run"
        shutil.copytree(one_epoch_run, run)
        if how == "read-only":
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
            reason = "the file system is read-only"
        else:  # chattr +i: not even root may add a file
            subprocess.run(["chattr", "+i", str(run)], check=True)
            reason = "Operation not permitted"
        try:
            evaluated, resumed = cli.run_many([(["eval", run], tmp_path),
                                               (["train", "--no-eval", "--resume", run, "train.epochs=2"], tmp_path)],
                                              tmp_path)
        finally:
            if how == "immutable":
                subprocess.run(["chattr", "-i", str(run)], check=True)
        cli.assert_one_line_error(evaluated, f"cannot write the run directory {run} ({reason})", f"cp -r {run} COPY",
                                  "evaluate the copy")
        cli.assert_one_line_error(resumed, f"cannot write the run directory {run} ({reason})", "resume the copy")
        assert json.loads((run / "provenance.json").read_text()).get("resumes") is None  # nothing recorded


def test_eval_on_a_nearly_full_disk_is_one_line_and_leaves_every_result_whole(one_epoch_run, cli, tmp_path):
    shutil.copy(one_epoch_run.parent / "data.npz", tmp_path)
    with tmpfs(tmp_path / "disk", "size=40m") as disk:
        shutil.copytree(one_epoch_run, disk / "run")
        first = cli.run(["eval", disk / "run", "eval.mlp_steps=20", "eval.gmm_n_init=1"], tmp_path)
        assert first.returncode == 0, first.stderr
        for leave_kb in (0, 40):  # nothing left, or room for the JSON and the table but not every figure
            before = {name: (disk / "run" / name).read_bytes() for name in ("results.md", "metrics.json")}
            fill(disk, leave_kb * 1024)
            again = cli.run(["eval", disk / "run", "eval.mlp_steps=30", "eval.gmm_n_init=1"], tmp_path)
            cli.assert_one_line_error(again, f"no space left on {disk} while writing {disk}/run/", "free some space")
            if leave_kb == 0:  # nothing could be written: every result is the previous one
                assert all((disk / "run" / name).read_bytes() == previous for name, previous in before.items())
            json.loads((disk / "run" / "metrics.json").read_text())  # else each is whole, the previous or the new
            assert (disk / "run" / "results.md").read_text().startswith("### simvae on npz")
            for figure in (disk / "run" / "figures").glob("*.png"):
                assert figure.read_bytes().endswith(b"IEND\xaeB`\x82"), figure
            assert cli.temporaries(disk / "run") == [] and not list((disk / "run").rglob(".*.tmp"))
            (disk / "filler").unlink()


def test_the_csv_log_filling_its_disk_mid_epoch_is_one_line_and_the_advice_finishes_the_run(workdir, cli):
    run = workdir / "run"
    run.mkdir()
    with tmpfs(run / "logs", "size=4k") as logs:  # the run's log directory on a disk of one page: full mid-run
        full = cli.run([*cli.RUN, "--out", "run", "train.log_every=1"], workdir)
        line = cli.assert_one_line_error(full, f"no space left on {logs} while writing run/logs/metrics.csv",
                                         "the previous version is intact", "`simvae train --resume run`")
        assert 12 <= cli.load_checkpoint(run / "checkpoint.pt")["step"] < cli.STEPS  # mid-run, after a checkpoint
        subprocess.run(["mount", "-o", "remount,size=1m", str(logs)], check=True)  # space freed
        resumed = cli.run([*cli.advised_command(line), "--no-eval"], workdir)
        assert resumed.returncode == 0, resumed.stderr
        rows = (logs / "metrics.csv").read_text().splitlines()
        assert rows[0] == "step,metric,value" and all(len(row.split(",")) == 3 for row in rows)  # no half row
        assert cli.load_checkpoint(run / "checkpoint.pt")["finished"]


def test_download_into_a_read_only_root_is_one_line(workdir, cli):
    with tmpfs(workdir / "readonly", "ro,size=1m") as readonly:
        result = cli.run(["data", "download", "mnist", "--root", readonly], workdir)
        cli.assert_one_line_error(result, f"cannot write into {readonly}/mnist (the file system is read-only)",
                                  "pass a writable root")
