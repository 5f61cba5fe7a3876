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

from simvae.errors import DiskFull

TEMP_SUFFIX = ".tmp"


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write `path` through `write(file)` into a uniquely named temporary file beside it, fsync, then rename.

    A reader never sees half a file, two writers never share a temporary file, and a crash or a full disk
    leaves the previous file intact (the rename is atomic on POSIX). The file gets the mode a plain
    open() would give it (mkstemp's is 0600). A full disk raises DiskFull naming the device and path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
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
            raise DiskFull(_device(path.parent), path, kept=path.exists()) from None
        raise


def _disk_full(error: BaseException, directory: Path) -> bool:
    # torch.save reports a full disk as RuntimeError("... unexpected pos ...") raised while handling the OSError
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        cause = cause.__cause__ or cause.__context__
    return isinstance(error, RuntimeError) and shutil.disk_usage(directory).free < 1 << 20


def _device(directory: Path) -> str:
    """The mount point holding `directory` (what `df` would name)."""
    path = directory.resolve()
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return str(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | Path, payload: Any) -> None:
    """`payload` as indented JSON at `path`, written atomically."""
    text = (json.dumps(payload, indent=2, default=float) + "\n").encode()
    atomic_write(path, lambda file: file.write(text))


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
