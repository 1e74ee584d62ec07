"""`labkit report DIR`: the runs of a sweep gathered into tables (CSV, Markdown) and a figure.

Rows: one per grid point (`points/*/point.json`, with its run folder's config.json and
metrics.json; history.json when metrics.json holds no metric curve), or, in a folder of plain
run folders, one per `*/config.json`. A setting (the parameters without the seed) is summed up
over its seeds: the metric at each evaluated epoch as mean ± sample standard deviation over
the runs that reached that epoch, the time per epoch, and how many runs finished, diverged
(a NaN loss), collapsed (samples with almost no variety) or failed (the job raised). A sweep's
named grids make one table each: a factor against the baseline.

Written to DIR: runs.csv (a row per run), summary.csv (a row per factor and setting),
report.md (the tables) and metric_vs_epoch.png.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .sweep import setting_id
from .train.rundir import read_json

PAIRS = (("lr_d", "lr_g", "lr D/G"), ("real_label", "fake_label", "labels real/fake"))
FIGURE = "metric_vs_epoch.png"


# --------------------------------------------------------------------------- rows


def collect(folder: str | os.PathLike) -> list[dict]:
    """One row per grid point (or per run folder when there are no points), sorted by name."""
    folder = Path(folder)
    points = sorted(folder.glob("points/*/point.json"))
    if points:
        order = {p["id"]: i for i, p in enumerate(_sweep_json(folder).get("points", []))}
        points.sort(key=lambda p: (order.get(p.parent.name, len(order)), p.parent.name))
        return [point_row(p.parent) for p in points]
    runs = sorted(p.parent for p in folder.glob("*/config.json"))
    if (folder / "config.json").is_file():
        runs.insert(0, folder)
    return [run_row(run) for run in runs]


def _sweep_json(folder: Path) -> dict:
    path = folder / "sweep.json"
    return read_json(path) if path.is_file() else {}


def point_row(point_dir: str | os.PathLike) -> dict:
    """A grid point's row: its record (point.json) and what its run folder measured."""
    point_dir = Path(point_dir)
    record = read_json(point_dir / "point.json")
    params = {k: v for k, v in record["params"].items() if k != "seed"}
    run_dir = point_dir / record["run_dir"] if record.get("run_dir") else None
    row = {"id": record["id"], "setting": record["setting"], "seed": record["seed"],
           "status": record["status"], "error": record.get("error"), "params": params,
           "grids": record.get("grids", []), "run_dir": str(run_dir) if run_dir else None}
    return {**_empty_facts(), **row, **(run_facts(run_dir) if run_dir else {}),
            "status": record["status"]}


def run_row(run_dir: str | os.PathLike) -> dict:
    """A plain run folder's row: the settings a sweep varies, read from its config.json."""
    run_dir = Path(run_dir)
    config = read_json(run_dir / "config.json")
    train = config.get("train", {})
    params = {"model": config.get("generator", {}).get("family"),
              **{k: train.get(k) for k in ("lr_d", "lr_g", "real_label", "fake_label",
                                            "batch_size", "epochs")}}
    facts = run_facts(run_dir)
    return {**_empty_facts(), "id": run_dir.name, "setting": setting_id(params),
            "seed": train.get("seed"), "status": facts.get("status") or "unknown",
            "error": facts.get("error"), "params": params, "grids": [],
            "run_dir": str(run_dir), **facts}


def _empty_facts() -> dict:
    return {"metric": None, "curve": {}, "seconds_per_epoch": None, "images_per_s": None,
            "sample_spread": None, "collapsed": None}


