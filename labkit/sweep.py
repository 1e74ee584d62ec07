"""Sweeps: a grid of notebook parameters, one independent job per grid point, a folder each.

A grid (a YAML file, or the same structure as a dict):

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

A sweep folder holds `sweep.json` (the grid and every point) and `points/<setting>-seed<k>/`
per point: `point.json` (parameters, status, error, seconds), the training run folder, and,
when `labkit sweep` ran it, `notebook.ipynb` (the executed notebook) and `papermill.log`.
Status: "finished" or "diverged" (a loss went NaN: counted, not hidden) mean done; "failed"
(the job raised) and "running" (interrupted) are run again, from scratch, on the next call.

`run_point` is the job of chapter 6 (the improved DCGAN): parameters in, run folder out. The
chapter's notebook calls it for one point (`single_run=True`, which is how `labkit sweep`
runs it through papermill) or, in-process, for every point of its profile's grid.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch

from .train.rundir import read_json, runs_parent, write_json

CHAPTER = "improved_dcgan"
DONE = ("finished", "diverged")
MODELS = ("dcgan", "resdcgan")
METRICS = ("swd", "fid")
SWD_OPTIONS = {"directions": 128, "repeats": 2, "seed": 0}  # the same patches for every run
COLLAPSE_BELOW = 0.25  # samples' spread / real images' spread under this: mode collapse
GRID_KEYS = ("parameters", "seeds", "grid", "grids")
NOT_GRID_PARAMETERS = ("seed", "single_run", "out_dir", "sweep_dir", "grid", "seeds")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class PointFailed(RuntimeError):
    """A grid point's job ended with an error (its message says which and why)."""


# --------------------------------------------------------------------------- grids and points


@dataclass(frozen=True)
class Point:
    """One job of a sweep: notebook parameters (without the seed), a seed, the grids naming it."""

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
        """The notebook parameters of this point, seed included."""
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


def check_grid(grid, source: str = "the grid") -> dict:
    """The grid itself if well formed; else a ValueError saying what is wrong."""
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
    reserved = sorted(every_key & set(NOT_GRID_PARAMETERS))
    if reserved:
        raise ValueError(f"{source}: {reserved} cannot be grid parameters (seeds go in `seeds`; "
                         "the sweep sets the others)")
    return dict(grid)


def named_grids(grid: Mapping) -> dict:
    """The grid's named cartesian products (a single `grid` is named "grid")."""
    return dict(grid["grids"]) if "grids" in grid else {"grid": grid["grid"]}


def expand(grid: Mapping, fixed: Mapping | None = None,
           seeds: Iterable[int] | None = None) -> list[Point]:
    """Every point of the grid, in order, each once: `parameters`, then `fixed`, then the
    grid's values; once per seed (`seeds`, else the grid's, else [0])."""
    grid = check_grid(grid)
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
               grid: Mapping | None = None, notebook: str | None = None,
               echo: Callable[[str], None] = print) -> list[dict]:
    """Run every point not done yet (in `jobs` parallel threads), each into its own folder.

    `execute(point, folder)` does the work and returns at least {"status", "run_dir"}; an
    exception marks the point "failed" with its error, and the sweep goes on. Returns the
    records of all points (skipped ones included), in the order given.
    """
    sweep_dir = Path(sweep_dir)
    (sweep_dir / "points").mkdir(parents=True, exist_ok=True)
    _write_sweep_json(sweep_dir, points, grid, notebook)
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
                      notebook: str | None) -> None:
    """sweep.json: the grid, the notebook and every point (earlier points kept)."""
    path = sweep_dir / "sweep.json"
    old = read_json(path) if path.is_file() else {}
    listed = {p["id"]: p for p in old.get("points", [])}
    for point in points:
        listed[point.id] = {"id": point.id, "setting": point.setting, "seed": point.seed,
                            "params": point.parameters, "grids": list(point.grids)}
    write_json(path, {"chapter": CHAPTER, "notebook": notebook or old.get("notebook"),
                      "grid": grid if grid is not None else old.get("grid"),
                      "points": list(listed.values())})


def _describe(params: Mapping, grid: Mapping | None) -> str:
    """The parameters that differ from the grid's baseline, as `k=v` words."""
    base = (grid or {}).get("parameters") or {}
    changed = {k: v for k, v in params.items() if base.get(k) != v and k != "profile"}
    return " ".join(f"{k}={v}" for k, v in changed.items()) or "(baseline)"


def in_process(point: Point, folder: Path) -> dict:
    """Execute a point in this process: `run_point` with its parameters, quietly."""
    return run_point(point.parameters, folder, quiet=True)


