"""Chapter 5 executed headless by papermill at the smoke profile, then checked on disk."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import nbformat
import pytest

from labkit.data import imresize, load_images, modcrop
from labkit.metrics import psnr

papermill = pytest.importorskip("papermill")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_srgan.ipynb"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
METHODS = ("bicubic", "SRResNet (MSE)", "SRGAN")


def execute(tmp_path: Path, **parameters) -> tuple[nbformat.NotebookNode, Path]:
    """Run the chapter with papermill in tmp_path; return the executed notebook and runs dir."""
    runs, out = tmp_path / "runs", tmp_path / "05_srgan.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), cwd=str(tmp_path),
                               parameters={"out_dir": str(runs), **parameters},
                               progress_bar=False, kernel_name="python3")
    return nbformat.read(out, as_version=4), runs


@pytest.mark.slow
def test_chapter5_smoke_run_writes_the_paper_style_table(smoke_run):
    nb, runs, _ = smoke_run(NOTEBOOK.name)
    (chapter,) = runs.glob("srgan-*")

    table = json.loads((chapter / "sr_table.json").read_text())
    assert table["profile"] == "smoke" and table["scale"] == 4
    assert table["y_channel"] is True and table["shave"] == 4 and table["content_loss"] == "mse"
    rows = {row["method"]: row for row in table["rows"] if row["set"] == "photos"}
    assert set(METHODS) <= set(rows)
    for row in rows.values():
        assert row["images"] == 2 and set(row["per_image_psnr"]) == {"chelsea", "coffee"}
        assert 20 < row["psnr"] < 40 and 0.5 < row["ssim"] <= 1
        assert row["psnr"] == pytest.approx(sum(row["per_image_psnr"].values()) / 2)
    # The bicubic row is the paper's baseline, recomputed here independently.
    hr = modcrop(load_images("photos")["chelsea"], 4)
    bicubic = psnr(imresize(imresize(hr, 0.25), 4.0), hr, scale=4)
    assert rows["bicubic"]["per_image_psnr"]["chelsea"] == pytest.approx(bicubic, abs=1e-6)
    with open(chapter / "sr_table.csv") as f:
        written = list(csv.DictReader(f))
    assert len(written) == len(table["rows"]) and written[0]["psnr_db"]

    histories = {}
    for stage in ("srresnet", "srgan", "frozen-d"):
        (run,) = chapter.glob(f"{stage}-*")
        histories[stage] = json.loads((run / "history.json").read_text())
        assert histories[stage]["loss_content"], stage
    assert all(v == 0 for v in histories["srresnet"]["loss_d"])  # D not consulted in stage 1
    frozen = [v / 2 for v in histories["frozen-d"]["loss_d"]]
    assert all(abs(v - math.log(2)) < 0.01 for v in frozen)  # the lab's plateau, reproduced
    for figure in ("ln2.png", "comparison.png", "losses.png"):
        assert (chapter / figure).stat().st_size > 1000, figure

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not any(WIDGET_MIME in o.get("data", {}) for o in outputs)
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5
    text = "\n".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    assert "profile             'smoke'" in text  # the resolved configuration was printed
    assert "content loss of the SRGAN stage: mse" in text
    assert "ln 2 = 0.6931" in text and "Static figure instead of the interactive widget" in text
    assert "lab generator: 1,080,835 trainable parameters" in text


@pytest.mark.slow
def test_chapter5_vgg_loss_without_weights_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_VGG19_WEIGHTS", str(tmp_path / "missing.pth"))
    with pytest.raises(papermill.PapermillExecutionError, match="LABKIT_VGG19_WEIGHTS"):
        execute(tmp_path, profile="smoke", content="vgg54")
    assert not (tmp_path / "runs").exists()
