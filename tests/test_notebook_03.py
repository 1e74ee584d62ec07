"""Chapter 3 (one DCGAN across datasets) executed headless at the smoke profile, checked on disk."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import nbformat
import pytest

papermill = pytest.importorskip("papermill")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_cross_dataset.ipynb"
DATASETS = ("digits", "faces", "photos")
SEED_COLUMNS = ("seed_loss_d", "seed_loss_g", "seed_d_x", "seed_d_g_z1", "seed_d_g_z2")


@pytest.fixture(scope="module")
def executed(smoke_run):
    """The session's smoke run of the notebook: (executed notebook, runs folder)."""
    nb, runs, _ = smoke_run(NOTEBOOK.name)
    return nb, runs


def stdout_of(nb: nbformat.NotebookNode) -> str:
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []) if o.get("name") == "stdout")


def finite(value) -> bool:
    return value is not None and math.isfinite(float(value))


@pytest.mark.slow
def test_three_runs_with_finite_histories(executed):
    _, runs = executed
    for name in DATASETS:
        (run,) = runs.glob(f"cross-{name}-*")
        config = json.loads((run / "config.json").read_text())
        assert config["data"]["name"] == name
        history = json.loads((run / "history.json").read_text())
        assert len(history["loss_d"]) == config["train"]["epochs"] * 4  # smoke: 4 per epoch
        assert all(finite(v) for k in ("loss_d", "loss_g", "d_x", "d_g_z1") for v in history[k])
        assert (run / "real_vs_fake.png").is_file()


@pytest.mark.slow
def test_table_has_a_finite_row_per_dataset(executed):
    _, runs = executed
    (chapter,) = runs.glob("cross_dataset-*")
    with open(chapter / "cross_dataset.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["dataset"] for row in rows] == list(DATASETS)
    for row in rows:
        assert finite(row["swd"]) and finite(row["swd_ratio"]) and float(row["swd_floor"]) > 0
        assert float(row["memorisation_ratio"]) > 0
        assert float(row["seconds_per_epoch"]) > 0
        assert all(finite(row[k]) for k in SEED_COLUMNS), "the seed report's numbers"
        assert row["seed_dataset"] in ("EMNIST", "CelebA", "CIFAR-10 airplanes")
    table = json.loads((chapter / "cross_dataset.json").read_text())
    assert table["profile"] == "smoke" and len(table["rows"]) == 3
    assert {r["iterations"] for r in table["rows"]} == {8}  # one budget for all three
    for figure in ("real_vs_fake.png", "losses.png", "probabilities.png",
                   "closest_pairs_digits.png"):
        assert (chapter / figure).is_file(), figure


@pytest.mark.slow
def test_figures_and_a_verdict_for_each_claim(executed):
    nb, _ = executed
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 5
    text = stdout_of(nb)
    assert "profile          'smoke'" in text  # the resolved configuration was printed
    assert "Loss_D: " in text and "D(G(z)): " in text  # the tutorial-format log lines
    for claim in ("Claim 1", "Claim 2", "Claim 3"):
        block = text.split(claim, 1)[1].split("Claim ", 1)[0]
        assert "Verdict: " in block, claim
    assert "FID is not computed" in text  # the quality metric decision is printed
    markdown = [o["data"]["text/markdown"] for c in nb.cells for o in c.get("outputs", [])
                if "text/markdown" in o.get("data", {})]
    assert any(m.startswith("| dataset |") for m in markdown)


@pytest.mark.parametrize("profile", ["smoke", "cpu", "full"])
def test_profiles_share_one_setting_and_train_grey_sets_in_one_channel(profile):
    from labkit import profiles

    cfg = profiles.resolve("cross_dataset", profile)
    assert cfg.image_size == 32 and len(cfg.datasets) == 3
    grey = {"digits", "faces", "emnist"}
    for spec in cfg.datasets:
        assert spec["channels"] == (1 if spec["name"] in grey else 3), spec
        assert spec["seed_row"] in ("EMNIST", "CelebA", "CIFAR-10 airplanes")
    if profile == "full":
        assert (cfg.ngf, cfg.ndf, cfg.nz) == (128, 128, 100)
        assert [s["name"] for s in cfg.datasets] == ["emnist", "celeba", "cifar10"]
        assert cfg.datasets[2]["classes"] == ["airplane"]
    with pytest.raises(ValueError, match="datasets"):
        profiles.resolve("cross_dataset", profile, datasets="digits")
