"""Chapter 1 executed headless by papermill at the smoke profile (and `labkit run theory`), then
checked on disk: one chapter folder, a child run per toy GAN, the mode-coverage table, the
headline numbers, the figures and the claims."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import nbformat
import pytest
from scipy import stats

from labkit.chapters import theory
from labkit.cli import main

papermill = pytest.importorskip("papermill")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_gan_theory.ipynb"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
OUTCOMES = ("collapse", "unconverged", "unstable", "covered")
# A chapter run in seconds: one short ring setting, a short 1-D GAN and explorer.
TINY = ["-p", "dstar_steps=20", "-p", "mixture_epochs=1", "-p", "ring_epochs=2",
        "-p", "data_repeats=1", "-p", "explorer_epochs=1", "-p", "eval_samples=200",
        "-p", 'ring_settings=[{"label": "ns", "loss": "non_saturating", "lr_d": 1e-3, '
              '"lr_g": 1e-3}]']


def read(path: Path):
    return json.loads(path.read_text())


def check_claims(chapter: Path) -> dict:
    """claims.json holds the three GAN-paper claims with the verdicts the rule allows."""
    claims = {c["id"]: c for c in read(chapter / "claims.json")}
    assert set(claims) == {"optimal_d", "value_at_optimum", "saturation"}
    assert all(c["seed_report"] == "gan-2014" and c["chapter"] == "theory"
               for c in claims.values())
    for exact in ("value_at_optimum", "saturation"):  # no training: decided by one computation
        assert claims[exact]["deterministic"] and claims[exact]["seeds"] == 0
        assert claims[exact]["verdict"] == "supported", claims[exact]
    trained = claims["optimal_d"]  # one trained discriminator per training seed
    assert not trained["deterministic"] and trained["seeds"] == 3
    assert trained["seed_ids"] == [0, 1, 2]
    metrics = read(chapter / "metrics.json")
    errors = metrics["dstar_mean_error_per_seed"]  # one value per seed, the claim's sample
    assert metrics["dstar_seed_ids"] == [0, 1, 2] and len(errors) == 3
    half = stats.t.ppf(0.975, 2) * statistics.stdev(errors) / math.sqrt(3)
    assert trained["value"] == pytest.approx(statistics.fmean(errors))
    assert trained["low"] == pytest.approx(trained["value"] - half)
    assert trained["high"] == pytest.approx(trained["value"] + half)
    expected = ("supported" if trained["high"] < theory.DSTAR_TOLERANCE else
                "refuted" if trained["low"] > theory.DSTAR_TOLERANCE else "inconclusive")
    assert trained["verdict"] == expected
    return claims


def test_parameters_cell_lists_exactly_the_chapter_knobs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    listed = [line.split("=")[0].strip() for line in nb.cells[1].source.splitlines()
              if "=" in line.split("#")[0]]
    assert listed[0] == "profile" and sorted(listed[1:]) == sorted(theory.Config.names())
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert max(len(s.splitlines()) for s in code) <= 60
    assert not any("display(Markdown" in s for s in code)


@pytest.mark.slow
def test_chapter1_smoke_run_writes_runs_table_figures_and_claims(smoke_run):
    nb, runs, _ = smoke_run(NOTEBOOK.name)

    (chapter,) = runs.glob("theory-*")  # one folder per execution, runs inside it
    config = read(chapter / "config.json")
    assert config["chapter"] == "theory" and config["parameters"]["profile"] == "smoke"
    table = read(chapter / "mode_coverage.json")
    assert table["profile"] == "smoke" and table["rule"]["samples"] == 1000
    assert [r["label"] for r in table["rows"]] == ["non-saturating", "slow G (lr_g 5e-5)"]
    for row in table["rows"]:
        assert isinstance(row["modes_covered"], int) and 0 <= row["modes_covered"] <= 8
        assert 0.0 <= row["high_quality_share"] <= 1.0
        assert row["outcome"] in OUTCOMES and row["verdict"]
        history = read(chapter / row["run_dir"] / "history.json")
        coverage = history["metrics"]["modes_covered"]
        assert [e["epoch"] for e in coverage] == list(range(1, 9))
        assert coverage[-1]["value"] == row["modes_covered"]
        assert sorted(map(int, history["snapshots"])) == [1, 3, 4, 6, 8]
    assert (chapter / "mode_coverage.csv").read_text().count("\n") == len(table["rows"]) + 1

    metrics = read(chapter / "metrics.json")
    assert metrics["status"] == "finished"
    assert abs(metrics["value_at_dstar"] - metrics["value_identity"]) < 1e-3
    assert 0 < metrics["jsd"] < math.log(2)
    assert metrics["value_at_trained_d"] <= metrics["value_at_dstar"]
    assert 0 <= metrics["dstar_mean_error"] <= metrics["dstar_max_error"] <= 1
    assert metrics["mixture_outcome"] in ("equilibrium", "undetected", "separating")
    first = table["rows"][0]
    assert metrics["ring_non_saturating_modes_covered"] == first["modes_covered"]
    assert metrics["ring_non_saturating_outcome"] == first["outcome"]
    check_claims(chapter)

    children = [p for p in chapter.iterdir() if (p / "history.json").is_file()]
    assert {p.name for p in children} == {"mixture-1d", "ring-non-saturating",
                                          "ring-slow-g-lr-g-5e-5", "ring-explorer"}
    for run in children:
        history = read(run / "history.json")
        assert len(history["loss_d"]) > 0
        assert all(math.isfinite(v) for k in ("loss_d", "loss_g", "d_x", "d_g_z1")
                   for v in history[k])
        assert read(run / "config.json")["generator"]["family"] == "toy_mlp"
        assert read(run / "metrics.json")["status"] == "finished"

    for figure in ("optimal_discriminator.png", "generator_gradients.png",
                   "ring_over_training.png", "ring_coverage_curves.png",
                   "mixture-1d/density_over_training.png", "mixture-1d/probabilities.png",
                   "ring-explorer/explorer.png"):
        assert (chapter / figure).stat().st_size > 1000, figure
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 7
    assert not any(WIDGET_MIME in o.get("data", {}) for o in outputs)
    assert not any(o.get("output_type") == "execute_result" and "image/png" not in o["data"]
                   for o in outputs), "a cell ends in a stray repr"
    text = "\n".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    assert "Static figure instead of the interactive widget" in text  # headless fallback shown
    assert "profile          'smoke'" in text  # the resolved configuration was printed
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "V(D*, G), integrated" in html and "-log 4 + 2 JSD" in html
    assert "Chapter 1: the ring of 8 Gaussians (smoke profile" in html  # the glued table
    assert "gan-2014" in html  # the claims table


def test_labkit_run_theory_writes_the_chapter_folder_and_claims(tmp_path, capsys):
    runs = tmp_path / "runs"
    main(["run", "theory", "--profile", "smoke", "-p", f"out_dir={runs}", *TINY])
    (chapter,) = runs.iterdir()
    assert f"run folder: {chapter}" in capsys.readouterr().out
    assert read(chapter / "config.json")["parameters"]["ring_epochs"] == 2
    (row,) = read(chapter / "mode_coverage.json")["rows"]
    assert row["run_dir"] == "ring-ns" and row["iterations"] == 2 * (1024 // 128)
    assert read(chapter / "metrics.json")["status"] == "finished"
    assert (chapter / "ring-explorer" / "explorer.png").is_file()
    check_claims(chapter)


def test_resume_continues_the_latest_chapter_folder_without_retraining(tmp_path, capsys):
    runs = tmp_path / "runs"
    main(["run", "theory", "--profile", "smoke", "-p", f"out_dir={runs}", *TINY])
    (chapter,) = runs.iterdir()
    before = read(chapter / "mode_coverage.json")["rows"]
    capsys.readouterr()
    main(["run", "theory", "--profile", "smoke", "-p", f"out_dir={runs}", "-p", "resume=True",
          *TINY])
    assert list(runs.iterdir()) == [chapter]  # no new chapter folder
    out = capsys.readouterr().out
    assert "already holds 1 epochs; nothing to train" in out  # the 1-D GAN was not retrained
    after = read(chapter / "mode_coverage.json")["rows"]
    assert after == before  # coverage and snapshots came back from the resumed histories
    assert (chapter / "ring-explorer-2" / "explorer.png").is_file()  # the explorer is fresh
