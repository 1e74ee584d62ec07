"""One way to write a file that is never seen half-written (checkpoints, run records, caches),
and the JSON reader/writer built on it."""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp)` on a temporary path beside `path` (same folder, so the same file
    system), then rename it over `path`: a reader sees the old file or the new one, never part
    of one, and a failure (or an interrupt) leaves `path` as it was and no temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _json_safe(obj):
    """Floats made JSON-safe (NaN and ±inf become null), recursively; keys as strings."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def write_json(path: str | os.PathLike, obj) -> Path:
    """Write `obj` as indented JSON, atomically (NaN/inf as null; other objects as str)."""
    text = json.dumps(_json_safe(obj), indent=2, default=str)
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def read_json(path: str | os.PathLike):
    """Read a JSON file (as written by `write_json`)."""
    return json.loads(Path(path).read_text())
