"""Pretrained weight files (Inception-v3 for FID, VGG19 for the perceptual loss), found without
surprises: an explicit path, else an environment variable, else torch.hub's cache, else a
download into that cache after a short probe, so that an offline machine fails in seconds with a
message that names the URL and the ways to supply a local copy."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import torch

PROBE_TIMEOUT_S = 10.0


def hub_cache_path(url: str) -> Path:
    """Where torch.hub keeps the file downloaded from `url`."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def locate(url: str, weights: str | os.PathLike | None, env: str,
           unavailable: type[FileNotFoundError], what: str, how_to_fix: str,
           timeout: float = PROBE_TIMEOUT_S, size: str = "") -> Path:
    """The weights file for `url`: `weights`, else $`env`, else torch.hub's cache, else
    downloaded there. Raises `unavailable` naming the file that is missing (a given path), or,
    when the download fails, `what` is missing (its file name and `size`), why, and
    `how_to_fix`."""
    from_env = os.environ.get(env) or None
    for given, source in ((weights, "weights="), (from_env, env)):
        if given is not None:
            path = Path(given).expanduser()
            if not path.is_file():
                raise unavailable(f"{source} points to {path}, which is not a file. "
                                  + how_to_fix)
            return path
    cached = hub_cache_path(url)
    if cached.is_file():
        return cached
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"),
                               timeout=timeout).close()
        cached.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(cached), progress=True)
    except (OSError, urllib.error.URLError) as exc:  # no network, DNS failure, timeout, HTTP error
        file = f"{cached.name}, {size}" if size else cached.name
        raise unavailable(f"{what} ({file}) are not on this machine and could not be "
                          f"downloaded ({type(exc).__name__}: {exc}). " + how_to_fix) from exc
    return cached