class PapermillExecutor:
    """Execute a point as `labkit sweep` does: the notebook, run by papermill in a process of
    its own with the point's parameters plus single_run=True and out_dir=the point's folder."""

    def __init__(self, notebook: str | os.PathLike, *, kernel: str | None = None,
                 threads: int | None = None):
        self.notebook = Path(notebook).resolve()
        self.kernel, self.threads = kernel, threads

    def __call__(self, point: Point, folder: Path) -> dict:
        """Run the notebook for `point` in `folder`; raise PointFailed with the cell's error."""
        import yaml

        folder = Path(folder).resolve()
        parameters = {**point.parameters, "single_run": True, "out_dir": str(folder)}
        (folder / "parameters.yaml").write_text(yaml.safe_dump(parameters, sort_keys=False))
        executed = folder / "notebook.ipynb"
        command = [sys.executable, "-m", "papermill", str(self.notebook), str(executed),
                   "-f", str(folder / "parameters.yaml"), "--cwd", str(folder),
                   "--no-progress-bar"]
        if self.kernel:
            command += ["-k", self.kernel]
        env = dict(os.environ)
        if self.threads:  # parallel jobs share the cores instead of each taking all of them
            for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env.setdefault(name, str(self.threads))
        with open(folder / "papermill.log", "w") as log:
            result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                    cwd=folder, check=False)
        if result.returncode:
            raise PointFailed(notebook_error(executed) or _tail(folder / "papermill.log"))
        return outcome_of(folder)


def notebook_error(path: Path) -> str | None:
    """`ename: evalue` of the first cell that raised in an executed notebook, if any."""
    if not Path(path).is_file():
        return None
    cells = json.loads(Path(path).read_text()).get("cells", [])
    for cell in cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"{output.get('ename')}: {output.get('evalue')}"
    return None


def _tail(path: Path, lines: int = 5) -> str:
    text = Path(path).read_text(errors="replace").strip().splitlines() if path.is_file() else []
    return " | ".join(text[-lines:]) or "the job failed without a message"


def outcome_of(folder: Path) -> dict:
    """What the training run inside `folder` ended as: {"status", "run_dir", "error"}."""
    runs = sorted(p.parent for p in Path(folder).glob("*/config.json"))
    if not runs:
        raise PointFailed(f"the job wrote no run folder (config.json) in {folder}")
    run_dir = runs[-1]
    metrics = read_json(run_dir / "metrics.json") if (run_dir / "metrics.json").is_file() else {}
    status = metrics.get("status")
    if status not in DONE:
        raise PointFailed(f"training in {run_dir} ended with status {status!r}")
    return {"status": status, "run_dir": str(run_dir), "error": metrics.get("error")}


# --------------------------------------------------------------------------- chapter 6's job


def run_point(params: Mapping, out_dir: str | os.PathLike | None = None, *,
              quiet: bool = False) -> dict:
    """Train one improved-DCGAN setting (a grid point of chapter 6) into a fresh run folder.

    `params` are the notebook's parameters (`profile` and any knobs; a resolved configuration
    will do). Models: "dcgan" or "resdcgan" (the seed's modified pair). The metric is
    evaluated at `eval_epochs` (and the last epoch) on fixed latent vectors against a fixed
    set of real images, the same for every run. A NaN loss ends the run as "diverged" and is
    reported, not raised. metrics.json gains `status`, `curve_<metric>` ({epoch: value}),
    `sample_spread` (the samples' per-pixel std over the real images') and `collapsed`.
    `quiet` sends the training log to train.log in the run folder instead of the screen.
    """
    from . import metrics, profiles
    from .data import load
    from .train import TrainConfig, TrainingDiverged, train_gan

    params = dict(params)
    cfg = profiles.resolve(CHAPTER, params.pop("profile", "auto"), **params)
    if out_dir is not None:
        cfg["out_dir"] = str(out_dir)
    check_point_config(cfg)
    train_config = TrainConfig.from_profile(cfg, name=CHAPTER, progress=False, resume=False,
                                            checkpoint_every=cfg.epochs)
    if cfg.metric == "fid":
        metrics.inception_weights_path()  # fails now, saying how to fix it, if unavailable
    data = load(cfg.dataset, root=cfg.data_root, split=cfg.split, image_size=cfg.image_size,
                channels=cfg.channels, subset=cfg.subset)
    torch.manual_seed(cfg.seed)
    generator, discriminator = build_models(cfg, channels=data.images.shape[1])
    real = data.float_images(cfg.eval_samples, generator=torch.Generator().manual_seed(0))
    evaluate = metrics.MetricCallback(metric_function(cfg.metric), real, name=cfg.metric,
                                      keep_best=False, verbose=not quiet)
    due = set(cfg.eval_epochs) | {cfg.epochs}

    def at_eval_epochs(run, epoch: int) -> None:
        if epoch in due:
            evaluate(run, epoch)

    parent = runs_parent(cfg.out_dir)
    before = set(parent.glob(f"{CHAPTER}-*")) if parent.is_dir() else set()
    log = io.StringIO()
    quiet_output = contextlib.redirect_stdout(log) if quiet else contextlib.nullcontext()
    try:
        with quiet_output:
            run = train_gan(generator, discriminator, data, train_config,
                            callbacks=(at_eval_epochs,))
    except TrainingDiverged as error:
        fresh = sorted(set(parent.glob(f"{CHAPTER}-*")) - before)
        if not fresh:
            raise
        return _diverged(fresh[-1], cfg.metric, str(error), log.getvalue())
    spread = sample_spread(run.generate(64), data.float_images(64, torch.Generator()
                                                               .manual_seed(0)))
    run.metrics.update({f"curve_{cfg.metric}": curve(run.history, cfg.metric),
                        "sample_spread": spread, "collapsed": spread < COLLAPSE_BELOW,
                        "model": cfg.model})
    write_json(run.dir / "metrics.json", run.metrics)
    if quiet:
        (run.dir / "train.log").write_text(log.getvalue())
    return {"status": run.metrics["status"], "run_dir": str(run.dir), "error": None,
            "metric": cfg.metric, "curve": run.metrics[f"curve_{cfg.metric}"],
            "seconds_per_epoch": run.metrics["seconds_per_epoch"], "sample_spread": spread,
            "collapsed": spread < COLLAPSE_BELOW}