def run_facts(run_dir: Path) -> dict:
    """What a run folder's metrics.json (and history.json) say: metric curve, speed, spread."""
    path = Path(run_dir) / "metrics.json"
    metrics = read_json(path) if path.is_file() else {}
    name, values = None, {}
    curves = {k[len("curve_"):]: v for k, v in metrics.items() if k.startswith("curve_")}
    if curves:
        name, values = next(iter(curves.items()))
    elif (Path(run_dir) / "history.json").is_file():
        recorded = read_json(Path(run_dir) / "history.json").get("metrics", {})
        if recorded:
            name, entries = next(iter(recorded.items()))
            values = {e["epoch"]: e["value"] for e in entries}
    facts = {"metric": name, "curve": {int(e): v for e, v in values.items() if v is not None},
             "seconds_per_epoch": metrics.get("seconds_per_epoch"),
             "images_per_s": metrics.get("images_per_s"),
             "sample_spread": metrics.get("sample_spread"),
             "collapsed": metrics.get("collapsed")}
    if metrics.get("status"):
        facts["status"] = metrics["status"]
    if metrics.get("error"):
        facts["error"] = metrics["error"]
    return facts


# --------------------------------------------------------------------------- settings


def summarize(rows: Sequence[dict]) -> list[dict]:
    """One entry per setting (first-seen order): counts, and the metric's mean ± std per epoch
    over the runs that reached that epoch (failed runs have none; diverged ones stop early)."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["setting"], []).append(row)
    summary = []
    for setting, runs in groups.items():
        epochs = sorted({e for r in runs for e in r["curve"]})
        values = {e: [r["curve"][e] for r in runs if e in r["curve"]] for e in epochs}
        speeds = [r["seconds_per_epoch"] for r in runs if r["seconds_per_epoch"] is not None]
        summary.append({
            "setting": setting, "params": runs[0]["params"],
            "grids": list(dict.fromkeys(g for r in runs for g in r["grids"])),
            "metric": next((r["metric"] for r in runs if r["metric"]), None),
            "seeds": sorted(r["seed"] for r in runs if r["seed"] is not None),
            "runs": len(runs),
            **{s: sum(r["status"] == s for r in runs) for s in ("finished", "diverged",
                                                                 "failed")},
            "collapsed": sum(bool(r["collapsed"]) for r in runs),
            "epochs": epochs,
            "mean": {e: statistics.fmean(v) for e, v in values.items()},
            "std": {e: statistics.stdev(v) if len(v) > 1 else math.nan
                    for e, v in values.items()},
            "n": {e: len(v) for e, v in values.items()},
            "seconds_per_epoch": statistics.fmean(speeds) if speeds else None,
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


@dataclass
class Comparison:
    """Setting a against setting b at one epoch (lower metric is better)."""

    epoch: int
    mean_a: float
    mean_b: float
    n_a: int
    n_b: int
    standard_error: float
    verdict: str  # "a better", "b better", "no clear difference", "not measured"

    @property
    def difference(self) -> float:
        """mean(a) - mean(b): negative when a is better."""
        return self.mean_a - self.mean_b


def compare(a: dict | None, b: dict | None, epoch: int, *, sigmas: float = 2.0,
            epoch_b: int | None = None) -> Comparison:
    """Is a's metric at `epoch` lower than b's (at `epoch_b`, default the same epoch) by more
    than `sigmas` standard errors of the difference, sqrt(sa²/na + sb²/nb) over seeds? Needs
    two runs of each."""
    nan, eb = math.nan, epoch if epoch_b is None else epoch_b
    if not a or not b or a["n"].get(epoch, 0) < 2 or b["n"].get(eb, 0) < 2:
        return Comparison(epoch, (a or {}).get("mean", {}).get(epoch, nan),
                          (b or {}).get("mean", {}).get(eb, nan),
                          (a or {}).get("n", {}).get(epoch, 0),
                          (b or {}).get("n", {}).get(eb, 0), nan, "not measured")
    se = math.sqrt(a["std"][epoch] ** 2 / a["n"][epoch] + b["std"][eb] ** 2 / b["n"][eb])
    diff = a["mean"][epoch] - b["mean"][eb]
    verdict = ("a better" if diff < -sigmas * se else "b better" if diff > sigmas * se
               else "no clear difference")
    return Comparison(epoch, a["mean"][epoch], b["mean"][eb], a["n"][epoch], b["n"][eb], se,
                      verdict)


@dataclass
class Verdict:
    """A claim "a trains faster and better than b", judged at the evaluated epochs."""

    comparisons: list[Comparison]
    faster: bool  # a better than b at some epoch before the last
    better: bool  # a better than b at the last epoch
    worse: bool  # b better than a at some epoch
    verdict: str  # "holds", "holds in part", "not shown", "does not hold", "not measured"


def judge(a: dict | None, b: dict | None, epochs: Sequence[int], *,
          sigmas: float = 2.0) -> Verdict:
    """Compare a with b at every epoch: "holds" when a is better both early and at the last
    epoch, "holds in part" for one of the two, "does not hold" when b is better anywhere,
    "not shown" when no difference exceeds `sigmas` standard errors."""
    comparisons = [compare(a, b, e, sigmas=sigmas) for e in epochs]
    if not comparisons or all(c.verdict == "not measured" for c in comparisons):
        return Verdict(comparisons, False, False, False, "not measured")
    faster = any(c.verdict == "a better" for c in comparisons[:-1])
    better = comparisons[-1].verdict == "a better"
    worse = any(c.verdict == "b better" for c in comparisons)
    verdict = ("does not hold" if worse else "holds" if faster and better
               else "holds in part" if faster or better else "not shown")
    return Verdict(comparisons, faster, better, worse, verdict)


# --------------------------------------------------------------------------- output


def _cell(setting: dict, epoch: int) -> str:
    if epoch not in setting["mean"]:
        return "—"
    mean, std, n = setting["mean"][epoch], setting["std"][epoch], setting["n"][epoch]
    return f"{mean:.3g} ± {std:.2g}" if n > 1 else f"{mean:.3g} (n=1)"


def markdown_table(settings: Sequence[dict], title: str | None = None) -> str:
    """A Markdown table: setting, runs, diverged, collapsed, failed, metric per epoch, s/epoch."""
    keys = varying(settings)
    epochs = sorted({e for s in settings for e in s["epochs"]})
    metric = next((s["metric"] for s in settings if s["metric"]), "metric")
    head = (["setting", "runs", "diverged", "collapsed", "failed"]
            + [f"{metric} @ {e}" for e in epochs] + ["s / epoch"])
    lines = ([f"**{title}**", ""] if title else []) + [
        "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in settings:
        speed = f"{s['seconds_per_epoch']:.2f}" if s["seconds_per_epoch"] else "—"
        cells = ([label(s["params"], keys), str(s["runs"]), str(s["diverged"]),
                  str(s["collapsed"]), str(s["failed"])] + [_cell(s, e) for e in epochs]
                 + [speed])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curves(settings: Sequence[dict]) -> dict[str, dict]:
    """{label: {"epoch", "mean", "std"}} of the settings, for `viz.plot_sweep_curves`."""
    keys = varying(settings)
    out = {}
    for s in settings:
        if s["epochs"]:
            out[label(s["params"], keys)] = {"epoch": s["epochs"],
                                             "mean": [s["mean"][e] for e in s["epochs"]],
                                             "std": [s["std"][e] for e in s["epochs"]]}
    return out


def title(name: str) -> str:
    """A grid's name as a heading: 'learning_rate' -> 'learning rate'."""
    return name.replace("_", " ")


