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
    # 5 settings (one-sided smoothing among them) and 3 pre-scan pairs, x 2 seeds
    assert listed["chapter"] == "ablations" and len(listed["points"]) == 16
    assert set(listed["grid"]["grids"]) == {"learning_rate", "label_smoothing", "model", "lr_scan"}
    for point in listed["points"]:  # every point: its record, its log, its own training run
        record = json.loads((folder / "points" / point["id"] / "point.json").read_text())
        assert record["status"] in ("finished", "diverged")
        run = folder / "points" / point["id"] / record["run_dir"]
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["curve_metric"] == "swd" and metrics["model"] == point["params"]["model"]
        history = json.loads((run / "history.json").read_text())
        scan = point["grids"] == ["lr_scan"]  # the pre-scan's runs are short: 1 epoch at smoke
        assert [e["epoch"] for e in history["metrics"]["swd"]] == ([1] if scan else [1, 2])
        assert len(history["epochs"]) == (1 if scan else 2)  # the seconds of every epoch
        assert (folder / "points" / point["id"] / "run.log").stat().st_size > 0
        train = json.loads((run / "config.json").read_text())["train"]
        assert (train["real_label"], train["fake_label"]) == (point["params"]["real_label"],
                                                              point["params"]["fake_label"])
    one_sided = [p for p in listed["points"] if p["params"]["real_label"] == 0.9
                 and p["params"]["fake_label"] == 0.0]
    assert len(one_sided) == 2 and all(p["grids"] == ["label_smoothing"] for p in one_sided)
    for point in one_sided:  # the run's own configuration: the fake target exactly 0.0
        record = json.loads((folder / "points" / point["id"] / "point.json").read_text())
        train = json.loads((folder / "points" / point["id"] / record["run_dir"]
                            / "config.json").read_text())["train"]
        assert train["real_label"] == 0.9 and train["fake_label"] == 0.0
    scan_pairs = {(p["params"]["lr_d"], p["params"]["lr_g"]) for p in listed["points"]
                  if p["grids"] == ["lr_scan"]}
    assert (6.4e-3, 1.28e-3) in scan_pairs and len(scan_pairs) == 3
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["runs"] == 16 and metrics["settings"] == 5 and metrics["failed"] == 0
    assert metrics["finished"] + metrics["diverged"] == 10 and metrics["last_epoch"] == 2
    assert metrics["scan_runs"] == 6 and metrics["confirmatory_comparisons"] == 7
    assert metrics["modified_time_ratio"] > 1  # the residual pair costs more per epoch
    assert metrics["equal_time_seconds"] > 0
    rows = list(csv.DictReader(open(folder / "settings.csv")))
    assert {r["factor"] for r in rows} == {"learning_rate", "label_smoothing", "model"}
    assert all(r["runs"] == "2" and float(r["swd@2_mean"]) > 0 for r in rows)
    findings = json.loads((folder / "findings.json").read_text())["rows"]
    assert len(findings) == 6 and "a scan, not a verdict" in findings[0]["answer"]


@pytest.mark.slow
def test_chapter6_smoke_records_the_three_seed_claims(smoke_run):
    _, runs, _ = smoke_run(NOTEBOOK.name)
    (folder,) = runs.glob("ablations-*")
    claims = json.loads((folder / "claims.json").read_text())
    assert [c["id"] for c in claims] == ["learning_rates", "label_smoothing", "modified_model",
                                         "modified_model_equal_time"]
    for claim in claims:  # two seeds at smoke: never a verdict either way
        assert claim["seed_report"] == "004" and claim["seeds"] == 2
        assert claim["seed_ids"] == [0, 1]
        assert claim["verdict"] == "inconclusive" and claim["profile"] == "smoke"
        assert "Holm" in claim["rule"]
    for claim in claims[:3]:
        assert "A − B in swd at epoch 2" in claim["why"] or "rests on 2" in claim["why"]
        assert "Holm p = " in claim["why"] or "rests on 2" in claim["why"]
        assert claim["low"] <= claim["value"] <= claim["high"]
    # at smoke the DCGAN's two epochs end before the modified pair's first evaluation
    assert "equal time" in claims[3]["why"] or claims[3]["low"] <= claims[3]["value"]


@pytest.mark.slow
def test_chapter6_smoke_shows_tables_figures_and_glues_the_results(smoke_run):
    nb, runs, _ = smoke_run(NOTEBOOK.name)
    (folder,) = runs.glob("ablations-*")
    for name in ("metric_vs_epoch", "samples_1", "samples_2", "lr_scan", "metric_vs_time"):
        with Image.open(folder / f"{name}.png") as im:
            assert im.width > 200 and im.height > 100, name
    stdout = "\n".join("".join(o["text"]) for o in outputs(nb, "stdout"))
    assert "16 runs: 8 settings x 2 seeds" in stdout and "lr scan: 3 settings" in stdout
    assert "16 runs in " in stdout and "16 finished" in stdout
    html = "\n".join("".join(o["data"]["text/html"]) for o in outputs(nb, "text/html"))
    assert "6,237,248" in html  # the modified generator's parameters at the paper's size
    assert "Profile smoke: faces at 32 px, 2 epochs, seeds 0, 1;" in html
    for caption in ("learning rate", "label smoothing", "model",
                    "Every comparison: confirmatory (deciding the verdicts) and exploratory"):
        assert f"<caption>{caption}</caption>" in html
    assert "<caption>The ablations at epoch 2: mean [95 % t-interval]" in html
    assert "<caption>The learning-rate pre-scan" in html
    assert "Holm p" in html and "confirmatory" in html and "exploratory" in html
    assert not outputs(nb, "text/markdown")  # every table is HTML (book.table)
    glued = {o["metadata"]["scrapbook"]["name"] for c in nb.cells for o in c.get("outputs", [])
             if "scrapbook" in o.get("metadata", {})}
    assert {"ch6_tables", "ch6_verdicts", "ch6_claims", "ch6_ablation", "ch6_scan",
            "ch6_confirmatory", "ch6_exploratory", "ch6_scan_epochs"} <= glued
    # real faces, curves, the pre-scan, two sample grids, the metric against time
    assert len(outputs(nb, "image/png")) >= 6
