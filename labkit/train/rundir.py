"""`RunDir`: one run's folder, and the only code that knows its layout and writes its files.

A run folder holds

    config.json        what ran: settings, architectures, data, device, versions
    history.json       per-iteration losses and D outputs, per-epoch records, metric evaluations
    metrics.json       the run's numbers: final losses, throughput, status, chapter measurements
    claims.json        the seed claims checked by this run (labkit.claims)
    <table>.json/.csv  a chapter's tables (e.g. cross_dataset)
    *.png              figures
    samples/epoch_NNN.png, checkpoints/last.pt, checkpoints/best.pt
    <child>/           runs inside a chapter run (e.g. one per dataset), each a RunDir itself

Every file is written atomically (a reader sees the old or the new file, never part of one), and
`create` never reuses a folder, so no run overwrites another. The checkpoint format itself is
owned by `labkit.train.checkpoint`; `RunDir` says where checkpoints go.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from .. import colab
from ..atomic import atomic_write, read_json, write_json

CONFIG, HISTORY, METRICS, CLAIMS = "config.json", "history.json", "metrics.json", "claims.json"
LOCK = ".lock"

try:  # POSIX: an advisory lock that the system releases when its process dies
    import fcntl
except ImportError:  # Windows: no lock (one run per folder is then up to the user)
    fcntl = None


class RunInUse(RuntimeError):
    """Another process is training in this run folder."""


def runs_parent(out_dir: str | os.PathLike | None = None) -> Path:
    """Where runs go: the argument, else $LABKIT_RUNS, else Google Drive when it is mounted on
    Colab (so runs survive a disconnect), else ./runs."""
    if out_dir or os.environ.get("LABKIT_RUNS"):
        return Path(out_dir or os.environ["LABKIT_RUNS"])
    drive = colab.drive_folder()
    if drive is not None:
        return drive / "runs"
    return Path("runs")


class RunDir:
    """A run folder: paths of its files, and atomic readers and writers for its records."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    # ------------------------------------------------------------------ finding and creating

    @classmethod
    def create(cls, name: str, out_dir: str | os.PathLike | None = None) -> RunDir:
        """A fresh folder `<parent>/<name>-<YYYYmmdd-HHMMSS>[-k]`; an existing one is never
        reused."""
        parent = runs_parent(out_dir)
        parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for k in range(1000):
            path = parent / (f"{name}-{stamp}" + (f"-{k}" if k else ""))
            try:
                path.mkdir()
                return cls(path)
            except FileExistsError:
                continue
        raise RuntimeError(f"could not create a fresh run folder under {parent}")

    @classmethod
    def latest(cls, name: str, out_dir: str | os.PathLike | None = None,
               *, with_checkpoint: bool = False) -> RunDir | None:
        """The run `<name>-<stamp>[-k]` under the parent that was created last (the one a
        resume continues), or None; with `with_checkpoint`, the last created that holds a
        checkpoint."""
        parent = runs_parent(out_dir)
        if not parent.is_dir():
            return None
        found = []
        for path in parent.iterdir():
            match = re.fullmatch(rf"{re.escape(name)}-(\d{{8}}-\d{{6}})(?:-(\d+))?", path.name)
            if match and path.is_dir():
                found.append(((match.group(1), int(match.group(2) or 0)), cls(path)))
        if with_checkpoint:
            found = [(k, r) for k, r in found if r.has_checkpoint]
        return max(found, key=lambda item: item[0], default=(None, None))[1]

    def child(self, name: str) -> RunDir:
        """The run folder `name` inside this one (created if missing): a training run that is
        part of a chapter run."""
        path = self.path / name
        path.mkdir(parents=True, exist_ok=True)
        return RunDir(path)

    def children(self) -> list[RunDir]:
        """The run folders inside this one (those holding a config.json), by name."""
        return [RunDir(p.parent) for p in sorted(self.path.glob(f"*/{CONFIG}"))]

    # ------------------------------------------------------------------ paths

    @property
    def name(self) -> str:
        """The folder's name, e.g. dcgan-20261201-101500."""
        return self.path.name

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, RunDir) and self.path == other.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def checkpoint_path(self) -> Path:
        """checkpoints/last.pt: the latest finished epoch."""
        return self.path / "checkpoints" / "last.pt"

    @property
    def best_path(self) -> Path:
        """checkpoints/best.pt: the epoch with the best evaluated metric."""
        return self.path / "checkpoints" / "best.pt"

    @property
    def has_checkpoint(self) -> bool:
        """Whether a finished epoch was checkpointed here."""
        return self.checkpoint_path.is_file()

    def sample_path(self, epoch: int) -> Path:
        """samples/epoch_NNN.png: the fixed-noise grid saved at the end of `epoch` (folder made)."""
        path = self.path / "samples" / f"epoch_{epoch:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def sample_paths(self) -> dict[int, Path]:
        """{epoch: grid} of every saved sample grid."""
        return {int(p.stem.split("_")[1]): p for p in sorted(self.path.glob("samples/epoch_*.png"))}

    def figure(self, name: str) -> Path:
        """Where the figure `name` goes: `<run>/<name>.png`."""
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path / f"{name}.png"

    # ------------------------------------------------------------------ records

    def write_config(self, config: dict) -> Path:
        """config.json (what ran)."""
        return write_json(self.path / CONFIG, config)

    def read_config(self) -> dict:
        """config.json, or {} when the run has none yet."""
        return self._read(CONFIG)

    def write_history(self, history: dict) -> Path:
        """history.json."""
        return write_json(self.path / HISTORY, history)

    def read_history(self) -> dict:
        """history.json, or {}."""
        return self._read(HISTORY)

    def write_metrics(self, metrics: dict) -> Path:
        """metrics.json, replaced as a whole."""
        return write_json(self.path / METRICS, metrics)

    def update_metrics(self, **values) -> dict:
        """Add or replace entries of metrics.json; returns the whole record."""
        metrics = {**self.read_metrics(), **values}
        self.write_metrics(metrics)
        return metrics

    def read_metrics(self) -> dict:
        """metrics.json, or {}."""
        return self._read(METRICS)

    def write_claims(self, claims: list[dict]) -> Path:
        """claims.json: a list of claim records (see labkit.claims)."""
        return write_json(self.path / CLAIMS, claims)

    def read_claims(self) -> list[dict]:
        """claims.json, or [] when the run checked no claims."""
        path = self.path / CLAIMS
        return read_json(path) if path.is_file() else []

    def write_table(self, name: str, rows: list[dict], **about) -> Path:
        """`<name>.json` ({**about, "rows": rows}) and `<name>.csv` (the rows); returns the JSON."""
        columns = list(dict.fromkeys(k for row in rows for k in row))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: _csv_cell(v) for k, v in row.items()} for row in rows)
        atomic_write(self.path / f"{name}.csv", lambda tmp: tmp.write_text(text.getvalue()))
        return write_json(self.path / f"{name}.json", {**about, "rows": rows})

    def read_table(self, name: str) -> dict:
        """`<name>.json` as written by `write_table`."""
        return read_json(self.path / f"{name}.json")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold this folder for one training process: a second process that tries while the
        first trains gets RunInUse (the lock dies with its process, even on kill -9)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / LOCK, "a+") as handle:
            if fcntl is not None:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise RunInUse(f"{self.path} is being trained by {holder}; wait for it to "
                                   "finish, or start a fresh run (resume=False)") from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"process {os.getpid()}")
            handle.flush()
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def remove_partial_files(self) -> list[Path]:
        """Delete temporary files that a killed process left half-written (an atomic write
        that never reached its rename); call it holding the lock. Returns what it removed."""
        partial = [p for folder in (self.path, self.path / "checkpoints", self.path / "samples")
                   for p in folder.glob(".*.tmp")]
        for path in partial:
            path.unlink(missing_ok=True)
        return partial

    def keep_best(self) -> Path:
        """Copy checkpoints/last.pt to checkpoints/best.pt, atomically."""
        source = self.checkpoint_path
        return atomic_write(self.best_path, lambda tmp: shutil.copyfile(source, tmp))

    def _read(self, name: str) -> dict:
        path = self.path / name
        return read_json(path) if path.is_file() else {}


def _csv_cell(value):
    """A CSV cell: containers as compact text, everything else as is."""
    return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else value


def differences(recorded: dict, current: dict, ignore: tuple[str, ...] = ()) -> list[str]:
    """'key: recorded → current' for each setting that differs (keys in `ignore` skipped)."""
    keys = sorted((set(recorded) | set(current)) - set(ignore))
    return [f"{k}: {recorded.get(k)!r} → {current.get(k)!r}" for k in keys
            if _comparable(recorded.get(k)) != _comparable(current.get(k))]


def _comparable(value):
    """Tuples and lists compare equal (JSON turns tuples into lists); ints equal floats."""
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    return value