def check_point_config(cfg: Mapping) -> None:
    """Raise ValueError on a chapter-6 setting that the profiles' type checks let through."""
    if cfg["model"] not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {cfg['model']!r}")
    if cfg["metric"] not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {cfg['metric']!r}")
    epochs = cfg["eval_epochs"]
    if not all(isinstance(e, int) and 1 <= e for e in epochs):
        raise ValueError(f"eval_epochs must be positive epoch numbers, got {epochs!r}")


def build_models(cfg: Mapping, channels: int):
    """The generator and discriminator named by cfg["model"], at the configured sizes."""
    from .models import dcgan, resdcgan

    sizes = {"image_size": cfg["image_size"], "channels": channels, "nz": cfg["nz"],
             "ngf": cfg["ngf"], "ndf": cfg["ndf"]}
    if cfg["model"] == "resdcgan":
        return resdcgan(**sizes, blocks=cfg["blocks"])
    return dcgan(**sizes)


def metric_function(name: str) -> Callable:
    """The quality metric (lower is better): Inception FID, or SWD with fixed options."""
    from . import metrics

    if name == "fid":
        return partial(metrics.fid, features="inception")
    return partial(metrics.swd, **SWD_OPTIONS)


def curve(history: Mapping, name: str) -> dict[int, float]:
    """The metric's value at each evaluated epoch, from a run's history."""
    return {e["epoch"]: e["value"] for e in history.get("metrics", {}).get(name, [])}


def sample_spread(fake: torch.Tensor, real: torch.Tensor) -> float:
    """The samples' mean per-pixel standard deviation over the real images': ~1 when they vary
    as much as the data, near 0 when the generator makes (nearly) one image for every z."""
    return float(fake.float().std(dim=0).mean() / real.float().std(dim=0).mean())


def _diverged(run_dir: Path, metric: str, message: str, log: str) -> dict:
    """Record a run that went NaN in its metrics.json; return the point's outcome."""
    path = run_dir / "metrics.json"
    recorded = read_json(path) if path.is_file() else {}
    history = read_json(run_dir / "history.json") if (run_dir / "history.json").is_file() else {}
    recorded.update({"status": "diverged", "error": message,
                     f"curve_{metric}": curve(history, metric)})
    write_json(path, recorded)
    if log:
        (run_dir / "train.log").write_text(log)
    return {"status": "diverged", "run_dir": str(run_dir), "error": message, "metric": metric,
            "curve": recorded[f"curve_{metric}"]}


# --------------------------------------------------------------------------- the command


def notebook_parameters(notebook: str | os.PathLike) -> set[str]:
    """The names in the notebook's `parameters` cell (papermill reads them)."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)))


def main(argv: list[str] | None = None) -> None:
    """`labkit sweep NOTEBOOK --grid GRID.yaml [--jobs N] [--out DIR]`."""
    parser = argparse.ArgumentParser(
        prog="labkit sweep",
        description="Execute NOTEBOOK once per grid point with papermill, each in its own "
                    "folder under --out; points already done are skipped; then report.")
    parser.add_argument("notebook")
    parser.add_argument("--grid", required=True, help="the grid file (YAML)")
    parser.add_argument("--jobs", type=int, default=1, help="points run in parallel")
    parser.add_argument("--out", help="the sweep folder (default: runs/<grid file name>)")
    parser.add_argument("--kernel", help="the Jupyter kernel (default: the notebook's)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    grid = load_grid(args.grid)
    points = expand(grid)
    names = {k for p in points for k in p.parameters}
    unknown = sorted(names - notebook_parameters(args.notebook))
    if unknown:
        parser.error(f"{args.notebook} has no parameter(s) {unknown}")
    out = Path(args.out) if args.out else runs_parent() / Path(args.grid).stem
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    settings = len({p.setting for p in points})
    print(f"{len(points)} points ({settings} settings, seeds {grid.get('seeds', [0])}) -> {out}")
    records = run_points(points, out, PapermillExecutor(args.notebook, kernel=args.kernel,
                                                        threads=threads),
                         jobs=args.jobs, grid=grid, notebook=str(args.notebook))
    from .report import write_report

    written = write_report(out)
    counts = {s: sum(r["status"] == s for r in records) for s in ("finished", "diverged",
                                                                   "failed")}
    print(", ".join(f"{n} {s}" for s, n in counts.items()) + f"; report: {written.markdown}")
    if counts["failed"]:
        raise SystemExit(1)
