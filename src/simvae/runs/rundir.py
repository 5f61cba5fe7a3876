"""A run directory says how it was made (resolved config, git commit, versions, command, machine, data) and
is used by one process at a time (an OS lock)."""

from __future__ import annotations

import contextlib
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
from simvae.output import atomic_write, check_path_length, remove_stale_temporaries, write_json

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


def record_resume(run_dir: Path, changed: dict[str, Any], extended: dict[str, Any] | None = None) -> None:
    """Append a resume (when, command, commit, the hyper-parameters it changed and, for a run trained beyond its
    epochs, how it was extended) to provenance.json. Called while the run's lock is held."""
    path = run_dir / PROVENANCE
    record = json.loads(path.read_text()) if path.is_file() else {}
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": " ".join(sys.argv), "git_commit": git_commit(),
             "changed": changed, **({"extended": extended} if extended else {})}
    write_json(path, {**record, "resumes": [*record.get("resumes", []), entry]})


class RunDirLock:
    """An exclusive OS lock on a run directory (flock on RUN/.lock), held while a process trains into it.

    The kernel releases it when the process exits in any way (even SIGKILL), so a stale lock cannot
    block a later resume. Opening also creates the directory, with one-line errors for the usual causes.
    """

    def __init__(self, run_dir: Path, resuming: bool = False) -> None:
        self.run_dir, self.resuming = run_dir, resuming
        self.file: IO[str] | None = None
        self.created: list[Path] = []  # the directories this lock creates, innermost first

    def __enter__(self) -> RunDirLock:
        check_path_length(self.run_dir)
        self.created = [path for path in [self.run_dir, *self.run_dir.parents] if not path.exists()]
        make_run_dir(self.run_dir, f"copy the run to a writable place (cp -r {self.run_dir} COPY) and resume the copy"
                     if self.resuming else "pick a writable --out")
        self.file = open(self.run_dir / LOCK, "a+")  # noqa: SIM115 (held until __exit__)
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise RunDirError(f"{self.run_dir} is in use by another simvae process (its lock {self.run_dir / LOCK} is held): "
                              "wait for it to finish, or train into another --out") from None
        remove_stale_temporaries(self.run_dir)  # safe now: no other process writes here
        return self

    def check(self) -> None:
        """Raise RunDirError if the directory was deleted or replaced since the lock was taken: another process
        could then lock a new RUN/.lock and train there too, so this one must not write there again."""
        try:
            held = self.file is not None and os.path.samestat(os.fstat(self.file.fileno()), os.stat(self.run_dir / LOCK))
        except OSError:
            held = False
        if not held:
            raise RunDirError(f"{self.run_dir} was deleted or replaced while this process trained into it: it stopped "
                              "without writing there again; train anew into another --out, or restore the directory "
                              "from a copy and resume it")

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()  # closing releases the lock
        if self.created:  # a start that failed before writing anything leaves no empty directories behind
            with contextlib.suppress(OSError):
                if {p.name for p in self.run_dir.iterdir()} <= {LOCK}:
                    (self.run_dir / LOCK).unlink(missing_ok=True)
                    for directory in self.created:
                        directory.rmdir()


def make_run_dir(run_dir: Path, fix: str = "pick a writable --out") -> None:
    """Create `run_dir` (and its parents) or say in one line why it cannot be (`fix`: what to do when it cannot be
    written)."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise RunDirError(f"--out {run_dir} is a file, not a directory: pick another --out") from None
    except NotADirectoryError:
        raise RunDirError(f"--out {run_dir} lies under a file, not a directory: pick another --out") from None
    except OSError as error:
        raise RunDirError(f"cannot write the run directory {run_dir} ({_reason(error)}): {fix}") from None
    check_writable(run_dir, fix)


def check_writable(run_dir: Path, fix: str) -> None:
    """RunDirError naming why `run_dir` cannot be written (read-only, immutable, not permitted), and `fix`."""
    probe = run_dir / f".write-test-{os.getpid()}"
    try:
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise RunDirError(f"cannot write the run directory {run_dir} ({_reason(error)}): {fix}") from None


def _reason(error: OSError) -> str:
    return "the file system is read-only" if error.errno == errno.EROFS else error.strerror or str(error)


def recorded_networks(path: Path) -> dict[str, str] | None:
    """The networks' class names a run's provenance.json records, if it does."""
    provenance = path / PROVENANCE
    try:
        return json.loads(provenance.read_text()).get("networks") if provenance.is_file() else None
    except (OSError, ValueError):
        return None
