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

from labkit.stats import difference_interval, mean_interval

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


def seeds_of(chapter: Path) -> list[int]:
    """The training seeds the run was configured with."""
    return read(chapter / "config.json")["parameters"]["seeds"]


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


@pytest.mark.slow
def test_one_chapter_folder_with_a_child_run_per_dataset_and_seed(executed):
    _, chapter = executed
    config = read(chapter / "config.json")
    assert config["chapter"] == "crossdata" and config["parameters"]["profile"] == "smoke"
    seeds = seeds_of(chapter)
    assert seeds == [0, 1]  # smoke: two seeds, enough for an interval, too few for a verdict
    assert sorted(p.name for p in chapter.iterdir() if p.is_dir()) == sorted(
        f"{name}-seed{seed}" for name in DATASETS for seed in seeds)
    for name in DATASETS:
        for seed in seeds:
            run = chapter / f"{name}-seed{seed}"
            child = read(run / "config.json")
            assert child["data"]["name"] == name and child["dataset"]["name"] == name
            assert child["train"]["seed"] == seed == child["training_seed"]
            history = read(run / "history.json")
            assert len(history["loss_d"]) == child["train"]["epochs"] * 4  # smoke: 4 per epoch
            assert all(finite(v) for k in ("loss_d", "loss_g", "d_x", "d_g_z1")
                       for v in history[k])
            assert (run / "real_vs_fake.png").is_file()
            assert (run / "checkpoints" / "last.pt").is_file()
        first, second = (read(chapter / f"{name}-seed{s}" / "history.json") for s in seeds)
        assert first["loss_d"] != second["loss_d"]  # another seed, another run


@pytest.mark.slow
def test_table_rows_per_seed_and_means_with_intervals_over_the_seeds(executed):
    _, chapter = executed
    seeds = seeds_of(chapter)
    per_seed = read(chapter / "cross_dataset_seeds.json")["rows"]
    assert [(r["dataset"], r["training_seed"]) for r in per_seed] == [
        (name, seed) for name in DATASETS for seed in seeds]
    for r in per_seed:  # each seed's ratio: the mean of its evaluation draws
        assert len(r["swd_ratio_draws"]) == 2 and r["swd_ratio"] == pytest.approx(
            sum(r["swd_ratio_draws"]) / 2)
        assert r["iterations"] == 8  # one budget for all three
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
    assert table["training_seeds"] == seeds
    assert table["seed_report"]["EMNIST"]["iters_per_epoch"] == 882
    for r in table["rows"]:  # the interval is over the training seeds, not over the draws
        values = [s["swd_ratio"] for s in per_seed if s["dataset"] == r["dataset"]]
        interval = mean_interval(values)
        assert r["swd_ratio_seeds"] == values and r["training_seeds"] == seeds
        assert r["swd_ratio"] == pytest.approx(interval.mean)
        assert (r["swd_ratio_low"], r["swd_ratio_high"]) == (pytest.approx(interval.low),
                                                             pytest.approx(interval.high))
        controls = [s["copy_control"] for s in per_seed if s["dataset"] == r["dataset"]]
        assert r["copy_control_low"] == pytest.approx(mean_interval(controls).low)
    for figure in ("real_vs_fake", "losses", "probabilities", "closest_pairs_digits"):
        with Image.open(chapter / f"{figure}.png") as image:
            assert image.width > 300 and image.height > 100, figure


@pytest.mark.slow
def test_metrics_hold_the_headline_numbers_of_the_table(executed):
    _, chapter = executed
    metrics = read(chapter / "metrics.json")
    rows = {r["dataset"]: r for r in read(chapter / "cross_dataset.json")["rows"]}
    assert metrics["datasets"] == list(DATASETS) and metrics["profile"] == "smoke"
    assert metrics["training_seeds"] == seeds_of(chapter)
    for name in DATASETS:
        assert metrics[f"swd_ratio_{name}"] == pytest.approx(rows[name]["swd_ratio"])
        assert metrics[f"swd_ratio_{name}_low"] < metrics[f"swd_ratio_{name}_high"]
        assert metrics[f"memorisation_ratio_{name}"] == rows[name]["memorisation_ratio"] > 0
        assert metrics[f"copy_control_{name}"] == rows[name]["copy_control"]
    assert metrics["images_per_s_width_128"] > 0 and metrics["images_per_s_width_16"] > 0


@pytest.mark.slow
def test_three_claims_list_their_training_seeds(executed):
    nb, chapter = executed
    seeds = seeds_of(chapter)
    claims = {c["id"]: c for c in read(chapter / "claims.json")}
    assert set(claims) == {"contrast", "memorised", "scenic"}
    for claim in claims.values():
        assert claim["seed_report"] == "001" and claim["chapter"] == "crossdata"
        assert claim["seeds"] == len(seeds) and claim["seed_ids"] == seeds
        assert len(claim["seed_ids"]) == claim["seeds"] and claim["profile"] == "smoke"
        assert claim["verdict"] == "inconclusive"  # two seeds: fewer than a verdict needs
        assert claim["leaning"] in (None, "supported", "refuted") and claim["why"]
        assert "2 training seeds (0, 1)" in claim["why"]
    per_seed = read(chapter / "cross_dataset_seeds.json")["rows"]

    def values(name, key):
        return [r[key] for r in per_seed if r["dataset"] == name]

    controls = mean_interval(values("digits", "copy_control"))
    assert claims["memorised"]["value"] == pytest.approx(controls.mean)
    assert claims["memorised"]["low"] == pytest.approx(controls.low)
    assert "digits" in claims["contrast"]["why"]  # the highest-contrast set is named
    means = {n: sum(values(n, "swd_ratio")) / len(seeds) for n in DATASETS}
    rival = min(("faces", "photos"), key=means.get)  # digits has the highest contrast
    gap = difference_interval(values("digits", "swd_ratio"), values(rival, "swd_ratio"))
    assert claims["contrast"]["value"] == pytest.approx(gap.mean)
    assert (claims["contrast"]["low"], claims["contrast"]["high"]) == (
        pytest.approx(gap.low), pytest.approx(gap.high))
    shown = "\n".join(o["data"]["text/html"] for o in outputs(nb)
                      if "text/html" in o.get("data", {}))
    assert "may have memorised its training set" in shown and "inconclusive" in shown
    assert "2 (0, 1)" in shown  # the claims table lists the seeds


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
    assert any("<table>" in h and "SWD ratio [95 % t]" in h and "2 training seeds per dataset"
               in h for h in html)
    assert not [o for o in shown if "text/markdown" in o.get("data", {})]  # no Markdown tables
    for o in shown:  # a cell's value is a figure or a table, never a bare repr
        if o.get("output_type") == "execute_result":
            assert {"text/html", "image/png"} & set(o["data"]), o["data"].get("text/plain")
