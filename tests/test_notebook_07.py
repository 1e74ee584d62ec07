"""Chapter 7 executed headless by papermill at the smoke profile: the grid it ran in-process, the
same seconds per method, the chapter folder it wrote (tables, figures, headline numbers, the four
claims with their seeds) and what it showed."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from PIL import Image

papermill = pytest.importorskip("papermill")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "07_stabilisers.ipynb"
CLAIMS = ["spectral_norm", "wgan_critic", "diffaugment", "ema"]


def outputs(nb: nbformat.NotebookNode, kind: str) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if kind in o.get("data", {}) or o.get("name") == kind]


@pytest.mark.slow
def test_chapter7_smoke_runs_its_three_experiments_for_the_same_seconds(smoke_run):
    _, runs, _ = smoke_run(NOTEBOOK.name)
    (folder,) = runs.glob("stabilisers-*")
    config = json.loads((folder / "config.json").read_text())
    assert config["chapter"] == "stabilisers" and config["parameters"]["profile"] == "smoke"
    listed = json.loads((folder / "sweep.json").read_text())
    assert set(listed["grid"]["grids"]) == {"methods", "few_shot", "unstable_lr"}
    assert len(listed["points"]) == 12  # 6 settings x 2 seeds
    calibration = json.loads((folder / "calibration.json").read_text())
    timed = {r["setting"]: r for r in calibration["rows"]}
    assert len(timed) == 6 and calibration["budget_steps"] == 12
    baseline = {}
    for row in timed.values():
        if row["method"] == "baseline":
            baseline.setdefault(row["dataset"], row["seconds_per_step"])
    for row in timed.values():  # the baseline's 12 steps' seconds, over each one's step time
        assert row["budget_seconds"] == pytest.approx(12 * baseline[row["dataset"]])
        assert row["steps"] == max(3, round(row["budget_seconds"] / row["seconds_per_step"]))
    for point in listed["points"]:
        record = json.loads((folder / "points" / point["id"] / "point.json").read_text())
        assert record["status"] in ("finished", "diverged")
        run = folder / "points" / point["id"] / record["run_dir"]
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["method"] == point["params"]["method"]
        assert metrics["steps"] == timed[point["setting"]]["steps"]
        if record["status"] == "finished":
            history = json.loads((run / "history.json").read_text())
            name = "classifier_fid" if point["params"]["dataset"] == "digits" else "swd"
            for curve in (name, f"{name}_raw", "swd_raw"):  # 3 evaluations, EMA and G
                assert [e["epoch"] for e in history["metrics"][curve]] == [1, 2, 3]
            assert sum(e["iterations"] for e in history["epochs"]) >= metrics["steps"]
            train = json.loads((run / "config.json").read_text())["train"]
            assert train["ema_decay"] > 0
            if point["params"]["method"] == "wgan_gp":
                assert (train["loss"], train["d_steps"], train["gp_weight"]) == (
                    "wgan_gp", 5, 10.0)
            if "unstable_lr" in point["grids"]:
                assert (train["lr_d"], train["lr_g"]) == (6.4e-3, 1.28e-3)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["runs"] == 12 and metrics["failed"] == 0
    assert metrics["finished"] + metrics["diverged"] == 12
    assert metrics["training_seconds_total"] > 0
    rows = json.loads((folder / "methods.json").read_text())["rows"]
    assert [(r["experiment"], r["method"]) for r in rows] == [
        ("methods", "baseline"), ("methods", "wgan_gp"), ("few_shot", "baseline"),
        ("few_shot", "diffaugment"), ("unstable_lr", "baseline"),
        ("unstable_lr", "spectral_norm")]


@pytest.mark.slow
def test_chapter7_smoke_records_the_four_claims_with_their_seeds(smoke_run):
    _, runs, _ = smoke_run(NOTEBOOK.name)
    (folder,) = runs.glob("stabilisers-*")
    claims = json.loads((folder / "claims.json").read_text())
    assert [c["id"] for c in claims] == CLAIMS
    for claim in claims:  # two seeds at smoke: never a verdict either way
        assert claim["chapter"] == "stabilisers" and claim["profile"] == "smoke"
        assert claim["verdict"] == "inconclusive"
        assert claim["seed_ids"] and set(claim["seed_ids"]) <= {0, 1}
        assert claim["seeds"] == len(claim["seed_ids"])
        assert claim["rule"] and claim["why"] and claim["measurement"]
    by_id = {c["id"]: c for c in claims}
    for name in ("diffaugment", "ema", "wgan_critic"):
        if by_id[name]["low"] is not None:
            assert by_id[name]["low"] <= by_id[name]["value"] <= by_id[name]["high"]
    assert "% of a training step" in by_id["ema"]["measurement"]


@pytest.mark.slow
def test_chapter7_smoke_shows_tables_figures_and_glues_the_results(smoke_run):
    nb, runs, _ = smoke_run(NOTEBOOK.name)
    (folder,) = runs.glob("stabilisers-*")
    for name in ("metric_vs_time", "samples", "critic_vs_swd"):
        with Image.open(folder / f"{name}.png") as im:
            assert im.width > 200 and im.height > 100, name
    stdout = "\n".join("".join(o["text"]) for o in outputs(nb, "stdout"))
    assert "12 runs: 6 settings x 2 seeds [0, 1]" in stdout
    assert "12 runs in " in stdout and "0 failed" in stdout
    html = "\n".join("".join(o["data"]["text/html"]) for o in outputs(nb, "text/html"))
    assert "<caption>Profile smoke: every method of a dataset trained for the same budget" in html
    assert "<caption>Measured seconds per step and the steps" in html
    assert "classifier_fid (EMA)" in html and "swd (G)" in html
    assert not outputs(nb, "text/markdown")  # every table is HTML (book.table)
    glued = {o["metadata"]["scrapbook"]["name"] for c in nb.cells for o in c.get("outputs", [])
             if "scrapbook" in o.get("metadata", {})}
    assert {"ch7_methods", "ch7_claims", "ch7_summary"} <= glued
    assert len(outputs(nb, "image/png")) >= 3  # time curves, samples, the critic
