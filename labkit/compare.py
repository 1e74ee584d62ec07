"""Settings compared over seeds: the runs of a sweep (or of any folder of runs) as rows, summed up
per setting with Student-t intervals, and one setting judged against another.

A row is one run: its parameters, seed, status, the scalar numbers of its metrics.json, the
curve of the quality metric evaluated during training ({epoch: value}, from history.json) and the
verdicts of its claims.json. Any chapter's run folder gives a row; chapter 6 and `labkit report`
build their tables from these.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .atomic import read_json
from .grid import setting_id
from .stats import Interval, difference_interval, mean_interval
from .train.evaluate import curve as evaluated_curve
from .train.rundir import RunDir

PAIRS = (("lr_d", "lr_g", "lr D/G"), ("real_label", "fake_label", "labels real/fake"))


# --------------------------------------------------------------------------- rows


def collect(folder: str | os.PathLike) -> list[dict]:
    """One row per grid point (`points/*/point.json`), else one per run folder in `folder`
    (or `folder` itself when it is one), in the sweep's order."""
    folder = Path(folder)
    points = sorted(folder.glob("points/*/point.json"))
    if points:
        sweep = folder / "sweep.json"
        listed = read_json(sweep).get("points", []) if sweep.is_file() else []
        order = {p["id"]: i for i, p in enumerate(listed)}
        points.sort(key=lambda p: (order.get(p.parent.name, len(order)), p.parent.name))
        return [point_row(p.parent) for p in points]
    runs = RunDir(folder).children()
    if (folder / "config.json").is_file():
        runs.insert(0, RunDir(folder))
    return [run_row(run) for run in runs]


def point_row(point_dir: str | os.PathLike) -> dict:
    """A grid point's row: its record (point.json) and what its run folder measured."""
    point_dir = Path(point_dir)
    record = read_json(point_dir / "point.json")
    params = {k: v for k, v in record["params"].items() if k != "seed"}
    run = RunDir(point_dir / record["run_dir"]) if record.get("run_dir") else None
    row = {"id": record["id"], "setting": record["setting"], "seed": record["seed"],
           "error": record.get("error"), "params": params, "grids": record.get("grids", []),
           "run_dir": str(run) if run else None}
    return {**_empty_facts(), **row, **(run_facts(run) if run else {}),
            "status": record["status"]}


def run_row(run: RunDir) -> dict:
    """A plain run folder's row: its parameters as its config.json records them (a chapter's
    `parameters`, else the training settings a sweep varies)."""
    config = run.read_config()
    train = config.get("train", {})
    params = dict(config.get("parameters") or {
        "model": config.get("generator", {}).get("family"),
        **{k: train.get(k) for k in ("lr_d", "lr_g", "real_label", "fake_label", "batch_size",
                                      "epochs")}})
    seed = params.pop("seed", train.get("seed"))
    params = {k: v for k, v in params.items() if k not in ("out_dir", "data_root", "resume")}
    facts = run_facts(run)
    return {**_empty_facts(), "id": run.name, "setting": setting_id(params), "seed": seed,
            "error": facts.get("error"), "params": params, "grids": [], "run_dir": str(run),
            **facts, "status": facts.get("status") or "unknown"}


def _empty_facts() -> dict:
    return {"metric": None, "mode": "min", "curve": {}, "scalars": {}, "claims": {},
            "status": "unknown"}


def run_facts(run: RunDir) -> dict:
    """What a run folder measured: the scalar numbers of metrics.json (nested runs' too, as
    `<child>/<key>`), the quality metric's curve and the claims' verdicts."""
    metrics = run.read_metrics()
    recorded = run.read_history().get("metrics", {})
    name = metrics.get("curve_metric") or next(iter(recorded), None)
    values = evaluated_curve({"metrics": recorded}, name) if name else {}
    facts = {"metric": name, "mode": metrics.get(f"metric_{name}_mode", "min"),
             "curve": {int(e): v for e, v in values.items() if v is not None},
             "scalars": _scalars(metrics),
             "claims": {c["id"]: c["verdict"] for c in run.read_claims()}}
    for child in run.children():
        facts["scalars"].update({f"{child.name}/{k}": v
                                 for k, v in _scalars(child.read_metrics()).items()})
    for key in ("status", "error"):
        if metrics.get(key):
            facts[key] = metrics[key]
    return facts


