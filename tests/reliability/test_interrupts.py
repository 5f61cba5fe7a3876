"""Interrupted runs lose nothing: SIGTERM and SIGINT checkpoint the current step and print the resume command;
kill -9 at random moments of checkpoint writes never corrupts a checkpoint; every resumed run ends
bit-identical to the uninterrupted one."""

from __future__ import annotations

import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

KILLS = 10  # kill -9 while a checkpoint is being written, at least this many times
STEP_SHOWN = re.compile(r"(\d+)/\d+ \[")  # tqdm's "n/total [" on stderr


def wait_for_step(process: subprocess.Popen, at_least: int) -> str:
    """Read the progress bar on the process's stderr until it shows `at_least` steps done; returns what was read."""
    buffer = ""
    while process.poll() is None:
        buffer += process.stderr.read(1)
        steps = STEP_SHOWN.findall(buffer[-200:])
        if steps and int(steps[-1]) >= at_least:
            return buffer
    raise AssertionError(f"training ended (exit code {process.returncode}) before step {at_least}: {buffer[-2000:]}")


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_epoch_checkpoints_the_current_step_and_resume_is_bit_identical(workdir, cli, uninterrupted, number):
    process = cli.start([*cli.RUN, "--out", "run"], workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = wait_for_step(process, 2)
    process.send_signal(number)
    stderr += process.stderr.read()
    assert process.wait(timeout=60) == 128 + number, stderr
    assert "Traceback" not in stderr
    [message] = cli.message_lines(stderr)
    step = int(re.search(r"at step (\d+)", message).group(1))
    assert message.startswith(f"simvae: stopped by {number.name} at step {step}; the checkpoint run/checkpoint.pt")
    assert 2 <= step < cli.STEPS and cli.load_checkpoint(workdir / "run" / "checkpoint.pt")["step"] == step
    assert cli.advised_command(message) == ["train", "--resume", "run"]  # the real path, not a placeholder

    resumed = cli.run([*cli.advised_command(message), "--no-eval"], workdir)
    assert resumed.returncode == 0, resumed.stderr
    cli.assert_same_run(workdir / "run", uninterrupted)


def test_kill_9_during_checkpoint_writes_never_corrupts_and_the_resumed_run_is_bit_identical(workdir, cli, uninterrupted):
    run = workdir / "run"
    rng = random.Random(0)
    killed_mid_write = attempts = 0
    while killed_mid_write < KILLS:
        attempts += 1
        assert attempts <= 3 * KILLS, f"only {killed_mid_write} of {attempts} kills hit a checkpoint write"
        # a kill before the first checkpoint leaves none: the run is then started again, as a user would
        args = ["train", "--no-eval", "--resume", "run"] if (run / "checkpoint.pt").exists() else [*cli.RUN, "--out", "run", "train.checkpoint_every=1"]
        process = cli.start(args, workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not kill_while_writing(process, run, rng.randint(1, 4), rng.uniform(0, 0.004)):
            break  # the run finished before a write could be hit
        leftovers = cli.temporaries(run)
        killed_mid_write += any(path.name.startswith(".checkpoint.pt.") for path in leftovers)
        for name in ("checkpoint.pt", "checkpoint.prev.pt"):
            if (run / name).exists():
                assert cli.load_checkpoint(run / name)["step"] >= 1  # loadable, whole

    assert killed_mid_write >= KILLS
    finish = cli.run(["train", "--no-eval", "--resume", "run"], workdir)
    assert finish.returncode == 0, finish.stderr
    assert cli.temporaries(run) == []  # the orphans of the kills were cleaned up
    cli.assert_same_run(run, uninterrupted)
    # checkpoints get the mode of every other file the run writes (not mkstemp's 0600)
    assert (run / "checkpoint.pt").stat().st_mode == (run / "config.yaml").stat().st_mode


def kill_while_writing(process: subprocess.Popen, run: Path, nth: int, delay: float) -> bool:
    """SIGKILL `process` `delay` seconds after the `nth` temporary checkpoint it writes appears in `run`;
    False if it exited first."""
    seen = set()
    while process.poll() is None:
        seen.update(path.name for path in run.glob(".checkpoint.pt.*.tmp"))
        if len(seen) >= nth:
            time.sleep(delay)
            process.kill()
            process.wait()
            return True
        time.sleep(0.001)
    return False
