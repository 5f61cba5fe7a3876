"""The real `simvae` command in subprocesses, on a tiny npz dataset (256 16x16 images, 4 classes).

Training runs are fresh interpreters (`python -m simvae.cli.main`), as a user's are. The table of bad
inputs runs each case in a forked child of one interpreter that has imported every command (`run_many`): the
imports cost seconds of CPU per interpreter, the cases themselves a fraction of that.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from simvae.runs import checkpoint

SRC = Path(__file__).resolve().parents[2] / "src"
TIMEOUT_S = 120
PROGRESS = re.compile(r"\d+%\||it/s\]|s/it\]")  # (the end of) a tqdm progress bar: training prints one on stderr
# 256 images, batch 16: 12 training steps per epoch (1/6 held out for test, 1/10 of the rest for validation)
TINY = ["data.name=npz", "data.root=data.npz", "train.batch_size=16", "net.latent_dim=4", "net.backbone=conv",
        "train.threads=1"]
EPOCHS = 3
STEPS = 12 * EPOCHS
RUN = ["train", "--no-eval", *TINY, f"train.epochs={EPOCHS}", "train.log_every=4"]  # the run the training tests make
ERROR = re.compile(r"simvae( [a-z]+)?: error: ")  # `simvae train: error:` from the command-line parser
ADVICE = re.compile(r"`simvae ([^`]+)`")  # a command an error message tells the user to run


def write_tiny_npz(path: Path, n: int = 256) -> Path:
    """Four classes of bars at four heights, with some pixel noise."""
    rng = np.random.default_rng(0)
    content = rng.integers(0, 4, n)
    images = rng.integers(0, 40, (n, 16, 16), dtype=np.uint8)
    for i, label in enumerate(content):
        images[i, 2 + 3 * label:5 + 3 * label, 3:13] = 255
    np.savez(path, images=images, content=content)
    return path


def cli_env() -> dict[str, str]:
    # warnings would be printed on stderr: none may appear on an error path, so none are filtered here
    return {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}


def command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "simvae.cli.main", *map(str, args)]


def run_cli(args: Sequence[str], cwd: Path, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run(command(args), cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=timeout, check=False)


def start_cli(args: Sequence[str], cwd: Path, **popen) -> subprocess.Popen:
    return subprocess.Popen(command(args), cwd=cwd, env=cli_env(), text=True, **popen)


# The imports of the CLI cost seconds of CPU, more than most error cases themselves. This server pays them
# once, then runs `simvae.cli.main.main(argv)` in a forked child per case: each case still gets its own
# process, working directory, stdout, stderr and exit code, as `python -m simvae.cli.main` would give it.
FORK_SERVER = r"""
import importlib, json, os, signal, sys, traceback
from simvae.cli.main import COMMANDS, main

for name in COMMANDS:  # the commands' modules, imported here once (`simvae.cli.main` alone imports none of them)
    importlib.import_module(f"simvae.cli.{name}")

def run(case):
    signal.alarm(60)  # an error case that trains instead of failing fast ends here (exit code -14)
    os.chdir(case["cwd"])
    for fd, name in ((1, case["stdout"]), (2, case["stderr"])):
        os.dup2(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
    sys.argv = ["simvae", *case["argv"]]
    try:
        code = main(case["argv"])
    except SystemExit as stop:
        code = stop.code
    except BaseException:
        traceback.print_exc()  # as the interpreter would, before exit code 1
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if code is None else code if isinstance(code, int) else 1)

cases = [json.loads(line) for line in sys.stdin]
workers, codes, running = int(sys.argv[1]), [None] * len(cases), {}
for index, case in enumerate(cases + [None] * workers):
    if len(running) >= workers or case is None and running:
        pid, status = os.wait()
        codes[running.pop(pid)] = os.waitstatus_to_exitcode(status)
    if case is not None:
        pid = os.fork()
        if pid == 0:
            run(case)
        running[pid] = index