def _scalars(metrics: Mapping) -> dict:
    """The numbers (and booleans) of a metrics record, nested dicts left out."""
    return {k: v for k, v in metrics.items()
            if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v))}


# --------------------------------------------------------------------------- settings


def summarize(rows: Sequence[dict]) -> list[dict]:
    """One entry per setting (first-seen order): status counts, the quality metric's mean,
    sample standard deviation, n and t-interval per evaluated epoch over the runs that reached
    it (failed runs have none; diverged ones stop early), and every scalar's interval."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["setting"], []).append(row)
    summary = []
    for setting, runs in groups.items():
        epochs = sorted({e for r in runs for e in r["curve"]})
        values = {e: [r["curve"][e] for r in runs if e in r["curve"]] for e in epochs}
        keys = list(dict.fromkeys(k for r in runs for k in r["scalars"]))
        scalars = {k: mean_interval([float(r["scalars"][k]) for r in runs if k in r["scalars"]])
                   for k in keys}
        speed = scalars.get("seconds_per_epoch")
        summary.append({
            "setting": setting, "params": runs[0]["params"],
            "grids": list(dict.fromkeys(g for r in runs for g in r["grids"])),
            "metric": next((r["metric"] for r in runs if r["metric"]), None),
            "mode": next((r.get("mode", "min") for r in runs if r["metric"]), "min"),
            "seeds": sorted(r["seed"] for r in runs if r["seed"] is not None),
            "runs": len(runs),
            **{s: sum(r["status"] == s for r in runs) for s in ("finished", "diverged",
                                                                 "failed")},
            "collapsed": sum(bool(r["scalars"].get("collapsed")) for r in runs),
            "epochs": epochs, "values": values,
            "mean": {e: statistics.fmean(v) for e, v in values.items()},
            "std": {e: statistics.stdev(v) if len(v) > 1 else math.nan
                    for e, v in values.items()},
            "n": {e: len(v) for e, v in values.items()},
            "interval": {e: mean_interval(v) for e, v in values.items()},
            "scalars": scalars,
            "seconds_per_epoch": speed.mean if speed else None,
            "errors": [r["error"] for r in runs if r["status"] == "failed" and r["error"]],
        })
    return summary


def factor_tables(summary: Sequence[dict], order: Sequence[str] = ()) -> dict[str, list[dict]]:
    """The settings of each named grid (a factor against the baseline), the names in `order`
    first; one table "all" when no setting names a grid."""
    names = list(dict.fromkeys([*order, *(g for s in summary for g in s["grids"])]))
    names = [n for n in names if any(n in s["grids"] for s in summary)]
    if not names:
        return {"all": list(summary)}
    return {name: [s for s in summary if name in s["grids"]] for name in names}


def varying(settings: Sequence[dict]) -> list[str]:
    """The parameters whose values differ between the settings (all of them if only one)."""
    keys = list(dict.fromkeys(k for s in settings for k in s["params"]))
    if len(settings) < 2:
        return [k for k in keys if k != "profile"]
    return [k for k in keys if len({repr(s["params"].get(k)) for s in settings}) > 1]


def label(params: Mapping, keys: Sequence[str]) -> str:
    """A short name of a setting from the parameters `keys`: 'lr D/G 0.0064/0.00128', ..."""
    words, used = [], set()
    for first, second, name in PAIRS:
        if first in keys and second in keys:
            words.append(f"{name} {_value(params.get(first))}/{_value(params.get(second))}")
            used |= {first, second}
    for key in keys:
        if key not in used:
            words.append(f"{_value(params.get(key))}" if key == "model"
                         else f"{key} {_value(params.get(key))}")
    return ", ".join(words) or "baseline"


def _value(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def find(summary: Sequence[dict], **params) -> dict | None:
    """The setting whose parameters equal `params` on every key given (numbers to 1e-9)."""
    def same(a, b) -> bool:
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return math.isclose(a, b, rel_tol=1e-9)
        return a == b

    for setting in summary:
        if all(k in setting["params"] and same(setting["params"][k], v)
               for k, v in params.items()):
            return setting
    return None


def cell(setting: dict, epoch: int) -> str:
    """'mean [low, high]' of a setting's metric at `epoch` (95 % t), '(n=1)' or '—'."""
    if epoch not in setting["mean"]:
        return "—"
    interval = setting["interval"][epoch]
    return str(interval) if interval.n > 1 else f"{interval.mean:.3g} (n=1)"


