"""A run directory says how it was made: resolved config, git commit, versions, command, machine."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
import yaml

from simvae.config import RunConfig

PACKAGES = ("simvae", "torch", "kornia", "lightning-fabric", "scikit-learn", "numpy")

PROVENANCE = "provenance.json"  # how a run was made: commit, versions, command, machine


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
        "git_commit": git_commit(),
        "versions": versions(),
        "python": sys.version.split()[0],
        "machine": machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_run_header(run_dir: Path, config: RunConfig) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    write_json(run_dir / PROVENANCE, provenance())


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(path.suffix + ".tmp")
    temp.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    temp.replace(path)
