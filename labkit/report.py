"""`labkit report DIR`: the runs of a sweep (or a folder of run folders) of any chapter gathered
into tables and a figure.

A setting (the parameters without the seed) is summed up over its seeds (`labkit.compare`): the
quality metric at each evaluated epoch and each number of the runs' metrics.json as the mean with
its 95 % Student-t interval, how many runs finished, diverged (a NaN loss), collapsed or failed,
and how often each claim came out supported, refuted or inconclusive. A sweep's named grids make
one table each: a factor against the baseline.

Written to DIR: runs.csv (a row per run), summary.csv (a row per factor and setting),
report.md (the tables) and metric_vs_epoch.png.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import compare, viz
from .atomic import read_json
from .commandline import Parser

FIGURE = "metric_vs_epoch.png"
MAX_SCALARS = 6  # numbers of metrics.json shown per table in report.md (all are in the CSVs)
SKIPPED = ("epochs", "steps", "seconds_per_epoch", "images_per_s", "diverged_epoch")


def title(name: str) -> str:
    """A grid's name as a heading: 'learning_rate' -> 'learning rate'."""
    return name.replace("_", " ")


def headline_scalars(settings: Sequence[dict]) -> list[str]:
    """The metrics.json numbers worth a column: chapter measurements (not the engine's
    bookkeeping, not yes/no flags), in order of appearance, at most MAX_SCALARS."""
    keys = dict.fromkeys(k for s in settings for k, v in s["scalars"].items())
    return [k for k in keys if k.rsplit("/", 1)[-1] not in SKIPPED
            and not k.rsplit("/", 1)[-1].startswith(("metric_", "final_"))
            and k.rsplit("/", 1)[-1] != "collapsed"][:MAX_SCALARS]


def markdown_table(settings: Sequence[dict], heading: str | None = None) -> str:
    """A Markdown table (report.md): setting, runs, diverged, collapsed, failed, the metric per
    epoch and the headline numbers as mean [95 % t-interval], s/epoch."""
    keys = compare.varying(settings)
    epochs = sorted({e for s in settings for e in s["epochs"]})
    metric = next((s["metric"] for s in settings if s["metric"]), "metric")
    scalars = headline_scalars(settings)
    head = (["setting", "runs", "diverged", "collapsed", "failed"]
            + [f"{metric} @ {e}" for e in epochs] + scalars + ["s / epoch"])
    lines = ([f"**{heading}**", ""] if heading else []) + [
        "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in settings:
        speed = f"{s['seconds_per_epoch']:.2f}" if s["seconds_per_epoch"] else "—"
        cells = ([compare.label(s["params"], keys), str(s["runs"]), str(s["diverged"]),
                  str(s["collapsed"]), str(s["failed"])]
                 + [compare.cell(s, e) for e in epochs]
                 + [str(s["scalars"][k]) if k in s["scalars"] else "—" for k in scalars]
                 + [speed])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def claims_table(rows: Sequence[dict], summary: Sequence[dict]) -> str:
    """A Markdown table of each setting's claim verdicts: 'supported 2, inconclusive 1'."""
    ids = list(dict.fromkeys(c for r in rows for c in r["claims"]))
    if not ids:
        return ""
    keys = compare.varying(summary)
    lines = ["**claims (verdicts over the runs of each setting)**", "",
             "| setting | " + " | ".join(ids) + " |", "|" + "---|" * (len(ids) + 1)]
    for s in summary:
        runs = [r for r in rows if r["setting"] == s["setting"]]
        cells = []
        for claim in ids:
            verdicts = [r["claims"][claim] for r in runs if claim in r["claims"]]
            counts = {v: verdicts.count(v) for v in dict.fromkeys(verdicts)}
            cells.append(", ".join(f"{v} {n}" for v, n in counts.items()) or "—")
        lines.append(f"| {compare.label(s['params'], keys)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
    folder = Path(folder)
    rows = compare.collect(folder)
    if not rows:
        raise FileNotFoundError(f"no grid points (points/*/point.json) or run folders "
                                f"(*/config.json) under {folder}")
    summary = compare.summarize(rows)
    sweep = folder / "sweep.json"
    grid = (read_json(sweep).get("grid") if sweep.is_file() else None) or {}
    tables = compare.factor_tables(summary, list(grid.get("grids", {})))
    written = Written(folder, rows, summary, tables)
    written.runs_csv = _write_runs_csv(folder / "runs.csv", rows)
    written.summary_csv = _write_summary_csv(folder / "summary.csv", tables)
    metric = next((s["metric"] for s in summary if s["metric"]), "metric")
    lower = next((s["mode"] for s in summary if s["metric"]), "min") != "max"
    failed = [f"- `{r['id']}` {compare.label(r['params'], compare.varying(summary))}: "
              f"{r['error']}" for r in rows if r["status"] == "failed"]
    parts = [f"# Sweep report: {folder.name}", "",
             f"{len(rows)} runs of {len(summary)} settings; {metric} "
             f"({'lower' if lower else 'higher'} is better) and each "
             "number as the mean over seeds with its 95 % Student-t interval.", ""]
    for name, settings in tables.items():
        parts += [markdown_table(settings, title(name)), ""]
    verdicts = claims_table(rows, summary)
    parts += [verdicts, ""] if verdicts else []
    if failed:
        parts += ["**Failed points**", "", *failed, ""]
    panels = {title(n): compare.curves(s) for n, s in tables.items() if compare.curves(s)}
    if panels:
        written.figure = folder / FIGURE
        viz.plot_curves(panels, metric, path=written.figure, lower_is_better=lower)
        parts += [f"![{metric} per epoch]({FIGURE})", ""]
    written.markdown = folder / "report.md"
    written.markdown.write_text("\n".join(parts))
    return written


def _write_runs_csv(path: Path, rows: Sequence[dict]) -> Path:
    keys = list(dict.fromkeys(k for r in rows for k in r["params"]))
    epochs = sorted({e for r in rows for e in r["curve"]})
    scalars = list(dict.fromkeys(k for r in rows for k in r["scalars"]))
    claims = list(dict.fromkeys(c for r in rows for c in r["claims"]))
    metric = next((r["metric"] for r in rows if r["metric"]), "metric")
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "setting", "seed", "status", *keys,
                         *[f"{metric}@{e}" for e in epochs], *scalars,
                         *[f"claim:{c}" for c in claims], "grids", "error"])
        for r in rows:
            writer.writerow([r["id"], r["setting"], r["seed"], r["status"],
                             *[r["params"].get(k) for k in keys],
                             *[r["curve"].get(e) for e in epochs],
                             *[r["scalars"].get(k) for k in scalars],
                             *[r["claims"].get(c) for c in claims],
                             " ".join(r["grids"]), r["error"] or ""])
    return path


