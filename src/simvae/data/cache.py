"""Decoded images cached as one uint8 tensor file, so image files (JPEG, PNG) are decoded only once.

A cache is a `torch.save`d dict: the metadata it was built for (file list, sizes, preprocessing) plus
`images`. It lives next to the data or, if that directory is read-only, in ~/.cache/simvae under a name
keyed by the data's path; it is written atomically and memory-mapped when loaded. A cache whose metadata
differs from what is asked for (files added, resized, another version) is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch


def cache_paths(directory: Path, name: str) -> list[Path]:
    """Where the cache `name` of the data in `directory` may live, in order of preference."""
    key = hashlib.sha1(str(directory.resolve()).encode()).hexdigest()[:10]
    stem, suffix = os.path.splitext(name)
    return [directory / name, Path.home() / ".cache" / "simvae" / f"{stem}-{key}{suffix}"]


def load_cache(paths: list[Path], meta: dict, count: int) -> torch.Tensor | None:
    """The uint8 (count, C, H, W) images of the first of `paths` built for exactly `meta`, else None."""
    for path in paths:
        if not path.is_file():
            continue
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception:  # unreadable or partial cache: rebuild it
            continue
        if not isinstance(payload, dict) or any(payload.get(key) != value for key, value in meta.items()):
            continue
        images = payload.get("images")
        if isinstance(images, torch.Tensor) and images.dtype == torch.uint8 and images.dim() == 4 and len(images) == count:
            return images
    return None


def save_cache(paths: list[Path], meta: dict, images: torch.Tensor) -> Path | None:
    """Write {**meta, "images": images} to the first writable of `paths` (atomically); None if none is."""
    for path in paths:
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save({**meta, "images": images}, tmp)
            os.replace(tmp, path)
            return path
        except OSError:
            tmp.unlink(missing_ok=True)
    return None
