"""CPU time of starting the `simvae` command: `simvae --help` (target: under 1.5 s of CPU), and, for scale, a
command's help and `simvae data` (which imports torch and the data loaders).

    python benchmarks/startup.py [--repeats 5]

Each command runs as a child process; its CPU time (user + system) is read with resource.getrusage(RUSAGE_CHILDREN),
so a busy machine slows the wall time but hardly the CPU time. Prints the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (["--help"], ["train", "--help"], ["data"])
TARGET_S = 1.5  # CPU seconds for `simvae --help`


def simvae_command() -> list[str]:
    """The installed `simvae` script beside this interpreter, else `python -m simvae.cli.main`."""
    script = Path(sys.executable).with_name("simvae")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "simvae.cli.main"]


def child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(args: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of `simvae ARGS`."""
    cpu, wall = child_cpu_s(), time.perf_counter()
    subprocess.run([*simvae_command(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return child_cpu_s() - cpu, time.perf_counter() - wall


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, load average {load:.1f}; command: {' '.join(simvae_command())}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="runs per command (the median is reported)")
    args = parser.parse_args(argv)
    if shutil.which(simvae_command()[0]) is None:
        parser.error(f"{simvae_command()[0]} not found")
    print(f"machine: {hardware()}")
    print(f"{'command':<24} {'CPU s (median)':>15} {'CPU s (min)':>12} {'wall s (median)':>16}")
    help_cpu = None
    for command in COMMANDS:
        runs = [measure(command) for _ in range(args.repeats)]
        cpu = statistics.median(run[0] for run in runs)
        help_cpu = cpu if command == ["--help"] else help_cpu
        print(f"{'simvae ' + ' '.join(command):<24} {cpu:>15.3f} {min(run[0] for run in runs):>12.3f} "
              f"{statistics.median(run[1] for run in runs):>16.3f}")
    verdict = "meets" if help_cpu < TARGET_S else "MISSES"
    print(f"simvae --help: {help_cpu:.3f} s of CPU {verdict} the target of {TARGET_S} s")
    return 0 if help_cpu < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
