"""How results are written: atomically (JSON, checkpoints), and Markdown tables (the one helper for each)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from simvae.errors import DiskFull, RunDirError
from simvae.interrupts import critical

TEMP_SUFFIX = ".tmp"


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None], parents: bool = True) -> None:
    """Write `path` through `write(file)` into a uniquely named temporary file beside it, fsync, then rename.

    A reader never sees half a file, two writers never share a temporary file, and a crash or a full disk
    leaves the previous file intact (the rename is atomic on POSIX); SIGINT and SIGTERM wait until it is done
    (`simvae.interrupts.critical`). The file gets the mode a plain
    open() would give it (mkstemp's is 0600). A full disk raises DiskFull naming the device and path.
    `parents` creates missing directories; without it a missing directory is FileNotFoundError (a run
    directory deleted under a training process must not come back).
    """
    path = Path(path)
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    with critical():  # a signal waits until the file is whole (or the temporary one gone)
        _write_and_rename(path, write)


def _write_and_rename(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    temp = None
    try:
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, path)
    except BaseException as error:
        full = _disk_full(error, path.parent)  # before the temporary file goes and frees its space
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        if full:
            raise DiskFull(mount_point(path.parent), path, kept=path.exists()) from None
        raise


def _disk_full(error: BaseException, directory: Path) -> bool:
    # torch.save reports a full disk as RuntimeError("... unexpected pos ...") raised while handling the OSError
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        cause = cause.__cause__ or cause.__context__
    return isinstance(error, RuntimeError) and shutil.disk_usage(directory).free < 1 << 20


def mount_point(directory: Path) -> str:
    """The mount point holding `directory` (what `df` would name)."""
    path = directory.resolve()
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return str(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_path_length(path: str | Path) -> None:
    """RunDirError when a name in `path` is longer than its file system allows: the OS would refuse it only
    later, deep inside (ENAMETOOLONG)."""
    path = Path(path)
    try:
        limit = os.pathconf(next((p for p in path.parents if p.is_dir()), Path(".")), "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    for part in path.parts:
        if len(os.fsencode(part)) > limit:
            raise RunDirError(f"the run directory {str(path)[:40]}... has a name of {len(os.fsencode(part))} bytes, "
                              f"longer than the {limit} this file system allows: pick a shorter one (--out)")


def write_json(path: str | Path, payload: Any, parents: bool = True) -> None:
    """`payload` as indented JSON at `path`, written atomically (see `atomic_write` for `parents`)."""
    text = (json.dumps(payload, indent=2, default=float) + "\n").encode()
    atomic_write(path, lambda file: file.write(text), parents)


def write_text(path: str | Path, text: str) -> None:
    """`text` (UTF-8) at `path`, written atomically: a full disk leaves the previous file, never an empty one."""
    data = text.encode()
    atomic_write(path, lambda file: file.write(data))


def remove_stale_temporaries(directory: str | Path) -> list[Path]:
    """Delete the temporary files an interrupted `atomic_write` left in `directory` (call it only while
    holding the directory's lock: another writer's temporary file would look the same)."""
    stale = [p for p in Path(directory).glob(f".*{TEMP_SUFFIX}") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """The lines of a Markdown table."""
    lines = ["| " + " | ".join(str(cell) for cell in header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
