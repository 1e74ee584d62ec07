"""Chapter notebooks executed headless by papermill at the smoke profile, then checked on disk."""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import nbformat
import pytest
from PIL import Image

papermill = pytest.importorskip("papermill")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def execute(name: str, tmp_path: Path, **parameters) -> tuple[nbformat.NotebookNode, Path]:
    """Run notebooks/<name> with papermill in tmp_path; return the executed notebook, runs dir."""
    runs = tmp_path / "runs"
    out = tmp_path / name
    papermill.execute_notebook(str(NOTEBOOKS / name), str(out), cwd=str(tmp_path),
                               parameters={"out_dir": str(runs), **parameters},
                               progress_bar=False, kernel_name="python3")
    return nbformat.read(out, as_version=4), runs


def stdout_of(nb: nbformat.NotebookNode) -> str:
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []) if o.get("name") == "stdout")


def html_of(nb: nbformat.NotebookNode) -> str:
    """The HTML outputs (tables) of an executed notebook, entities decoded."""
    return html.unescape("\n".join(o["data"]["text/html"] for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []) if "text/html" in o.get("data", {})))


@pytest.mark.slow
def test_chapter2_smoke_run_writes_history_grids_and_throughput(smoke_run):
    nb, runs, _ = smoke_run("02_dcgan_celeba.ipynb")
    (run,) = runs.iterdir()
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["name"] == "faces" and config["train"]["epochs"] == 2
    history = json.loads((run / "history.json").read_text())
    assert len(history["loss_d"]) > 0
    assert all(math.isfinite(v) for k in ("loss_d", "loss_g", "d_x") for v in history[k])
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["images_per_s"] > 0 and metrics["status"] == "finished"
    # The quality metric (SWD offline) was measured every epoch and the best weights kept.
    swd = history["metrics"]["swd"]
    assert [e["epoch"] for e in swd] == [1, 2] and all(e["value"] > 0 for e in swd)
    assert swd[0]["n_fake"] == swd[0]["n_real"] == 64
    best = min(swd, key=lambda e: e["value"])
    assert metrics["metric_swd_best"] == best["value"]
    assert metrics["metric_swd_best_epoch"] == best["epoch"]
    assert (run / "checkpoints" / "best.pt").is_file()
    for figure in ("samples/epoch_001.png", "samples/epoch_002.png", "real_vs_fake.png",
                   "losses.png", "probabilities.png", "grids_over_epochs.png",
                   "interpolation.png", "swd.png"):
        with Image.open(run / figure) as im:
            assert im.width > 50 and im.height > 50, figure
    text = stdout_of(nb)
    assert re.search(r"\nprofile +'smoke'\n", text)  # the resolved configuration was printed
    assert "Loss_D: " in text and "D(G(z)): " in text  # the tutorial-format log lines
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 8
    # The seed's readings of its loss chart, checked against this run and recorded as data.
    # ... on every training seed: the run shown (seed 0) and seed 1, trained into a child folder
    claims = {c["id"]: c for c in json.loads((run / "claims.json").read_text())}
    assert {"d_loss_low", "d_loss_stable", "converging"} <= set(claims)
    other = run / "seed1"
    other_history = json.loads((other / "history.json").read_text())
    other_swd = other_history["metrics"]["swd"]
    assert [e["epoch"] for e in other_swd] == [1, 2]  # its first evaluation and its last epoch
    assert json.loads((other / "config.json").read_text())["train"]["seed"] == 1
    assert other_history["loss_d"] != history["loss_d"]  # another seed, another run
    for claim in claims.values():
        if claim["id"] in ("d_loss_low", "d_loss_stable", "converging"):
            assert claim["seeds"] == 2 and claim["seed_ids"] == [0, 1], claim
    low = claims["d_loss_low"]
    assert low["seed_report"] == "000" and low["profile"] == "smoke"
    assert low["verdict"] == "inconclusive"  # two training seeds: fewer than a verdict needs
    last_loss_d = []
    for h in (history, other_history):
        last = max(h["epoch"])
        last_loss_d.append(sum(v for v, e in zip(h["loss_d"], h["epoch"]) if e == last)
                           / h["epoch"].count(last))
    mean_loss_d = sum(last_loss_d) / 2
    assert low["value"] == pytest.approx(mean_loss_d, rel=1e-6)
    assert low["leaning"] == ("supported" if low["high"] < math.log(4) else
                              "refuted" if low["low"] > math.log(4) else None)
    changes = [(s[-1]["value"] - s[0]["value"]) / s[0]["value"] for s in (swd, other_swd)]
    assert claims["converging"]["value"] == pytest.approx(sum(changes) / 2)
    # Report 002's model selection: draws of n images from two checkpoints of every seed
    study = json.loads((run / "selection_study.json").read_text())
    assert set(study["studies"]) == {"fd_pixels", "swd"}
    assert set(study["studies"]["fd_pixels"]) == {"0", "1"}  # every training seed
    pixels = study["studies"]["fd_pixels"]["0"]
    assert pixels["sizes"] == [10, 20] and set(pixels["large"]) == {"epoch 1", "epoch 2"}
    assert all(len(v) == pixels["repeats"] for by_n in pixels["values"].values()
               for v in by_n.values())
    assert (run / "selection.png").is_file() and (other / "selection_early_pool.pt").is_file()
    select = claims["select_on_10"]
    assert select["seed_report"] == "002" and select["seed_ids"] == [0, 1]
    assert select["verdict"] == "inconclusive"
    shares = [s["correct"]["10"] for s in study["studies"]["fd_pixels"].values()]
    assert select["value"] == pytest.approx(sum(shares) / 2)
    # Report 002's pipeline: its [0, 1] real pixels against matched ranges, one seed both ways
    pipeline = json.loads((run / "pipeline.json").read_text())
    rows = pipeline["rows"]
    assert [r["real pixels"] for r in rows] == ["[0, 1]", "[-1, 1]"]
    assert [r["seed"] for r in rows] == [0, 0] and "center crop" in pipeline["crop"]
    assert rows[1]["fake pixels outside the real range"] == 0.0  # Tanh stays in [-1, 1]
    assert (run / "pipeline.png").is_file()
    ranged = claims["pipeline_range"]
    assert ranged["seed_report"] == "002" and ranged["seed_ids"] == [0]
    assert ranged["verdict"] == "inconclusive" and "no face detector" in ranged["measurement"]
    assert ranged["value"] == pytest.approx(rows[0]["SWD"] - rows[1]["SWD"])
    glued = {o.get("metadata", {}).get("scrapbook", {}).get("name")
             for c in nb.cells for o in c.get("outputs", [])}
    assert {"ch2_pipeline", "ch2_pipeline_table", "ch2_pipeline_seeds", "ch2_pipeline_steps",
            "ch2_pipeline_width", "ch2_pipeline_swd_report", "ch2_pipeline_swd_matched",
            "ch2_pipeline_outside", "ch2_pipeline_verdict"} <= glued
    shown = html_of(nb)
    assert "the discriminator's loss remains low" in shown and "inconclusive" in shown
    assert json.loads((run / "config.json").read_text())["parameters"]["epochs"] == 2


@pytest.mark.slow
def test_chapter2_rejects_a_bad_parameter_before_training(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match="epochs"):
        execute("02_dcgan_celeba.ipynb", tmp_path, profile="smoke", epochs="ten")
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_chapter2_refuses_a_misspelled_parameter_instead_of_ignoring_it(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError,
                       match=r"'epcohs' \(did you mean 'epochs'\?\)"):
        execute("02_dcgan_celeba.ipynb", tmp_path, profile="smoke", epcohs=3)
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_chapter2_fid_without_inception_weights_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_INCEPTION_WEIGHTS", str(tmp_path / "missing.pth"))
    with pytest.raises(papermill.PapermillExecutionError, match="LABKIT_INCEPTION_WEIGHTS"):
        execute("02_dcgan_celeba.ipynb", tmp_path, profile="smoke", metric="fid")
    assert not (tmp_path / "runs").exists()
