"""Sweeps (grids, points, failures, reruns), the report (tables, verdicts) and `labkit sweep`."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from labkit import profiles, report, sweep
from labkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "06_improved_dcgan.ipynb"

GRID = {
    "parameters": {"profile": "smoke", "model": "dcgan", "lr_d": 2e-4, "lr_g": 2e-4},
    "seeds": [0, 1],
    "grids": {
        "lr": {"rates": [{"lr_d": 2e-4, "lr_g": 2e-4}, {"lr_d": 6.4e-3, "lr_g": 1.28e-3}]},
        "model": {"lr_d": ["6.4e-3"], "lr_g": ["1.28e-3"], "model": ["dcgan", "resdcgan"]},
    },
}


def test_expand_unions_named_grids_and_runs_shared_points_once():
    points = sweep.expand(GRID)
    settings = list(dict.fromkeys(p.setting for p in points))
    assert len(settings) == 3 and len(points) == 6  # the fast DCGAN is in both grids
    shared = [p for p in points if p.params["lr_d"] == 6.4e-3 and p.params["model"] == "dcgan"]
    assert [p.grids for p in shared] == [("lr", "model"), ("lr", "model")]
    assert {p.seed for p in points} == {0, 1}
    assert points[0].parameters == {**GRID["parameters"], "seed": 0}
    assert points[0].id == f"{points[0].setting}-seed0"
    # "6.4e-3" (how YAML reads 6.4e-3 written without a point) is the number
    assert all(isinstance(p.params["lr_g"], float) for p in points)
    assert sweep.setting_id({"a": 1}) == sweep.setting_id({"a": 1.0})
    fixed = sweep.expand(GRID, fixed={"epochs": 1}, seeds=[7])
    assert len(fixed) == 3 and all(p.params["epochs"] == 1 and p.seed == 7 for p in fixed)


def test_a_single_grid_is_a_cartesian_product():
    points = sweep.expand({"parameters": {"profile": "smoke"}, "grid": {"a": [1, 2], "b": [3, 4]}})
    assert [(p.params["a"], p.params["b"]) for p in points] == [(1, 3), (1, 4), (2, 3), (2, 4)]
    assert all(p.grids == ("grid",) for p in points)


@pytest.mark.parametrize(("grid", "message"), [
    ({"grid": {"a": [1]}, "grids": {"x": {"a": [1]}}}, "exactly one"),
    ({"grid": {"a": []}}, "non-empty list"),
    ({"grid": {"seed": [1, 2]}}, "cannot be grid parameters"),
    ({"grid": {"a": [1]}, "seeds": [0.5]}, "seeds"),
    ({"grid": {"a": [1]}, "points": 3}, "unknown key"),
])
def test_malformed_grids_are_refused(grid, message):
    with pytest.raises(ValueError, match=message):
        sweep.check_grid(grid)


def test_grid_files_match_the_chapter_profiles():
    for name in ("smoke", "cpu", "full"):
        grid = sweep.load_grid(ROOT / "notebooks" / "grids" / f"06_{name}.yaml")
        cfg = profiles.resolve("improved_dcgan", name)
        assert grid["parameters"] == {"profile": name, **cfg.grid["parameters"]}
        assert grid["grids"] == cfg.grid["grids"] and grid["seeds"] == cfg.seeds


def fake_executor(calls: list):
    """An execute(point, folder) that fails for lr_d == "fast" and writes a fake run folder."""
    def execute(point, folder):
        calls.append(point.id)
        if point.params["lr_d"] == "fast":
            raise ValueError("lr_d='fast' is not a number")
        run = folder / "run"
        run.mkdir()
        (run / "config.json").write_text("{}")
        curve = {"1": 10.0 + point.seed, "2": 5.0 + point.seed}
        (run / "metrics.json").write_text(json.dumps({
            "status": "finished", "curve_swd": curve, "seconds_per_epoch": 0.5,
            "sample_spread": 0.8, "collapsed": False}))
        return {"status": "finished", "run_dir": str(run)}
    return execute


def test_run_points_records_failures_goes_on_and_skips_done_points(tmp_path):
    grid = {"parameters": {"profile": "smoke"}, "seeds": [0, 1],
            "grid": {"lr_d": [2e-4, "fast"]}}
    points = sweep.expand(grid)
    calls: list = []
    records = sweep.run_points(points, tmp_path, fake_executor(calls), jobs=2, grid=grid,
                               echo=lambda line: None)
    assert [r["status"] for r in records] == ["finished", "finished", "failed", "failed"]
    assert records[2]["error"] == "ValueError: lr_d='fast' is not a number"
    assert len(calls) == 4
    on_disk = json.loads((tmp_path / "points" / points[0].id / "point.json").read_text())
    assert on_disk["status"] == "finished" and on_disk["run_dir"] == "run"
    assert on_disk["params"] == {"profile": "smoke", "lr_d": 2e-4, "seed": 0}
    listed = json.loads((tmp_path / "sweep.json").read_text())
    assert [p["id"] for p in listed["points"]] == [p.id for p in points]
    # A rerun runs only the points not done: the failed ones, from scratch.
    calls.clear()
    lines: list = []
    again = sweep.run_points(points, tmp_path, fake_executor(calls), echo=lines.append)
    assert sorted(calls) == sorted(p.id for p in points[2:])
    assert "2 of 4 points already done: skipped" in lines[0]
    assert [r.get("skipped", False) for r in again] == [True, True, False, False]


def test_report_tables_means_and_failures(tmp_path):
    grid = {"parameters": {"profile": "smoke"}, "seeds": [0, 1, 2],
            "grid": {"lr_d": [2e-4, "fast"]}}
    sweep.run_points(sweep.expand(grid), tmp_path, fake_executor([]), grid=grid,
                     echo=lambda line: None)
    written = report.write_report(tmp_path)
    good, bad = written.summary
    assert good["runs"] == 3 and good["finished"] == 3 and bad["failed"] == 3
    assert good["mean"] == {1: 11.0, 2: 6.0} and good["std"][1] == pytest.approx(1.0)
    assert good["n"] == {1: 3, 2: 3} and bad["epochs"] == []
    text = written.markdown_text()
    assert "| lr_d 0.0002 | 3 | 0 | 0 | 0 | 11 ± 1 | 6 ± 1 | 0.50 |" in text
    assert "lr_d fast" in text and "is not a number" in text
    with open(written.runs_csv) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and rows[0]["swd@1"] == "10.0"
    assert {r["status"] for r in rows} == {"finished", "failed"}
    with open(written.summary_csv) as f:
        assert next(csv.DictReader(f))["swd@2_mean"] == "6.0"
    assert written.figure.is_file()


def setting(means: dict, stds: dict, n: int = 3) -> dict:
    return {"mean": means, "std": stds, "n": {e: n for e in means}}


def test_compare_and_judge_count_only_differences_beyond_two_standard_errors():
    a = setting({1: 10.0, 5: 5.0, 20: 2.0}, {1: 1.0, 5: 1.0, 20: 1.0})
    b = setting({1: 10.5, 5: 9.0, 20: 6.0}, {1: 1.0, 5: 1.0, 20: 1.0})
    c = report.compare(a, b, 5)
    assert c.standard_error == pytest.approx(math.sqrt(2 / 3)) and c.verdict == "a better"
    assert report.compare(a, b, 1).verdict == "no clear difference"
    assert report.compare(b, a, 20).verdict == "b better"
    assert report.judge(a, b, [1, 5, 20]).verdict == "holds"
    assert report.judge(b, a, [1, 5, 20]).verdict == "does not hold"
    assert report.judge(a, b, [1, 20]).verdict == "holds in part"  # better, not faster
    assert report.judge(a, a, [1, 5, 20]).verdict == "not shown"
    assert report.judge(a, None, [1, 5]).verdict == "not measured"
    assert report.compare(setting({1: 1.0}, {1: math.nan}, n=1), b, 1).verdict == "not measured"


def test_labels_name_what_varies():
    settings = [{"params": {"lr_d": 2e-4, "lr_g": 2e-4, "model": "dcgan"}},
                {"params": {"lr_d": 6.4e-3, "lr_g": 1.28e-3, "model": "dcgan"}}]
    keys = report.varying(settings)
    assert keys == ["lr_d", "lr_g"]
    assert report.label(settings[1]["params"], keys) == "lr D/G 0.0064/0.00128"
    assert report.label({"model": "resdcgan"}, ["model"]) == "resdcgan"
    found = report.find([{"params": {"lr_d": 0.0064}}], lr_d=6.4e-3)
    assert found is not None and report.find([], lr_d=1.0) is None


@pytest.mark.slow
def test_labkit_sweep_runs_each_point_in_its_own_notebook(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    grid = tmp_path / "grid.yaml"
    grid.write_text("parameters: {profile: smoke, epochs: 1}\n"
                    "seeds: [0]\n"
                    "grid:\n  lr_d: [2.0e-4, fast]\n")
    out = tmp_path / "sweep"
    argv = ["sweep", str(NOTEBOOK), "--grid", str(grid), "--jobs", "2", "--out", str(out)]
    with pytest.raises(SystemExit) as failed:  # one point failed: the command says so
        main(argv)
    assert failed.value.code == 1
    rows = {r["lr_d"]: r for r in csv.DictReader(open(out / "runs.csv"))}
    assert set(rows) == {"0.0002", "fast"}  # both points are in the report
    assert rows["0.0002"]["status"] == "finished" and float(rows["0.0002"]["swd@1"]) > 0
    assert rows["fast"]["status"] == "failed"
    assert "lr_d='fast' should be of type float" in rows["fast"]["error"]
    done = out / "points" / rows["0.0002"]["id"]
    assert (done / "notebook.ipynb").is_file()  # the executed notebook, one per point
    run_dirs = [p for p in done.iterdir() if (p / "config.json").is_file()]
    assert len(run_dirs) == 1
    config = json.loads((run_dirs[0] / "config.json").read_text())
    assert config["train"]["epochs"] == 1 and config["train"]["lr_d"] == 2e-4
    report_md = (out / "report.md").read_text()
    assert "**Failed points**" in report_md and (out / "metric_vs_epoch.png").is_file()
    # A rerun skips the finished point (its notebook is not executed again).
    stamp = (done / "notebook.ipynb").stat().st_mtime_ns
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(argv)
    assert "1 of 2 points already done: skipped" in capsys.readouterr().out
    assert (done / "notebook.ipynb").stat().st_mtime_ns == stamp


def test_labkit_sweep_refuses_parameters_the_notebook_does_not_have(tmp_path):
    pytest.importorskip("papermill")
    grid = tmp_path / "grid.yaml"
    grid.write_text("grid:\n  learning_rate: [0.1]\n")
    with pytest.raises(SystemExit):
        main(["sweep", str(NOTEBOOK), "--grid", str(grid), "--out", str(tmp_path / "s")])
    assert not (tmp_path / "s").exists()


def test_a_run_that_goes_nan_is_recorded_as_diverged_and_counts_as_done(tmp_path, monkeypatch):
    import labkit.train as train
    from labkit.train.rundir import new_run_dir, write_json

    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))

    def diverging_train_gan(generator, discriminator, data, config, callbacks=()):
        run_dir = new_run_dir(config.out_dir, config.name)
        write_json(run_dir / "config.json", {"train": config.to_dict()})
        write_json(run_dir / "history.json", {"metrics": {"swd": [{"epoch": 1, "value": 9.0}]}})
        write_json(run_dir / "metrics.json", {"status": "running", "seconds_per_epoch": 0.1})
        raise train.TrainingDiverged("a loss became NaN or infinite at epoch 2")

    monkeypatch.setattr(train, "train_gan", diverging_train_gan)
    grid = {"parameters": {"profile": "smoke"}, "grid": {"lr_d": [0.5]}}
    (record,) = sweep.run_points(sweep.expand(grid), tmp_path / "s", sweep.in_process,
                                 echo=lambda line: None)
    assert record["status"] == "diverged" and "NaN" in record["error"]
    (row,) = report.collect(tmp_path / "s")
    assert row["status"] == "diverged" and row["curve"] == {1: 9.0}
    (summary,) = report.summarize([row])
    assert summary["diverged"] == 1 and summary["mean"] == {1: 9.0}
    calls: list = []
    sweep.run_points(sweep.expand(grid), tmp_path / "s", fake_executor(calls),
                     echo=lambda line: None)
    assert calls == []  # diverged is a result, not a failure: not run again


def test_labkit_report_prints_the_tables_and_names_its_files(tmp_path, capsys):
    grid = {"parameters": {"profile": "smoke"}, "seeds": [0, 1], "grid": {"lr_d": [2e-4]}}
    sweep.run_points(sweep.expand(grid), tmp_path, fake_executor([]), grid=grid,
                     echo=lambda line: None)
    main(["report", str(tmp_path)])
    out = capsys.readouterr().out
    assert "| setting | runs | diverged | collapsed | failed | swd @ 1 | swd @ 2 |" in out
    assert "10.5 ± 0.71" in out and str(tmp_path / "summary.csv") in out
    with pytest.raises(FileNotFoundError, match="no grid points"):
        main(["report", str(tmp_path / "empty")])