def curves(settings: Sequence[dict]) -> dict[str, dict]:
    """{label: {"epoch", "mean", "low", "high"}} of the settings, for `viz.plot_curves`."""
    keys = varying(settings)
    out = {}
    for s in settings:
        if s["epochs"]:
            out[label(s["params"], keys)] = {
                "epoch": s["epochs"], "mean": [s["mean"][e] for e in s["epochs"]],
                "low": [s["interval"][e].low for e in s["epochs"]],
                "high": [s["interval"][e].high for e in s["epochs"]]}
    return out


# --------------------------------------------------------------------------- comparisons


@dataclass
class Comparison:
    """Setting a against setting b at one epoch each (by the metric's mode: lower is better
    unless the metric's mode is "max")."""

    epoch: int
    epoch_b: int
    mean_a: float
    mean_b: float
    difference: Interval  # mean(a) − mean(b) with its Welch t-interval
    verdict: str  # "a better", "b better", "no clear difference", "not measured"


def compare(a: dict | None, b: dict | None, epoch: int, *,
            epoch_b: int | None = None) -> Comparison:
    """Is a's metric at `epoch` better than b's (at `epoch_b`, default the same epoch)? For a
    metric where lower is better, "a better" when the whole 95 % Welch t-interval of
    mean(a) − mean(b) lies below 0, "b better" when it lies above (the other way round for a
    higher-is-better metric, mode "max"), else "no clear difference"; "not measured" without two
    runs on each side."""
    eb = epoch if epoch_b is None else epoch_b
    va = (a or {}).get("values", {}).get(epoch, [])
    vb = (b or {}).get("values", {}).get(eb, [])
    difference = difference_interval(va, vb)
    lower = (a or b or {}).get("mode", "min") != "max"
    if min(len(va), len(vb)) < 2:
        verdict = "not measured"
    elif difference.below(0):
        verdict = "a better" if lower else "b better"
    elif difference.above(0):
        verdict = "b better" if lower else "a better"
    else:
        verdict = "no clear difference"
    return Comparison(epoch, eb, statistics.fmean(va) if va else math.nan,
                      statistics.fmean(vb) if vb else math.nan, difference, verdict)


@dataclass
class Judgement:
    """A claim "a trains faster and better than b", judged at the evaluated epochs."""

    comparisons: list[Comparison]
    faster: bool  # a better than b at some epoch before the last
    better: bool  # a better than b at the last epoch
    worse: bool  # b better than a at some epoch
    verdict: str  # "holds", "holds in part", "not shown", "does not hold", "not measured"


def judge(a: dict | None, b: dict | None, epochs: Sequence[int]) -> Judgement:
    """Compare a with b at every epoch: "holds" when a is better both early and at the last
    epoch, "holds in part" for one of the two, "does not hold" when b is better anywhere,
    "not shown" when no interval excludes 0."""
    comparisons = [compare(a, b, e) for e in epochs]
    if not comparisons or all(c.verdict == "not measured" for c in comparisons):
        return Judgement(comparisons, False, False, False, "not measured")
    faster = any(c.verdict == "a better" for c in comparisons[:-1])
    better = comparisons[-1].verdict == "a better"
    worse = any(c.verdict == "b better" for c in comparisons)
    verdict = ("does not hold" if worse else "holds" if faster and better
               else "holds in part" if faster or better else "not shown")
    return Judgement(comparisons, faster, better, worse, verdict)
