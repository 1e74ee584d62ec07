"""Chapter 6 executed headless by papermill at the smoke profile: its in-process sweep's report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest

papermill = pytest.importorskip("papermill")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_improved_dcgan.ipynb"


def outputs(nb: nbformat.NotebookNode, kind: str) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if kind in o.get("data", {}) or o.get("name") == kind]


@pytest.mark.slow
def test_chapter6_smoke_runs_its_grid_and_judges_the_seed_claims(smoke_run):
    nb, runs, _ = smoke_run(NOTEBOOK.name)
    (folder,) = runs.glob("improved_dcgan-sweep-*")
    listed = json.loads((folder / "sweep.json").read_text())
    assert len(listed["points"]) == 8  # 4 settings of the smoke grid × 2 seeds
    rows = list(csv.DictReader(open(folder / "runs.csv")))
    assert len(rows) == 8 and {r["status"] for r in rows} <= {"finished", "diverged"}
    assert {r["model"] for r in rows} == {"dcgan", "resdcgan"}
    assert all(float(r["swd@2"]) > 0 for r in rows if r["status"] == "finished")
    summary = list(csv.DictReader(open(folder / "summary.csv")))
    assert {r["factor"] for r in summary} == {"learning_rate", "label_smoothing", "model"}
    assert all(r["runs"] == "2" for r in summary)
    text = (folder / "report.md").read_text()
    for heading in ("**learning rate**", "**label smoothing**", "**model**"):
        assert heading in text
    assert (folder / "metric_vs_epoch.png").stat().st_size > 10_000
    for row in rows:  # every point has its own run folder with the engine's files
        point = folder / "points" / row["id"]
        record = json.loads((point / "point.json").read_text())
        assert (point / record["run_dir"] / "config.json").is_file()
    stdout = "\n".join("".join(o["text"]) for o in outputs(nb, "stdout"))
    assert "8 runs: 4 settings x 2 seeds" in stdout
    assert "Trainable parameters" in stdout and "6,237,248" in stdout  # the paper-size count
    for claim in ("(a) D 0.0064", "(b) labels 0.9", "(c) the modified pair"):
        assert claim in stdout
    assert "Summary of the seed's three claims in this run:" in stdout
    markdown = ["".join(o["data"]["text/markdown"]) for o in outputs(nb, "text/markdown")]
    tables = [m for m in markdown if "| setting |" in m]
    assert len(tables) == 3 and len(markdown) == 4  # one table per factor, then the verdicts
    verdicts = [line for line in markdown[-1].splitlines() if line.startswith("- ")]
    assert len(verdicts) == 3 and all(line.endswith("**") for line in verdicts)
    assert len(outputs(nb, "image/png")) >= 4  # real faces, curves, sample grids

