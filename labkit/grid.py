"""Grids of chapter parameters: a YAML file (or the same structure as a dict) expanded into
points, each point run once into a folder of its own, its outcome recorded.

    parameters: {profile: cpu, model: dcgan, lr_d: 2.0e-4}   # every point: the baseline
    seeds: [0, 1, 2]                                           # every setting, once per seed
    grid:                                                      # one cartesian product ...
      model: [dcgan, resdcgan]
    grids:                                                     # ... or several, by name (the
      learning_rate:                                           # report makes a table of each;
        lr: [{lr_d: 2.0e-4, lr_g: 2.0e-4}, {lr_d: 6.4e-3, lr_g: 1.28e-3}]   # points: the union)
      model: {model: [dcgan, resdcgan]}

Every key lists values; a value that is a mapping sets several parameters together (its key is
then only a name). A point is `parameters` updated by one value of every key, plus a seed;
points with equal parameters run once, whichever grids name them. Numbers written the way
YAML reads as strings (`2e-4`) are read as numbers.

A sweep folder holds `sweep.json` (the chapter, the grid and every point) and
`points/<setting>-seed<k>/` per point: `point.json` (parameters, status, error, seconds), the
run folder the point's job wrote, and its log. Status: "finished" or "diverged" (a loss went
NaN: counted, not hidden) mean done; "failed" (the job raised) and "running" (interrupted) are
run again, from scratch, on the next call. Who runs a point — this process, local processes or
a Slurm cluster — is the caller's choice (`labkit.sweep`); this module runs them through an
`execute(point, folder)` callable.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import read_json, write_json

DONE = ("finished", "diverged")
GRID_KEYS = ("parameters", "seeds", "grid", "grids")
RESERVED = ("seed", "out_dir", "resume")  # set by the sweep, never by a grid
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class PointFailed(RuntimeError):
    """A grid point's job ended with an error (its message says which and why)."""


# --------------------------------------------------------------------------- grids and points


@dataclass(frozen=True)
class Point:
    """One job of a sweep: chapter parameters (without the seed), a seed, the grids naming it."""

    params: dict = field(hash=False)
    seed: int = 0
    grids: tuple[str, ...] = ()

    @property
    def setting(self) -> str:
        """A short, stable name of the parameters (the same for every seed)."""
        return setting_id(self.params)

    @property
    def id(self) -> str:
        """The point's folder name: `<setting>-seed<k>`."""
        return f"{self.setting}-seed{self.seed}"

    @property
    def parameters(self) -> dict:
        """The chapter parameters of this point, seed included."""
        return {**self.params, "seed": self.seed}


def setting_id(params: Mapping) -> str:
    """8 hex digits of a hash of the parameters (numbers compared as floats: 1 == 1.0)."""
    def canonical(value):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return value

    text = json.dumps({k: canonical(v) for k, v in params.items()}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _number(value):
    """A string that spells a number (YAML reads `2e-4` as a string) as that number."""
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value) if any(c in value for c in ".eE") else int(value)
    return value


def load_grid(path: str | os.PathLike) -> dict:
    """Read and check a grid file (YAML)."""
    import yaml

    grid = yaml.safe_load(Path(path).read_text())
    return check_grid(grid, source=str(path))


def check_grid(grid, source: str = "the grid", reserved: Iterable[str] = ()) -> dict:
    """The grid itself if well formed; else a ValueError saying what is wrong. `reserved` names
    parameters (besides `RESERVED`) that a grid may not set."""
    if not isinstance(grid, Mapping):
        raise ValueError(f"{source}: expected a mapping with keys {GRID_KEYS}, got {grid!r}")
    unknown = sorted(set(grid) - set(GRID_KEYS))
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {unknown}; expected {GRID_KEYS}")
    if ("grid" in grid) == ("grids" in grid):
        raise ValueError(f"{source}: give exactly one of `grid` (one cartesian product) or "
                         "`grids` (named products)")
    seeds = grid.get("seeds", [0])
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        raise ValueError(f"{source}: seeds must be a non-empty list of integers, got {seeds!r}")
    named = grid["grids"] if "grids" in grid else {"grid": grid["grid"]}
    if not isinstance(named, Mapping) or not named:
        raise ValueError(f"{source}: `grids` must map names to grids, got {named!r}")
    for name, sub in named.items():
        if not isinstance(sub, Mapping) or not sub:
            raise ValueError(f"{source}: grid {name!r} must map parameters to lists of values")
        for key, values in sub.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"{source}: grid {name!r}, {key!r}: expected a non-empty list "
                                 f"of values, got {values!r}")
    parameters = grid.get("parameters") or {}
    every = [parameters] + [v for sub in named.values() for vs in sub.values() for v in vs
                            if isinstance(v, Mapping)]
    every_key = {k for p in every for k in p} | {k for sub in named.values() for k, vs in
                                                 sub.items() if not isinstance(vs[0], Mapping)}
    reserved = sorted(every_key & {*RESERVED, *reserved})
    if reserved:
        raise ValueError(f"{source}: {reserved} cannot be grid parameters (seeds go in `seeds`; "
                         "the sweep sets the others)")
    return dict(grid)


def named_grids(grid: Mapping) -> dict:
    """The grid's named cartesian products (a single `grid` is named "grid")."""
    return dict(grid["grids"]) if "grids" in grid else {"grid": grid["grid"]}


