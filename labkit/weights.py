"""Pretrained weight files (Inception-v3 for FID, VGG19 for the perceptual loss), found without
surprises: an explicit path, else an environment variable, else torch.hub's cache, else a
download into that cache (``labkit.fetch``: resumable, with a short timeout, so that an offline
machine fails in seconds with a message that names the URL and the ways to supply a local copy).
A file in the cache, downloaded or found, must match the sha256 prefix its torch.hub name carries
(``vgg19-dcbb9e9d.pth``: sha256 starting dcbb9e9d)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from .fetch import ChecksumError, DownloadError, fetch

PROBE_TIMEOUT_S = 10.0
HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")  # torch.hub's convention: name-<sha256 prefix>.ext
_verified: set[tuple[str, int, int]] = set()  # (path, size, mtime) of cache files checked already


def sha256_prefix(url: str) -> str | None:
    """The sha256 prefix a torch.hub file name carries (``vgg19-dcbb9e9d.pth``), or None."""
    found = HASH_IN_NAME.search(Path(url).name)
    return found[1] if found else None


def hub_cache_path(url: str) -> Path:
    """Where torch.hub keeps the file downloaded from `url`."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def locate(url: str, weights: str | os.PathLike | None, env: str,
           unavailable: type[FileNotFoundError], what: str, how_to_fix: str,
           timeout: float = PROBE_TIMEOUT_S, size: str = "") -> Path:
    """The weights file for `url`: `weights`, else $`env`, else torch.hub's cache, else
    downloaded there. Raises `unavailable` naming the file that is missing (a given path), or,
    when the download fails or a cached file does not match its sha256 prefix, `what` is
    missing (its file name and `size`), why, and `how_to_fix`."""
    from_env = os.environ.get(env) or None
    for given, source in ((weights, "weights="), (from_env, env)):
        if given is not None:
            path = Path(given).expanduser()
            if not path.is_file():
                raise unavailable(f"{source} points to {path}, which is not a file. "
                                  + how_to_fix)
            return path
    cached = hub_cache_path(url)
    if cached.is_file() and _stamp(cached) in _verified:
        return cached
    try:
        fetch(url, cached, sha256_prefix=sha256_prefix(url), timeout=timeout)
    except DownloadError as exc:  # no network, DNS failure, timeout, HTTP error, bad checksum
        file = f"{cached.name}, {size}" if size else cached.name
        why = ("failed their check" if isinstance(exc, ChecksumError)
               else "are not on this machine and could not be downloaded")
        raise unavailable(f"{what} ({file}) {why} ({type(exc).__name__}: {exc}). "
                          + how_to_fix) from exc
    _verified.add(_stamp(cached))
    return cached


def _stamp(path: Path) -> tuple[str, int, int]:
    info = path.stat()
    return str(path), info.st_size, info.st_mtime_ns
