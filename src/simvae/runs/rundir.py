"""A run directory says how it was made (resolved config, git commit, versions, command, machine, data) and
is used by one process at a time (an OS lock)."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import torch
import yaml

from simvae.config import RunConfig
from simvae.errors import RunDirError
from simvae.nets.custom import class_name
from simvae.output import atomic_write, remove_stale_temporaries, write_json

PACKAGES = ("simvae", "torch", "lightning-fabric", "scikit-learn", "numpy")

PROVENANCE = "provenance.json"  # how a run was made: commit, versions, command, machine, data, resumes
CONFIG = "config.yaml"  # the resolved config
HISTORY = "train_history.json"  # the loss curve, written with every checkpoint
LOCK = ".lock"


def git_commit(cwd: Path | None = None) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=cwd or Path(__file__).parent, timeout=5)
        commit = out.stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                               cwd=cwd or Path(__file__).parent, timeout=5).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    text = f"{platform.system()} {platform.machine()}, {torch.get_num_threads()} torch threads, {cpu}"
    if torch.cuda.is_available():
        text += f", {torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    return text


def provenance() -> dict[str, Any]:
    return {
        "command": " ".join(sys.argv),
        "cwd": os.getcwd(),  # what relative paths in the command and data_source are relative to
        "git_commit": git_commit(),
        "versions": versions(),
        "python": sys.version.split()[0],
        "machine": machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def network_classes(method: torch.nn.Module) -> dict[str, str]:
    """{"encoder": its class, qualified by module, "decoder": ...}: what a run's networks are, your own ones included."""
    return {role: class_name(getattr(method, role)) for role in ("encoder", "decoder") if hasattr(method, role)}


def write_run_header(run_dir: Path, config: RunConfig, data_source: str, networks: dict[str, str] | None = None) -> None:
    """config.yaml and provenance.json of a new run; `data_source` is where the data was actually read, `networks`
    the classes of its networks (`network_classes`)."""
    text = yaml.safe_dump(config.to_dict(), sort_keys=False).encode()
    atomic_write(run_dir / CONFIG, lambda file: file.write(text))
    write_json(run_dir / PROVENANCE, {**provenance(), "data_source": data_source, "networks": networks or {}})


def record_resume(run_dir: Path, changed: dict[str, Any]) -> None:
    """Append a resume (when, command, commit, and the hyper-parameters it changed) to provenance.json."""
    path = run_dir / PROVENANCE
    record = json.loads(path.read_text()) if path.is_file() else {}
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": " ".join(sys.argv), "git_commit": git_commit(),
             "changed": changed}
    write_json(path, {**record, "resumes": [*record.get("resumes", []), entry]})


class RunDirLock:
    """An exclusive OS lock on a run directory (flock on RUN/.lock), held while a process trains into it.

    The kernel releases it when the process exits in any way (even SIGKILL), so a stale lock cannot
    block a later resume. Opening also creates the directory, with one-line errors for the usual causes.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.file: IO[str] | None = None

    def __enter__(self) -> RunDirLock:
        make_run_dir(self.run_dir)
        self.file = open(self.run_dir / LOCK, "a+")  # noqa: SIM115 (held until __exit__)
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise RunDirError(f"{self.run_dir} is in use by another simvae process (its lock {self.run_dir / LOCK} is held): "
                              "wait for it to finish, or train into another --out") from None
        remove_stale_temporaries(self.run_dir)  # safe now: no other process writes here
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()  # closing releases the lock


def make_run_dir(run_dir: Path) -> None:
    """Create `run_dir` (and its parents) or say in one line why it cannot be."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.touch()
        probe.unlink()
    except FileExistsError:
        raise RunDirError(f"--out {run_dir} is a file, not a directory: pick another --out") from None
    except NotADirectoryError:
        raise RunDirError(f"--out {run_dir} lies under a file, not a directory: pick another --out") from None
    except OSError as error:
        reason = "the file system is read-only" if error.errno == errno.EROFS else error.strerror
        raise RunDirError(f"cannot write the run directory {run_dir} ({reason}): pick a writable --out") from None
