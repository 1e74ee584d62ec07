"""`labkit sweep CHAPTER --grid GRID.yaml`: a chapter run once per grid point, each point in a
folder of its own, by local processes (default) or on a Slurm cluster through submitit.

    labkit sweep cgan --grid grid.yaml --jobs 2                 # two local processes at a time
    labkit sweep ablations --grid labkit/chapters/grids/ablations_cpu.yaml --executor slurm \\
        --slurm-partition gpu --slurm-gpus 1 --slurm-time 60   # the same grid on a cluster

Grid files and points are described in `labkit.grid`. A point is `labkit run CHAPTER` with the
point's parameters and `out_dir` set to the point's folder; a chapter may add parameters every
point needs (`SWEEP_PARAMETERS`, e.g. chapter 6's `single_run=True`). Points already done are
skipped, so the same command continues an interrupted sweep; then `labkit.report` tables it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from . import chapters, grid
from .commandline import Parser, UsageError
from .train.rundir import RunDir, runs_parent

EXECUTORS = ("local", "slurm")


def point_parameters(chapter: str, point: grid.Point) -> dict:
    """The parameters a point runs with: the chapter's sweep parameters, then the point's."""
    return {**getattr(chapters.get(chapter), "SWEEP_PARAMETERS", {}), **point.parameters}


def outcome_of(folder: str | os.PathLike) -> dict:
    """What the run a point's job wrote in `folder` ended as: {"status", "run_dir", "error"}."""
    runs = RunDir(folder).children()
    if not runs:
        raise grid.PointFailed(f"the job wrote no run folder (config.json) in {folder}")
    run = max(runs, key=lambda r: r.path.stat().st_mtime)
    metrics = run.read_metrics()
    status = metrics.get("status", "finished" if run.read_claims() else None)
    if status not in grid.DONE:
        raise grid.PointFailed(f"the run in {run} ended with status {status!r}")
    return {"status": status, "run_dir": str(run), "error": metrics.get("error")}


def run_point(chapter: str, params: Mapping, folder: str | os.PathLike) -> dict:
    """Run one point in this process, its output in `folder`/run.log; returns its outcome.
    (What a submitit job executes; a diverged run is an outcome, not an error.)"""
    from .train import TrainingDiverged

    module = chapters.get(chapter)
    params = dict(params)
    profile = params.pop("profile", "auto")
    cfg = module.Config.resolve(profile, **{**params, "out_dir": str(folder)})
    with open(Path(folder) / "run.log", "a") as log, contextlib.redirect_stdout(log):
        try:
            module.run(cfg)
        except TrainingDiverged as error:
            print(f"diverged: {error}")
    return outcome_of(folder)


class LocalProcesses:
    """Run each point as `python -m labkit run CHAPTER ... -p out_dir=<folder>` in a process of
    its own (its log in run.log); `threads` CPU threads each."""

    def __init__(self, chapter: str, threads: int | None = None):
        self.chapter, self.threads = chapter, threads

    def __call__(self, point: grid.Point, folder: Path) -> dict:
        """Run the point; raise PointFailed with the log's last lines if the process fails."""
        params = dict(point_parameters(self.chapter, point))
        profile = params.pop("profile", "auto")
        command = [sys.executable, "-m", "labkit", "run", self.chapter, "--profile", profile]
        for key, value in {**params, "out_dir": str(Path(folder).resolve())}.items():
            command += ["-p", f"{key}={value!r}"]
        env = dict(os.environ)
        if self.threads:  # parallel jobs share the cores instead of each taking all of them
            for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env[name] = str(self.threads)
        with open(Path(folder) / "run.log", "w") as log:
            done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                  check=False)
        if done.returncode:
            try:
                return outcome_of(folder)  # a run that diverged exits non-zero but is done
            except grid.PointFailed:
                raise grid.PointFailed(_tail(Path(folder) / "run.log")) from None
        return outcome_of(folder)


