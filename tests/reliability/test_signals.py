"""SIGINT and SIGTERM at any moment of a command (during the imports, data loading, training, a checkpoint write,
evaluation, figure writing): exit code 128 + signal, one line, no traceback, and every file whole. The handler is
not re-entrant: a burst of signals during a checkpoint write waits for the write, then stops once."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

MESSAGES = ("simvae: stopped by SIGINT", "simvae: stopped by SIGTERM")


def stop(process: subprocess.Popen, number: int, after: float, repeat: int = 1) -> tuple[int, str]:
    """Send `number` to `process` `after` seconds from now (`repeat` times, a millisecond apart); its exit code and
    stderr."""
    time.sleep(after)
    for _ in range(repeat):
        if process.poll() is None:
            process.send_signal(number)
        time.sleep(0.001)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def assert_stopped_in_one_line(code: int, stderr: str, number: int, cli) -> None:
    shown = f"exit code {code}, stderr:\n{stderr}"
    assert "Traceback" not in stderr and "Error" not in stderr, shown
    if code == 0:  # the command finished before the signal came: nothing to check of the stop
        return
    assert code == 128 + number, shown
    [line] = cli.message_lines(stderr)
    assert line.startswith(MESSAGES), shown


def assert_whole(directory: Path, cli) -> None:
    """No temporary file, every JSON parses, every PNG is complete, every checkpoint loads."""
    assert cli.temporaries(directory) == [] and not list(directory.rglob(".*.tmp"))
    for path in directory.rglob("*.json"):
        json.loads(path.read_text())
    for path in directory.rglob("*.png"):
        assert path.read_bytes().endswith(b"IEND\xaeB`\x82"), path  # a PNG ends with its IEND chunk
    for path in directory.glob("checkpoint*.pt"):
        cli.load_checkpoint(path)


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_the_imports_and_data_loading_is_one_line(workdir, cli, number):
    rng = random.Random(number)
    for attempt in range(4):
        process = cli.start([*cli.RUN, "--out", f"run{attempt}"], workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        code, stderr = stop(process, number, rng.uniform(0.2, 2.5))
        assert_stopped_in_one_line(code, stderr, number, cli)
        if (workdir / f"run{attempt}").exists():
            assert_whole(workdir / f"run{attempt}", cli)


@pytest.mark.slow
def test_a_signal_at_any_moment_of_an_evaluation_leaves_every_file_whole(one_epoch_run, cli, tmp_path):
    shutil.copy(one_epoch_run.parent / "data.npz", tmp_path)
    shutil.copytree(one_epoch_run, tmp_path / "run")
    evaluate = ["eval", "run", "eval.mlp_steps=20", "eval.gmm_n_init=1"]
    started = time.monotonic()
    first = cli.run(evaluate, tmp_path)  # results and figures to be overwritten (or kept) below
    assert first.returncode == 0, first.stderr
    took = time.monotonic() - started
    rng = random.Random(0)
    for attempt in range(6):
        number = (signal.SIGINT, signal.SIGTERM)[attempt % 2]
        process = cli.start(evaluate, tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        code, stderr = stop(process, number, rng.uniform(0.3, took))
        assert_stopped_in_one_line(code, stderr, number, cli)
        assert_whole(tmp_path / "run", cli)
        assert (tmp_path / "run" / "results.md").read_text().startswith("### simvae on npz")


def test_a_burst_of_signals_during_a_checkpoint_write_waits_for_it_and_stops_once(workdir, cli):
    """Ctrl-C pressed repeatedly while a checkpoint is written: the first asks for a checkpoint at the current step,
    the next ones (the handler ignores all but one) wait for the write in progress; one line, the checkpoint whole."""
    run = workdir / "run"
    hit = 0
    for attempt in range(8):
        args = ["train", "--no-eval", "--resume", "run", "train.checkpoint_every=1"] if (run / "checkpoint.pt").exists() \
            else [*cli.RUN, "--out", "run", "train.checkpoint_every=1", "train.epochs=50"]
        process = cli.start(args, workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not list(run.glob(".checkpoint.pt.*.tmp")) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.0005)
        writing = bool(list(run.glob(".checkpoint.pt.*.tmp")))
        code, stderr = stop(process, signal.SIGINT, 0, repeat=5)
        hit += writing
        assert code == 128 + signal.SIGINT, stderr
        assert "Traceback" not in stderr and "RecursionError" not in stderr, stderr
        [line] = cli.message_lines(stderr)
        assert line.startswith("simvae: stopped by SIGINT"), stderr
        assert_whole(run, cli)
    assert hit >= 4, f"only {hit} of 8 bursts came during a checkpoint write"
