"""Small tmpfs file systems: a full one while training (the previous checkpoint is intact and the advice
continues the run to the uninterrupted result) and a read-only --out. Mounting needs root (as in CI)."""

from __future__ import annotations

import contextlib
import os
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