def _write_summary_csv(path: Path, tables: Mapping[str, Sequence[dict]]) -> Path:
    every = [s for ss in tables.values() for s in ss]
    epochs = sorted({e for s in every for e in s["epochs"]})
    scalars = list(dict.fromkeys(k for s in every for k in s["scalars"]))
    metric = next((s["metric"] for s in every if s["metric"]), "metric")
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["factor", "setting", "label", "runs", "finished", "diverged",
                         "collapsed", "failed",
                         *[f"{metric}@{e}_{stat}" for e in epochs
                           for stat in ("mean", "low", "high", "n")],
                         *[f"{k}_{stat}" for k in scalars for stat in ("mean", "low", "high")]])
        for name, settings in tables.items():
            keys = compare.varying(settings)
            for s in settings:
                curve = [x for e in epochs for x in (
                    (s["interval"][e].mean, s["interval"][e].low, s["interval"][e].high,
                     s["interval"][e].n) if e in s["interval"] else (None,) * 4)]
                numbers = [x for k in scalars for x in (
                    (s["scalars"][k].mean, s["scalars"][k].low, s["scalars"][k].high)
                    if k in s["scalars"] else (None,) * 3)]
                writer.writerow([name, s["setting"], compare.label(s["params"], keys),
                                 s["runs"], s["finished"], s["diverged"], s["collapsed"],
                                 s["failed"], *curve, *numbers])
    return path


def main(argv: list[str] | None = None) -> None:
    """`labkit report DIR`."""
    parser = Parser(prog="labkit report", description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a sweep folder (or a folder of run folders)")
    args = parser.parse_args(argv)
    written = write_report(args.folder)
    print(written.markdown_text())
    print(f"\nwritten: {written.runs_csv}, {written.summary_csv}, {written.markdown}"
          + (f", {written.figure}" if written.figure else ""))
