"""What this machine can hold: sizes read from files and configs are checked against it before anything is
allocated, so an impossible size is one line naming it instead of a MemoryError (or the kernel's OOM killer)."""

from __future__ import annotations

import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def available_memory() -> int:
    """Bytes this process may still allocate: Linux's MemAvailable, capped by a cgroup (container) limit, else
    the physical memory."""
    found = [_meminfo_available(), _cgroup_room()]
    known = [value for value in found if value is not None]
    if known:
        return min(known)
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    try:
        limit = (CGROUP / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int((CGROUP / "memory.current").read_text().strip())
    except (OSError, ValueError):
        return None


def fits_in_memory(nbytes: int) -> bool:
    return nbytes <= available_memory()


def human_bytes(nbytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(nbytes) < 1024 or unit == "PiB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} PiB"


def memory_note(nbytes: int) -> str:
    """'X, more than the Y this machine has available' for messages."""
    return f"{human_bytes(nbytes)}, more than the {human_bytes(available_memory())} of memory this machine has available"
