"""What the `simvae` command imports before it works: `--help` parses without torch, and neither the help of any
command nor `simvae data` imports Lightning Fabric, matplotlib or scikit-learn (counted in `sys.modules`, which
does not depend on the machine; benchmarks/startup.py measures the CPU time)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simvae.cli.main import COMMANDS, build_parser

SRC = Path(__file__).resolve().parents[2] / "src"
TRAINING_STACK = ("lightning_fabric", "lightning", "matplotlib", "sklearn")  # what only training and probing need
# runs `simvae ARGS...` in this fresh interpreter, then prints which top-level modules it had imported
PROBE = """
import json, sys
from simvae.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
print(json.dumps({"code": code, "modules": sorted({name.split(".")[0] for name in sys.modules})}))
"""


def imported_by(*args: str) -> set[str]:
    """The top-level modules a fresh interpreter has imported after `simvae ARGS` (which must exit 0)."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["code"] in (0, None), done.stdout + done.stderr
    return set(report["modules"])


def test_help_imports_neither_torch_nor_the_training_stack():
    modules = imported_by("--help")
    assert "argparse" in modules  # the probe sees what was imported
    assert not modules & {"torch", "numpy", *TRAINING_STACK}, sorted(modules & {"torch", "numpy", *TRAINING_STACK})


@pytest.mark.parametrize("command", COMMANDS)
def test_each_commands_help_imports_neither_torch_nor_the_training_stack(command):
    modules = imported_by(command, "--help")
    assert not modules & {"torch", *TRAINING_STACK}, sorted(modules & {"torch", *TRAINING_STACK})


def test_data_lists_the_datasets_without_the_training_stack():
    modules = imported_by("data")
    assert "torch" in modules  # it does import the loaders (the probe would see the rest)
    assert not modules & set(TRAINING_STACK), sorted(modules & set(TRAINING_STACK))


def test_the_parser_offers_exactly_the_commands_that_have_a_module():
    usage = build_parser().format_usage()
    assert "{" + ",".join(COMMANDS) + "}" in usage
    for command in COMMANDS:
        assert callable(importlib.import_module(f"simvae.cli.{command}").run)