print(json.dumps(codes))
"""


def run_many(jobs: Sequence[tuple[Sequence[str], Path]], scratch: Path) -> list[subprocess.CompletedProcess]:
    """Each (args, cwd) as `simvae args` run in `cwd`, a few at a time, in forked children of FORK_SERVER
    (output files in `scratch`)."""
    cases = [{"argv": [str(a) for a in args], "cwd": str(cwd), "stdout": str(scratch / f"{i}.out"),
              "stderr": str(scratch / f"{i}.err")} for i, (args, cwd) in enumerate(jobs)]
    server = subprocess.run([sys.executable, "-c", FORK_SERVER, str(max(2, os.cpu_count() or 2))],
                            input="".join(json.dumps(case) + "\n" for case in cases), env=cli_env(), capture_output=True,
                            text=True, timeout=TIMEOUT_S + 10 * len(cases), check=False)
    assert server.returncode == 0, server.stderr
    codes = json.loads(server.stdout)
    return [subprocess.CompletedProcess(command(case["argv"]), code, Path(case["stdout"]).read_text(),
                                        Path(case["stderr"]).read_text()) for case, code in zip(cases, codes)]


def message_lines(stderr: str) -> list[str]:
    """stderr without progress bars and blank lines."""
    return [line for line in stderr.splitlines() if line.strip() and not PROGRESS.search(line)]


def assert_one_line_error(result: subprocess.CompletedProcess, *expected: str) -> str:
    """Exit code 2, no traceback, and exactly one line on stderr (besides a progress bar), `simvae: error: ...`,
    holding every `expected` fragment (the problem and the fix). Returns that line."""
    shown = f"exit code {result.returncode}, stderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr, shown
    assert result.returncode == 2, shown
    lines = message_lines(result.stderr)
    assert len(lines) == 1 and ERROR.match(lines[0]), shown
    for fragment in expected:
        assert fragment in lines[0], f"{fragment!r} missing from {lines[0]!r}"
    return lines[0]


def load_checkpoint(path: Path) -> dict:
    return checkpoint.load_checkpoint(path)  # weights only, as simvae itself loads them


def assert_same_run(a: Path, b: Path) -> None:
    """Two run directories hold bit-identical weights, optimiser state and loss curves."""
    first, second = load_checkpoint(a / "checkpoint.pt"), load_checkpoint(b / "checkpoint.pt")
    assert first["step"] == second["step"]
    for part in ("model", "optimizer"):
        assert_identical(first[part], second[part], part)
    assert json.loads((a / "train_history.json").read_text()) == json.loads((b / "train_history.json").read_text())


def assert_identical(x, y, where: str) -> None:
    if isinstance(x, torch.Tensor):
        assert isinstance(y, torch.Tensor) and x.dtype == y.dtype and torch.equal(x, y), f"{where} differs"
    elif isinstance(x, dict):
        assert x.keys() == y.keys(), f"{where}: keys differ"
        for key in x:
            assert_identical(x[key], y[key], f"{where}.{key}")
    elif isinstance(x, (list, tuple)):
        assert len(x) == len(y), f"{where}: lengths differ"
        for i, (u, v) in enumerate(zip(x, y)):
            assert_identical(u, v, f"{where}[{i}]")
    else:
        assert x == y, f"{where}: {x!r} != {y!r}"


def temporaries(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob(".*.tmp"))


def advised_command(message: str) -> list[str]:
    """The arguments of the `simvae ...` command a message advises."""
    found = ADVICE.search(message)
    assert found, f"no `simvae ...` command in {message!r}"
    return found.group(1).split()


@pytest.fixture(scope="session")
def cli() -> SimpleNamespace:
    """The helpers above, for the test modules (tests are not a package, so they take them as a fixture)."""
    return SimpleNamespace(TINY=TINY, RUN=RUN, STEPS=STEPS, run=run_cli, advised_command=advised_command, start=start_cli, run_many=run_many, command=command,
                           assert_one_line_error=assert_one_line_error, message_lines=message_lines,
                           load_checkpoint=load_checkpoint, assert_same_run=assert_same_run, temporaries=temporaries,
                           write_tiny_npz=write_tiny_npz)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A working directory holding the tiny dataset as data.npz (TINY's data.root)."""
    write_tiny_npz(tmp_path / "data.npz")
    return tmp_path


@pytest.fixture(scope="session")
def uninterrupted(tmp_path_factory) -> Path:
    """The run directory of RUN trained without interruption: what every interrupted run must equal.

    Its defaults are spelt as people type numbers (YAML 1.1 reads 1e-3 as a string): the other runs, with
    the defaults themselves, must still equal it bit for bit."""
    cwd = tmp_path_factory.mktemp("uninterrupted")
    write_tiny_npz(cwd / "data.npz")
    (cwd / "numbers.yaml").write_text("train:\n  lr: 1e-3\n  adam_eps: 1E-4\n")
    result = run_cli([*RUN, "--out", "run", "--config", "numbers.yaml", "train.checkpoint_every=5e2"], cwd)
    assert result.returncode == 0, result.stderr
    train = load_checkpoint(cwd / "run" / "checkpoint.pt")["config"]["train"]
    assert (train["lr"], train["adam_eps"], train["checkpoint_every"]) == (1e-3, 1e-4, 500)
    return cwd / "run"


@pytest.fixture(scope="session")
def one_epoch_run(tmp_path_factory) -> Path:
    """A finished run of one epoch of RUN's settings (12 steps), made once: copy it before changing it. Its
    directory's parent holds the data as data.npz."""
    cwd = tmp_path_factory.mktemp("one-epoch")
    write_tiny_npz(cwd / "data.npz")
    result = run_cli([*RUN, "--out", "run", "train.epochs=1"], cwd)
    assert result.returncode == 0, result.stderr
    return cwd / "run"
