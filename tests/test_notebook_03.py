"""Chapter 3 (one DCGAN across datasets) executed headless at the smoke profile: the chapter run
folder, its three child runs, the cross-dataset table, metrics.json, claims.json and figures."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import nbformat
import pytest
from PIL import Image

papermill = pytest.importorskip("papermill")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_cross_dataset.ipynb"
DATASETS = ("digits", "faces", "photos")
SEED_COLUMNS = ("seed_loss_d", "seed_loss_g", "seed_d_x", "seed_d_g_z1", "seed_d_g_z2")


@pytest.fixture(scope="module")
def executed(smoke_run):
    """The session's smoke run of the notebook: (executed notebook, the chapter run folder)."""
    nb, runs, _ = smoke_run(NOTEBOOK.name)
    (chapter,) = runs.glob("crossdata-*")
    return nb, chapter


def read(path: Path):
    return json.loads(path.read_text())


def finite(value) -> bool:
    return value is not None and math.isfinite(float(value))


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


@pytest.mark.slow
def test_one_chapter_folder_with_a_child_run_per_dataset(executed):
    _, chapter = executed
    config = read(chapter / "config.json")
    assert config["chapter"] == "crossdata" and config["parameters"]["profile"] == "smoke"
    assert sorted(p.name for p in chapter.iterdir() if p.is_dir()) == sorted(DATASETS)
    for name in DATASETS:
        run = chapter / name
        child = read(run / "config.json")
        assert child["data"]["name"] == name and child["dataset"]["name"] == name
        history = read(run / "history.json")
        assert len(history["loss_d"]) == child["train"]["epochs"] * 4  # smoke: 4 per epoch
        assert all(finite(v) for k in ("loss_d", "loss_g", "d_x", "d_g_z1") for v in history[k])
        assert (run / "real_vs_fake.png").is_file() and (run / "checkpoints" / "last.pt").is_file()


@pytest.mark.slow
def test_table_has_a_finite_row_per_dataset_and_one_budget(executed):
    _, chapter = executed
    with open(chapter / "cross_dataset.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["dataset"] for row in rows] == list(DATASETS)
    for row in rows:
        assert finite(row["swd"]) and finite(row["swd_ratio"]) and float(row["swd_floor"]) > 0
        assert float(row["swd_ratio_low"]) <= float(row["swd_ratio"]) <= float(
            row["swd_ratio_high"])
        assert float(row["memorisation_ratio"]) > 0 and float(row["seconds_per_epoch"]) > 0
        assert all(finite(row[k]) for k in SEED_COLUMNS), "the seed report's numbers"
        assert row["seed_dataset"] in ("EMNIST", "CelebA", "CIFAR-10 airplanes")
    table = read(chapter / "cross_dataset.json")
    assert table["profile"] == "smoke" and len(table["rows"]) == 3
    assert table["seed_report"]["EMNIST"]["iters_per_epoch"] == 882
    assert {r["iterations"] for r in table["rows"]} == {8}  # one budget for all three
    for r in table["rows"]:
        assert len(r["swd_ratio_draws"]) == table["config"]["swd_draws"] == 2
        assert r["swd_ratio"] == pytest.approx(sum(r["swd_ratio_draws"]) / 2)
    for figure in ("real_vs_fake", "losses", "probabilities", "closest_pairs_digits"):
        with Image.open(chapter / f"{figure}.png") as image:
            assert image.width > 300 and image.height > 100, figure


@pytest.mark.slow
def test_metrics_hold_the_headline_numbers_of_the_table(executed):
    _, chapter = executed
    metrics = read(chapter / "metrics.json")
    rows = {r["dataset"]: r for r in read(chapter / "cross_dataset.json")["rows"]}
    assert metrics["datasets"] == list(DATASETS) and metrics["profile"] == "smoke"
    for name in DATASETS:
        assert metrics[f"swd_ratio_{name}"] == pytest.approx(rows[name]["swd_ratio"])
        assert metrics[f"swd_ratio_{name}_low"] < metrics[f"swd_ratio_{name}_high"]
        assert metrics[f"memorisation_ratio_{name}"] == rows[name]["memorisation_ratio"] > 0
        assert metrics[f"copy_control_{name}"] == rows[name]["copy_control"]
    assert metrics["images_per_s_width_128"] > 0 and metrics["images_per_s_width_16"] > 0


@pytest.mark.slow
def test_three_claims_recorded_with_one_seed_each(executed):
    nb, chapter = executed
    claims = {c["id"]: c for c in read(chapter / "claims.json")}
    assert set(claims) == {"contrast", "memorised", "scenic"}
    for claim in claims.values():
        assert claim["seed_report"] == "001" and claim["chapter"] == "crossdata"
        assert claim["seeds"] == 1 and claim["profile"] == "smoke"
        assert claim["verdict"] == "inconclusive"  # one training run per dataset
        assert claim["leaning"] in (None, "supported", "refuted") and claim["why"]
    rows = {r["dataset"]: r for r in read(chapter / "cross_dataset.json")["rows"]}
    assert claims["memorised"]["value"] == rows["digits"]["copy_control"]
    assert "digits" in claims["contrast"]["why"]  # the highest-contrast set is named
    shown = "\n".join(o["data"]["text/html"] for o in outputs(nb)
                      if "text/html" in o.get("data", {}))
    assert "may have memorised its training set" in shown and "inconclusive" in shown


@pytest.mark.slow
def test_notebook_shows_figures_and_html_tables_and_no_stray_values(executed):
    nb, _ = executed
    shown = outputs(nb)
    assert sum("image/png" in o.get("data", {}) for o in shown) >= 5
    text = "\n".join(o.get("text", "") for o in shown if o.get("name") == "stdout")
    assert "profile          'smoke'" in text  # the resolved configuration was printed
    assert "Loss_D: " in text and "D(G(z)): " in text  # the tutorial-format log lines
    assert "FID is not computed" in text  # the quality metric decision is printed
    html = [o["data"]["text/html"] for o in shown if "text/html" in o.get("data", {})]
    assert any("<table>" in h and "SWD ratio [95 % t]" in h for h in html)
    assert not [o for o in shown if "text/markdown" in o.get("data", {})]  # no Markdown tables
    for o in shown:  # a cell's value is a figure or a table, never a bare repr
        if o.get("output_type") == "execute_result":
            assert {"text/html", "image/png"} & set(o["data"]), o["data"].get("text/plain")