class Submitit:
    """Run each point as a submitit job: on Slurm (`cluster="slurm"`), or as local processes
    (`cluster="local"`, how the tests run it). `options` are submitit's (e.g. slurm_partition,
    gpus_per_node, timeout_min); job logs go to `<sweep>/submitit/`."""

    def __init__(self, chapter: str, folder: str | os.PathLike, cluster: str = "slurm",
                 **options):
        import submitit

        self.chapter = chapter
        self.executor = submitit.AutoExecutor(folder=Path(folder) / "submitit", cluster=cluster)
        self.executor.update_parameters(**options)

    def __call__(self, point: grid.Point, folder: Path) -> dict:
        """Submit the point and wait for its outcome; a failed job raises PointFailed."""
        job = self.executor.submit(run_point, self.chapter,
                                   point_parameters(self.chapter, point), str(folder))
        try:
            return job.result()
        except Exception as error:  # submitit re-raises the job's error with its traceback
            lines = str(error).strip().splitlines()
            raise grid.PointFailed(lines[-1] if lines else repr(error)) from None


def _tail(path: Path, lines: int = 5) -> str:
    text = path.read_text(errors="replace").strip().splitlines() if path.is_file() else []
    return " | ".join(text[-lines:]) or "the job failed without a message"


def main(argv: list[str] | None = None) -> None:
    """`labkit sweep CHAPTER --grid GRID.yaml [--jobs N] [--executor local|slurm] [--out DIR]`."""
    from .report import write_report

    parser = Parser(prog="labkit sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("chapter", help="a chapter's name or number")
    parser.add_argument("--grid", required=True, help="the grid file (YAML)")
    parser.add_argument("--jobs", type=int, default=1, help="points run at the same time")
    parser.add_argument("--executor", choices=EXECUTORS, default="local")
    parser.add_argument("--out", help="the sweep folder (default: runs/<grid file name>)")
    parser.add_argument("--slurm-partition", help="Slurm partition")
    parser.add_argument("--slurm-gpus", type=int, default=0, help="GPUs per job")
    parser.add_argument("--slurm-cpus", type=int, default=4, help="CPUs per job")
    parser.add_argument("--slurm-time", type=int, default=60, help="minutes per job")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    try:
        name = chapters.name_of(args.chapter)
        module = chapters.get(name)
        sweep_grid = grid.load_grid(args.grid)
        points = grid.expand(sweep_grid, reserved=getattr(module, "RESERVED", ()))
        known = set(module.Config.names()) | {"profile"}
        unknown = sorted({k for p in points for k in p.parameters} - known)
        if unknown:
            raise ValueError(f"chapter {name} has no parameter(s) {unknown}; known: "
                             f"{sorted(known)}")
        for point in points:  # every point's parameters checked before any work starts
            params = dict(point_parameters(name, point))
            module.Config.resolve(params.pop("profile", "auto"), **params)
    except (ValueError, FileNotFoundError) as error:
        raise UsageError(str(error)) from None
    out = Path(args.out) if args.out else runs_parent() / Path(args.grid).stem
    if args.executor == "local":
        execute = LocalProcesses(name, threads=max(1, (os.cpu_count() or 1) // args.jobs))
        jobs = args.jobs
    else:
        options = {"timeout_min": args.slurm_time, "cpus_per_task": args.slurm_cpus,
                   "gpus_per_node": args.slurm_gpus, "name": f"labkit-{name}"}
        if args.slurm_partition:
            options["slurm_partition"] = args.slurm_partition
        execute, jobs = Submitit(name, out, cluster="slurm", **options), len(points)
    settings = len({p.setting for p in points})
    print(f"{len(points)} points ({settings} settings, seeds {sweep_grid.get('seeds', [0])}) "
          f"of chapter {name} -> {out} ({args.executor})")
    records = grid.run_points(points, out, execute, jobs=jobs, grid=sweep_grid, chapter=name)
    written = write_report(out)
    counts = {s: sum(r["status"] == s for r in records) for s in ("finished", "diverged",
                                                                   "failed")}
    print(", ".join(f"{n} {s}" for s, n in counts.items()) + f"; report: {written.markdown}")
    if counts["failed"]:
        raise SystemExit(1)
