"""Reader for the IDX format of MNIST and Fashion-MNIST (raw or gzip-compressed)."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from simvae.errors import DataError

_UBYTE = 0x08


def read_idx(path: str | Path, expected_dims: int) -> torch.Tensor:
    """Read an unsigned-byte IDX file into a uint8 tensor, checking magic number and length."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as error:
            raise DataError(f"{path} is a truncated or corrupt gzip file ({error}); delete it and fetch it again") from error
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _UBYTE or raw[3] != expected_dims:
        raise DataError(
            f"{path} is not an unsigned-byte IDX file with {expected_dims} dimension(s) "
            f"(bad magic number {raw[:4].hex() or 'empty'}); delete it and fetch it again"
        )
    header_end = 4 + 4 * expected_dims
    if len(raw) < header_end:
        raise DataError(f"{path} is truncated inside its header; delete it and fetch it again")
    dims = struct.unpack(f">{expected_dims}I", raw[4:header_end])
    expected = int(np.prod(dims))
    if len(raw) - header_end != expected:
        raise DataError(
            f"{path} holds {len(raw) - header_end} bytes of data but its header announces {dims} = {expected}: "
            "the file is truncated or corrupt; delete it and fetch it again"
        )
    array = np.frombuffer(raw, dtype=np.uint8, offset=header_end).reshape(dims)
    return torch.from_numpy(array.copy())


def write_idx(path: str | Path, array: np.ndarray, compress: bool = True) -> None:
    """Write a uint8 array as IDX (used by tests and by generated test fixtures)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, _UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.tobytes()
    Path(path).write_bytes(gzip.compress(payload) if compress else payload)