@dataclass
class Written:
    """What `write_report` wrote, and the tables it wrote them from."""

    folder: Path
    rows: list[dict]
    summary: list[dict]
    tables: dict[str, list[dict]] = field(default_factory=dict)
    runs_csv: Path | None = None
    summary_csv: Path | None = None
    markdown: Path | None = None
    figure: Path | None = None

    def markdown_text(self) -> str:
        """report.md's text."""
        return self.markdown.read_text() if self.markdown else ""


def write_report(folder: str | os.PathLike) -> Written:
    """Gather the runs under `folder`; write runs.csv, summary.csv, report.md and the figure."""
    from . import viz

    folder = Path(folder)
    rows = collect(folder)
    if not rows:
        raise FileNotFoundError(f"no grid points (points/*/point.json) or run folders "
                                f"(*/config.json) under {folder}")
    summary = summarize(rows)
    grid = _sweep_json(folder).get("grid") or {}
    tables = factor_tables(summary, list(grid.get("grids", {})))
    written = Written(folder, rows, summary, tables)
    written.runs_csv = _write_runs_csv(folder / "runs.csv", rows)
    written.summary_csv = _write_summary_csv(folder / "summary.csv", tables)
    metric = next((s["metric"] for s in summary if s["metric"]), "metric")
    failed = [f"- `{r['id']}` {label(r['params'], varying(summary))}: {r['error']}"
              for r in rows if r["status"] == "failed"]
    parts = [f"# Sweep report: {folder.name}", "",
             f"{len(rows)} runs of {len(summary)} settings; {metric} as mean ± standard "
             "deviation over seeds (lower is better).", ""]
    for name, settings in tables.items():
        parts += [markdown_table(settings, title(name)), ""]
    if failed:
        parts += ["**Failed points**", "", *failed, ""]
    panels = {title(n): curves(s) for n, s in tables.items() if curves(s)}
    if panels:
        written.figure = folder / FIGURE
        viz.plot_sweep_curves(panels, metric, path=written.figure)
        parts += [f"![{metric} per epoch]({FIGURE})", ""]
    written.markdown = folder / "report.md"
    written.markdown.write_text("\n".join(parts))
    return written


