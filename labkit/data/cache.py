"""The uint8 tensor cache: decoded sets saved once, keyed by a hash of their manifest."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_write
from .paths import default_root

CACHE_FORMAT = 1  # bump when the layout of a cache file or a decoder's output changes


def cache_dir() -> Path:
    """The cache folder: ``$LABKIT_CACHE``, else ``<default_root()>/../cache``."""
    env = os.environ.get("LABKIT_CACHE")
    return Path(env).expanduser() if env else default_root().parent / "cache"


def fingerprint(files: Sequence[Path], base: Path | None, packaged: bool) -> dict[str, Any]:
    """A digest of the source files: relative paths, sizes and (unless packaged) mtimes."""
    digest = hashlib.sha256()
    for path in sorted(files):
        name = path.relative_to(base).as_posix() if base is not None else str(path)
        try:
            stat = path.stat()
            size, mtime = stat.st_size, (0 if packaged else stat.st_mtime_ns)
        except OSError:
            size, mtime = -1, -1
        digest.update(f"{name}\0{size}\0{mtime}\n".encode())
    return {"files": len(files), "sha256": digest.hexdigest()}


def manifest_key(manifest: dict[str, Any]) -> str:
    """The sha256 of a manifest (as canonical JSON)."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def cache_path(name: str, manifest: dict[str, Any]) -> Path:
    """The cache file of a set: ``<cache_dir>/<name>-<key[:16]>.pt``."""
    return cache_dir() / f"{name}-{manifest_key(manifest)[:16]}.pt"


def save_uint8_cache(path: Path, entry: dict[str, Any]) -> None:
    """Write a cache entry (and a ``.json`` copy of its manifest) atomically."""
    atomic_write(path, lambda tmp: torch.save(entry, tmp))
    manifest = json.dumps(entry["manifest"], indent=2, sort_keys=True)
    atomic_write(path.with_suffix(".json"), lambda tmp: tmp.write_text(manifest))


def load_uint8_cache(path: Path, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """Read a cache entry; None if absent, and None with a warning if corrupt or mismatched."""
    if not path.exists():
        return None
    try:
        entry = torch.load(path, map_location="cpu", weights_only=True)
        if entry["manifest"] != manifest or entry["images"].dtype != torch.uint8:
            raise ValueError("manifest or dtype does not match")
        return entry
    except Exception as error:  # a truncated or foreign file must not stop the course
        warnings.warn(f"rebuilding unreadable cache file {path}: {error}", stacklevel=3)
        return None


def cached(
    name: str, manifest: dict[str, Any], build: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """The cache entry for ``manifest``, built with ``build()`` and saved if not cached yet."""
    path = cache_path(name, manifest)
    entry = load_uint8_cache(path, manifest)
    if entry is None:
        entry = {**build(), "manifest": manifest}
        try:
            save_uint8_cache(path, entry)
        except OSError as error:  # a read-only disk costs speed next time, not this run
            warnings.warn(f"could not write cache file {path}: {error}", stacklevel=3)
    return entry
