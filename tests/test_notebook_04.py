"""Chapter 4 (conditional GAN): its parameters, its class/seed picker, the notebook's smoke run
and `labkit run cgan`, checked on what they wrote to the run folder."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import nbformat
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from labkit.chapters import cgan as chapter
from labkit.cli import main
from labkit.widgets import class_picker

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_cgan_emnist.ipynb"
CLAIMS = {"more_epochs", "ladder_beta1", "ladder_lr_d", "ladder_batch_size",
          "d_tells_fakes_apart", "g_loss_above_1", "smoothing_would_help"}
LADDER_CLAIMS = {"more_epochs", "ladder_beta1", "ladder_lr_d", "ladder_batch_size"}
FIGURES = ("class_accuracy.png", "class_accuracy_per_class.png", "confusion_matrix.png",
           "rows_per_class.png", "same_z_all_classes.png", "label_interpolation.png",
           "ten_random_labels.png", "losses.png", "probabilities.png", "real_vs_fake.png",
           "ladder.png")


def test_parameters_cell_exposes_exactly_the_chapter_knobs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    tree = ast.parse(nb.cells[1].source)
    names = [t.id for node in tree.body for t in node.targets]
    assert names[0] == "profile" and sorted(names[1:]) == sorted(chapter.Config.names())
    assert "chapter.Config.from_notebook(profile, globals())" in nb.cells[2].source


def test_no_verdict_or_bookkeeping_is_left_in_the_notebook():
    """The chapter's own cells call labkit; only its exercises (solutions and their tests,
    tagged hide-input / remove-cell) define functions."""
    exercise = {"hide-input", "remove-cell"}
    code = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells
                     if c.cell_type == "code" and not exercise & set(c.metadata.get("tags", [])))
    for leftover in ("write_json", "metrics.json", "SEED_SETTINGS =", "Markdown(", "def "):
        assert leftover not in code, leftover


@pytest.mark.slow
def test_chapter4_smoke_run_writes_accuracy_claims_and_figures(smoke_run):
    nb, runs, _ = smoke_run(NOTEBOOK.name)
    (folder,) = runs.iterdir()
    smoke = chapter.Config.resolve("smoke")
    seeds = list(range(smoke.ladder_seeds))

    config = json.loads((folder / "config.json").read_text())
    assert config["chapter"] == "cgan" and config["parameters"]["epochs"] == 2
    history = json.loads((folder / "history.json").read_text())
    assert all(math.isfinite(v) for k in ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2")
               for v in history[k])
    records = history["metrics"]["class_accuracy"]
    assert [r["epoch"] for r in records] == [1, 2]
    assert all(len(r["extra"]["per_class"]) == 10 for r in records)

    table = json.loads((folder / "class_accuracy.json").read_text())
    assert [row["class"] for row in table["rows"]] == [str(d) for d in range(10)]
    for row in table["rows"]:
        for name in ("real held-out", "final", "final_eval_mode", "best"):
            assert 0 <= row[name] <= 1, (row, name)
    assert (folder / "class_accuracy.csv").read_text().startswith("class,real held-out,final,")
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["status"] == "finished"
    assert metrics["class_accuracy_final"] == table["overall"]["final"]
    assert metrics["class_accuracy_best"] == table["overall"]["best"]
    assert metrics["class_accuracy_final"] == pytest.approx(
        np.mean([row["final"] for row in table["rows"]]))  # the same count per class
    assert metrics["class_accuracy_best_epoch"] == metrics["metric_class_accuracy_best_epoch"]
    worst = min(table["rows"], key=lambda row: row["final"])
    assert metrics["class_accuracy_worst"] == worst["final"]
    assert metrics["classifier_accuracy"] == table["classifier_held_out_accuracy"]
    reached = next((r for r in records if r["value"] >= 0.9), None)
    assert metrics["step_reaching_0_9"] == (reached and 10 * reached["epoch"])  # 10 steps/epoch
    assert metrics["same_class_spread_ratio"] > 0
    assert all(0 <= metrics[f"d_accepts_{k}"] <= 1 for k in ("real", "wrong_label", "fake"))

    # The ladder: each rung's runs recorded the settings they trained with; neighbouring rungs
    # differ in exactly one of them, from the report's optimiser to the profile's.
    ladder = json.loads((folder / "ladder.json").read_text())
    assert ladder["seeds"] == seeds and ladder["steps"] == chapter.ladder_eval_steps(smoke)
    trained = {}
    for child in folder.glob("ladder-*"):
        record = json.loads((child / "config.json").read_text())
        train = record["train"]
        settings = {"batch_size": train["batch_size"], "lr_d": train["lr_d"],
                    "lr_g": train["lr_g"], "beta1": train["betas_d"][0]}
        assert train["betas_g"][0] == settings["beta1"]
        trained.setdefault(record["ladder"], {})[train["seed"]] = settings
        assert not (child / "checkpoints" / "last.pt").exists()  # dropped after the run
    names = [rung["name"] for rung in ladder["rungs"]]
    assert list(trained) != [] and sorted(trained) == sorted(names)
    assert all(sorted(by_seed) == seeds for by_seed in trained.values())
    assert all(len({json.dumps(s, sort_keys=True) for s in by_seed.values()}) == 1
               for by_seed in trained.values())  # one setting per rung, whatever the seed
    settings = [trained[name][0] for name in names]
    assert settings[0] == chapter.SEED_SETTINGS
    assert settings[-1] == {k: getattr(smoke, k) for k in chapter.SEED_SETTINGS}
    for before, after, rung in zip(settings, settings[1:], ladder["rungs"][1:]):
        assert [k for k in before if before[k] != after[k]] == [rung["factor"]]
    assert len(ladder["rows"]) == len(names) * len(seeds) * smoke.ladder_evals
    assert all(0 <= row["class accuracy"] <= 1 and 0 <= row["D(G(z))"] <= 1
               for row in ladder["rows"])

    claims = {c["id"]: c for c in json.loads((folder / "claims.json").read_text())}
    assert set(claims) == CLAIMS
    for claim in claims.values():
        assert (claim["seed_report"], claim["profile"], claim["chapter"]) == (
            "003", "smoke", "cgan")
        expected = seeds if claim["id"] in LADDER_CLAIMS else [0]  # the main run: seed 0
        assert (claim["seeds"], claim["seed_ids"]) == (len(expected), expected), claim["id"]
        assert claim["verdict"] == "inconclusive"  # fewer than 3 training seeds
    for name in LADDER_CLAIMS:  # two seeds a side: an interval around each difference
        low, value, high = (claims[name][k] for k in ("low", "value", "high"))
        assert low is not None and high is not None and low <= value <= high, name
    last, earlier = chapter.ladder_eval_steps(smoke)[-1], chapter.ladder_eval_steps(smoke)[0]
    by_seed = {(r["rung"], r["seed"], r["step"]): r["class accuracy"] for r in ladder["rows"]}
    gains = [by_seed[(names[0], s, last)] - by_seed[(names[0], s, earlier)] for s in seeds]
    assert claims["more_epochs"]["value"] == pytest.approx(np.mean(gains))
    fakes = claims["d_tells_fakes_apart"]
    assert fakes["value"] == metrics["d_accepts_fake"]
    assert fakes["leaning"] == ("supported" if fakes["value"] < 0.1 else "refuted")
    lowest = min(np.mean([g for g, e in zip(history["loss_g"], history["epoch"]) if e == epoch])
                 for epoch in (1, 2))
    assert claims["g_loss_above_1"]["value"] == pytest.approx(lowest)
    assert claims["g_loss_above_1"]["leaning"] == ("supported" if lowest > 1 else "refuted")
    assert f"{last:,} steps, fewer than the report's 10,000" in claims["more_epochs"]["why"]
    assert claims["smoothing_would_help"]["value"] is None
    assert claims["smoothing_would_help"]["why"].startswith("not tested")

    assert (folder / "checkpoints" / "best.pt").is_file()
    with Image.open(folder / "samples" / "epoch_002.png") as grid:
        assert grid.width == 2 + 10 * (28 + 2)  # one column per class
    for figure in FIGURES:
        with Image.open(folder / figure) as image:
            assert image.width > 100, figure

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    text = "\n".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    assert "Static figure instead of the interactive widget" in text
    assert chapter.SMOKE_NOTE in text and "Loss_D: " in text
    shown = "\n".join(o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {}))
    assert "186,689" in shown and "2,230,865" in shown and "DIFFERENT" not in shown
    assert "the generator loss did not go below 1" in shown and "inconclusive" in shown
    for output in outputs:  # no stray repr (a Path, a dict...) as a cell's value
        if output["output_type"] == "execute_result":
            assert {"image/png", "text/html"} & set(output["data"]), output["data"]
        assert "PosixPath" not in output.get("data", {}).get("text/plain", "")
    glued = {o.get("metadata", {}).get("scrapbook", {}).get("name") for o in outputs}
    assert {"ch4_summary", "ch4_claims", "ch4_ladder", "ch4_which_factor",
            "ch4_which_factor_contest", "ch4_ladder_budget", "ch4_ladder_steps",
            "ch4_ladder_seeds"} <= glued
    assert "Welch" in shown and "ladder_beta1" not in shown  # the claims table shows claims
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 11


@pytest.mark.slow
def test_labkit_run_cgan_writes_the_run_folder_and_claims(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    main(["run", "cgan", "--profile", "smoke", "-p", "epochs=1", "-p", "eval_per_class=2",
          "-p", "ladder_seeds=1", "-p", f"out_dir={tmp_path / 'runs'}"])
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("cgan-")
    claims = json.loads((folder / "claims.json").read_text())
    assert {c["id"] for c in claims} == CLAIMS
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and 0 <= metrics["class_accuracy_final"] <= 1
    assert json.loads((folder / "class_accuracy.json").read_text())["samples_per_class"] == 4
    for figure in FIGURES:
        assert (folder / figure).is_file(), figure
    assert len(json.loads((folder / "ladder.json").read_text())["rows"]) == 4 * 1 * 2
    out = capsys.readouterr().out
    assert f"run folder: {folder}" in out and "claim more_epochs: inconclusive" in out


def test_class_picker_headless_draws_the_default_once(capsys):
    calls = []

    def show(label: int, seed: int) -> Figure:
        calls.append((label, seed))
        return Figure()

    result = class_picker(show, ["0", "1", "2"], label=2, seed=7, headless=True)
    assert isinstance(result, Figure) and calls == [(2, 7)]
    assert "Static figure instead of the interactive widget" in capsys.readouterr().out


def test_class_picker_interactive_redraws_when_class_or_seed_changes():
    pytest.importorskip("ipywidgets")
    calls = []

    def show(label: int, seed: int) -> Figure:
        calls.append((label, seed))
        return Figure()

    box = class_picker(show, ["A", "b", "7"], label=1, seed=3, max_seed=50, headless=False)
    assert calls == [(1, 3)]
    assert [name for name, _ in box.menu.options] == ["A", "b", "7"]
    box.menu.value = 2
    box.seed.value = 42
    assert calls == [(1, 3), (2, 3), (2, 42)]
    assert box.seed.max == 50