def expand(grid: Mapping, fixed: Mapping | None = None,
           seeds: Iterable[int] | None = None, reserved: Iterable[str] = ()) -> list[Point]:
    """Every point of the grid, in order, each once: `parameters`, then `fixed`, then the
    grid's values; once per seed (`seeds`, else the grid's, else [0])."""
    grid = check_grid(grid, reserved=reserved)
    base = {**(grid.get("parameters") or {}), **(fixed or {})}
    seeds = list(seeds) if seeds is not None else grid.get("seeds", [0])
    points: dict[str, Point] = {}
    for name, sub in named_grids(grid).items():
        keys = list(sub)
        for combination in itertools.product(*(sub[k] for k in keys)):
            params = dict(base)
            for key, value in zip(keys, combination):
                params.update(value if isinstance(value, Mapping) else {key: value})
            params = {k: _number(v) for k, v in params.items()}
            for seed in seeds:
                point = Point(params, seed, (name,))
                if point.id in points:
                    known = points[point.id]
                    point = Point(known.params, seed, tuple(dict.fromkeys(known.grids + (name,))))
                points[point.id] = point
    return list(points.values())


# --------------------------------------------------------------------------- running points


def read_point(point_dir: Path) -> dict | None:
    """A point's record (point.json), or None if it has none yet."""
    path = Path(point_dir) / "point.json"
    return read_json(path) if path.is_file() else None


def run_points(points: list[Point], sweep_dir: str | os.PathLike,
               execute: Callable[[Point, Path], dict], *, jobs: int = 1,
               grid: Mapping | None = None, chapter: str | None = None,
               echo: Callable[[str], None] = print) -> list[dict]:
    """Run every point not done yet (in `jobs` parallel threads), each into its own folder.

    `execute(point, folder)` does the work and returns at least {"status", "run_dir"}; an
    exception marks the point "failed" with its error, and the sweep goes on. Returns the
    records of all points (skipped ones included), in the order given.
    """
    sweep_dir = Path(sweep_dir)
    (sweep_dir / "points").mkdir(parents=True, exist_ok=True)
    _write_sweep_json(sweep_dir, points, grid, chapter)
    records: dict[str, dict] = {}
    todo = []
    for point in points:
        record = read_point(sweep_dir / "points" / point.id)
        if record and record.get("status") in DONE:
            records[point.id] = {**record, "skipped": True}
        else:
            todo.append(point)
    if len(todo) < len(points):
        echo(f"{len(points) - len(todo)} of {len(points)} points already done: skipped")

    def one(numbered: tuple[int, Point]) -> dict:
        i, point = numbered
        record = _run_one(point, sweep_dir / "points" / point.id, execute)
        error = f": {record['error']}" if record.get("error") else ""
        echo(f"[{i}/{len(todo)}] {point.id} {_describe(point.params, grid)}: "
             f"{record['status']} in {record['seconds']:.1f} s{error}")
        return record

    numbered = list(enumerate(todo, start=1))
    if jobs > 1 and len(todo) > 1:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            done = list(pool.map(one, numbered))
    else:
        done = [one(item) for item in numbered]
    records.update({r["id"]: r for r in done})
    return [records[p.id] for p in points]


def _run_one(point: Point, folder: Path, execute: Callable[[Point, Path], dict]) -> dict:
    """Run one point from scratch in `folder` and record what happened in point.json."""
    if folder.exists():  # an earlier attempt that failed or was interrupted
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    record = {"id": point.id, "setting": point.setting, "seed": point.seed,
              "params": point.parameters, "grids": list(point.grids), "status": "running",
              "error": None, "run_dir": None, "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    write_json(folder / "point.json", record)
    started = time.perf_counter()
    try:
        outcome = execute(point, folder)
        run_dir = outcome.get("run_dir")
        record.update(status=outcome.get("status", "finished"), error=outcome.get("error"),
                      run_dir=os.path.relpath(run_dir, folder) if run_dir else None)
    except Exception as error:  # any failure of a job is recorded, not raised
        message = str(error) if isinstance(error, PointFailed) else \
            f"{type(error).__name__}: {error}"
        record.update(status="failed", error=message)
    record["seconds"] = time.perf_counter() - started
    write_json(folder / "point.json", record)
    return record


def _write_sweep_json(sweep_dir: Path, points: list[Point], grid: Mapping | None,
                      chapter: str | None) -> None:
    """sweep.json: the chapter, the grid and every point (earlier points kept)."""
    path = sweep_dir / "sweep.json"
    old = read_json(path) if path.is_file() else {}
    listed = {p["id"]: p for p in old.get("points", [])}
    for point in points:
        listed[point.id] = {"id": point.id, "setting": point.setting, "seed": point.seed,
                            "params": point.parameters, "grids": list(point.grids)}
    write_json(path, {"chapter": chapter or old.get("chapter"),
                      "grid": grid if grid is not None else old.get("grid"),
                      "points": list(listed.values())})


def _describe(params: Mapping, grid: Mapping | None) -> str:
    """The parameters that differ from the grid's baseline, as `k=v` words."""
    base = (grid or {}).get("parameters") or {}
    changed = {k: v for k, v in params.items() if base.get(k) != v and k != "profile"}
    return " ".join(f"{k}={v}" for k, v in changed.items()) or "(baseline)"