def _write_runs_csv(path: Path, rows: Sequence[dict]) -> Path:
    keys = list(dict.fromkeys(k for r in rows for k in r["params"]))
    epochs = sorted({e for r in rows for e in r["curve"]})
    metric = next((r["metric"] for r in rows if r["metric"]), "metric")
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "setting", "seed", "status", *keys,
                         *[f"{metric}@{e}" for e in epochs], "seconds_per_epoch",
                         "images_per_s", "sample_spread", "collapsed", "grids", "error"])
        for r in rows:
            writer.writerow([r["id"], r["setting"], r["seed"], r["status"],
                             *[r["params"].get(k) for k in keys],
                             *[r["curve"].get(e) for e in epochs], r["seconds_per_epoch"],
                             r["images_per_s"], r["sample_spread"], r["collapsed"],
                             " ".join(r["grids"]), r["error"] or ""])
    return path


def _write_summary_csv(path: Path, tables: Mapping[str, Sequence[dict]]) -> Path:
    epochs = sorted({e for ss in tables.values() for s in ss for e in s["epochs"]})
    metric = next((s["metric"] for ss in tables.values() for s in ss if s["metric"]), "metric")
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["factor", "setting", "label", "runs", "finished", "diverged",
                         "collapsed", "failed",
                         *[f"{metric}@{e}_{stat}" for e in epochs for stat in ("mean", "std",
                                                                               "n")],
                         "seconds_per_epoch"])
        for name, settings in tables.items():
            keys = varying(settings)
            for s in settings:
                writer.writerow([name, s["setting"], label(s["params"], keys), s["runs"],
                                 s["finished"], s["diverged"], s["collapsed"], s["failed"],
                                 *[x for e in epochs for x in (s["mean"].get(e),
                                                               s["std"].get(e), s["n"].get(e))],
                                 s["seconds_per_epoch"]])
    return path


def main(argv: list[str] | None = None) -> None:
    """`labkit report DIR`."""
    parser = argparse.ArgumentParser(prog="labkit report", description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a sweep folder (or a folder of run folders)")
    args = parser.parse_args(argv)
    written = write_report(args.folder)
    print(written.markdown_text())
    print(f"\nwritten: {written.runs_csv}, {written.summary_csv}, {written.markdown}"
          + (f", {written.figure}" if written.figure else ""))
