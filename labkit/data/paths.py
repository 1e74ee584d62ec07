"""Where datasets live on disk: the per-user default root and the root a call resolves to."""

from __future__ import annotations

import os
from pathlib import Path

from .. import colab


def default_root() -> Path:
    """The per-user data folder: ``MyDrive/gan-lab/data`` when Google Drive is mounted (Colab: it
    survives a disconnect), else ``$XDG_CACHE_HOME/labkit/data``, else ``~/.cache/labkit/data``."""
    drive = colab.drive_folder()
    if drive is not None:
        return drive / "data"
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home).expanduser() / "labkit" / "data"


def resolve_root(root: str | os.PathLike | None) -> Path:
    """The data root of a call: ``root``, else ``$LABKIT_DATA``, else ``default_root()``."""
    if root is None:
        root = os.environ.get("LABKIT_DATA") or default_root()
    return Path(root).expanduser()
