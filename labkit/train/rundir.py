"""Run folders: a fresh one per run, never overwriting an earlier one; JSON written atomically."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from ..atomic import atomic_write

COLAB_DRIVE = Path("/content/drive/MyDrive")


def runs_parent(out_dir: str | os.PathLike | None = None) -> Path:
    """Where runs go: the argument, else $LABKIT_RUNS, else Google Drive when it is mounted on
    Colab (so runs survive a disconnect), else ./runs."""
    if out_dir or os.environ.get("LABKIT_RUNS"):
        return Path(out_dir or os.environ["LABKIT_RUNS"])
    if COLAB_DRIVE.is_dir():
        return COLAB_DRIVE / "gan-lab" / "runs"
    return Path("runs")


def new_run_dir(out_dir: str | os.PathLike | None, name: str) -> Path:
    """Create `<parent>/<name>-<YYYYmmdd-HHMMSS>[-k]`; an existing folder is never reused."""
    parent = runs_parent(out_dir)
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for k in range(1000):
        path = parent / (f"{name}-{stamp}" + (f"-{k}" if k else ""))
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a fresh run directory under {parent}")


def latest_run_dir(out_dir: str | os.PathLike | None, name: str) -> Path | None:
    """The newest run `<name>-*` under the parent that has a checkpoint, or None."""
    parent = runs_parent(out_dir)
    if not parent.is_dir():
        return None
    candidates = [p for p in parent.glob(f"{name}-*")
                  if (p / "checkpoints" / "last.pt").is_file()]
    return max(candidates, key=lambda p: (p / "checkpoints" / "last.pt").stat().st_mtime,
               default=None)


def _clean(obj):
    """Make floats JSON-safe (NaN/inf become None) recursively."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_json(path: str | os.PathLike, obj) -> Path:
    """Write `obj` as indented JSON through a temporary file and a rename."""
    text = json.dumps(_clean(obj), indent=2, default=str)
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def read_json(path: str | os.PathLike):
    """Read a JSON file written by `write_json`."""
    return json.loads(Path(path).read_text())
