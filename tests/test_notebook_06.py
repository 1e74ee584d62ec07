"""Chapter 6 executed headless by papermill at the smoke profile: the grid it ran in-process, the
chapter folder it wrote (tables, figures, headline numbers, claims) and what it showed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest
from PIL import Image

papermill = pytest.importorskip("papermill")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_improved_dcgan.ipynb"


def outputs(nb: nbformat.NotebookNode, kind: str) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if kind in o.get("data", {}) or o.get("name") == kind]


@pytest.mark.slow
def test_chapter6_smoke_runs_its_grid_into_one_chapter_folder(smoke_run):
    _, runs, _ = smoke_run(NOTEBOOK.name)
    (folder,) = runs.glob("ablations-*")
    config = json.loads((folder / "config.json").read_text())
    assert config["chapter"] == "ablations" and config["parameters"]["profile"] == "smoke"
    listed = json.loads((folder / "sweep.json").read_text())
    assert listed["chapter"] == "ablations" and len(listed["points"]) == 8  # 4 settings × 2 seeds
    assert set(listed["grid"]["grids"]) == {"learning_rate", "label_smoothing", "model"}
    for point in listed["points"]:  # every point: its record, its log, its own training run
        record = json.loads((folder / "points" / point["id"] / "point.json").read_text())
        assert record["status"] in ("finished", "diverged")
        run = folder / "points" / point["id"] / record["run_dir"]
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["curve_metric"] == "swd" and metrics["model"] == point["params"]["model"]
        history = json.loads((run / "history.json").read_text())
        assert [e["epoch"] for e in history["metrics"]["swd"]] == [1, 2]
        assert (folder / "points" / point["id"] / "run.log").stat().st_size > 0
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["runs"] == 8 and metrics["settings"] == 4 and metrics["failed"] == 0
    assert metrics["finished"] + metrics["diverged"] == 8 and metrics["last_epoch"] == 2
    assert metrics["modified_time_ratio"] > 1  # the residual pair costs more per epoch
    rows = list(csv.DictReader(open(folder / "settings.csv")))
    assert {r["factor"] for r in rows} == {"learning_rate", "label_smoothing", "model"}
    assert all(r["runs"] == "2" and float(r["swd@2_mean"]) > 0 for r in rows)
    assert len(json.loads((folder / "findings.json").read_text())["rows"]) == 4


@pytest.mark.slow
def test_chapter6_smoke_records_the_three_seed_claims(smoke_run):
    _, runs, _ = smoke_run(NOTEBOOK.name)
    (folder,) = runs.glob("ablations-*")
    claims = json.loads((folder / "claims.json").read_text())
    assert [c["id"] for c in claims] == ["learning_rates", "label_smoothing", "modified_model"]
    for claim in claims:  # two seeds at smoke: never a verdict either way
        assert claim["seed_report"] == "004" and claim["seeds"] == 2
        assert claim["verdict"] == "inconclusive" and claim["profile"] == "smoke"
        assert "A − B in swd at epoch 2" in claim["why"] or "rests on 2" in claim["why"]
        assert claim["low"] <= claim["value"] <= claim["high"]


@pytest.mark.slow
def test_chapter6_smoke_shows_tables_figures_and_glues_the_results(smoke_run):
    nb, runs, _ = smoke_run(NOTEBOOK.name)
    (folder,) = runs.glob("ablations-*")
    for name in ("metric_vs_epoch", "samples_1", "samples_2"):  # the model table's two settings
        with Image.open(folder / f"{name}.png") as im:
            assert im.width > 200 and im.height > 100, name
    stdout = "\n".join("".join(o["text"]) for o in outputs(nb, "stdout"))
    assert "8 runs: 4 settings x 2 seeds" in stdout
    assert "8 runs in " in stdout and "8 finished" in stdout
    html = "\n".join("".join(o["data"]["text/html"]) for o in outputs(nb, "text/html"))
    assert "6,237,248" in html  # the modified generator's parameters at the paper's size
    assert "Profile smoke: faces at 32 px, 2 epochs, seeds 0, 1;" in html
    for caption in ("learning rate", "label smoothing", "model",
                    "A against B at each evaluated epoch"):
        assert f"<caption>{caption}</caption>" in html
    assert not outputs(nb, "text/markdown")  # every table is HTML (book.table)
    glued = {o["metadata"]["scrapbook"]["name"] for c in nb.cells for o in c.get("outputs", [])
             if "scrapbook" in o.get("metadata", {})}
    assert {"ch6_tables", "ch6_verdicts", "ch6_claims"} <= glued
    assert len(outputs(nb, "image/png")) >= 4  # real faces, curves, two sample grids
