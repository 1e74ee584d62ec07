"""Grids and points (labkit.grid), settings compared over seeds (labkit.compare), the report
(labkit.report) and `labkit sweep CHAPTER` with local processes or submitit."""

from __future__ import annotations

import csv
import json
import math

import pytest

from labkit import compare, grid, report
from labkit.cli import main
from labkit.stats import mean_interval
from labkit.train import RunDir

GRID = {
    "parameters": {"profile": "smoke", "model": "dcgan", "lr_d": 2e-4, "lr_g": 2e-4},
    "seeds": [0, 1],
    "grids": {
        "lr": {"rates": [{"lr_d": 2e-4, "lr_g": 2e-4}, {"lr_d": 6.4e-3, "lr_g": 1.28e-3}]},
        "model": {"lr_d": ["6.4e-3"], "lr_g": ["1.28e-3"], "model": ["dcgan", "resdcgan"]},
    },
}


def test_expand_unions_named_grids_and_runs_shared_points_once():
    points = grid.expand(GRID)
    settings = list(dict.fromkeys(p.setting for p in points))
    assert len(settings) == 3 and len(points) == 6  # the fast DCGAN is in both grids
    shared = [p for p in points if p.params["lr_d"] == 6.4e-3 and p.params["model"] == "dcgan"]
    assert [p.grids for p in shared] == [("lr", "model"), ("lr", "model")]
    assert {p.seed for p in points} == {0, 1}
    assert points[0].parameters == {**GRID["parameters"], "seed": 0}
    assert points[0].id == f"{points[0].setting}-seed0"
    # "6.4e-3" (how YAML reads 6.4e-3 written without a point) is the number
    assert all(isinstance(p.params["lr_g"], float) for p in points)
    assert grid.setting_id({"a": 1}) == grid.setting_id({"a": 1.0})
    fixed = grid.expand(GRID, fixed={"epochs": 1}, seeds=[7])
    assert len(fixed) == 3 and all(p.params["epochs"] == 1 and p.seed == 7 for p in fixed)


def test_a_single_grid_is_a_cartesian_product():
    points = grid.expand({"parameters": {"profile": "smoke"}, "grid": {"a": [1, 2], "b": [3, 4]}})
    assert [(p.params["a"], p.params["b"]) for p in points] == [(1, 3), (1, 4), (2, 3), (2, 4)]
    assert all(p.grids == ("grid",) for p in points)


@pytest.mark.parametrize(("bad", "message"), [
    ({"grid": {"a": [1]}, "grids": {"x": {"a": [1]}}}, "exactly one"),
    ({"grid": {"a": []}}, "non-empty list"),
    ({"grid": {"seed": [1, 2]}}, "cannot be grid parameters"),
    ({"grid": {"out_dir": ["x"]}}, "cannot be grid parameters"),
    ({"grid": {"a": [1]}, "seeds": [0.5]}, "seeds"),
    ({"grid": {"a": [1]}, "points": 3}, "unknown key"),
])
def test_malformed_grids_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        grid.check_grid(bad)
    assert grid.check_grid({"grid": {"mine": [1]}})
    with pytest.raises(ValueError, match="cannot be grid parameters"):
        grid.check_grid({"grid": {"mine": [1]}}, reserved=("mine",))


def fake_executor(calls: list):
    """An execute(point, folder) that fails for lr_d == "fast" and writes a run folder with a
    metric curve (10 + seed, 5 + seed), a number and a claim."""
    def execute(point, folder):
        calls.append(point.id)
        if point.params["lr_d"] == "fast":
            raise ValueError("lr_d='fast' is not a number")
        run = RunDir(folder).child("run")
        run.write_config({"parameters": point.parameters})
        run.write_history({"metrics": {"swd": [{"epoch": 1, "value": 10.0 + point.seed},
                                               {"epoch": 2, "value": 5.0 + point.seed}]}})
        run.update_metrics(status="finished", seconds_per_epoch=0.5, accuracy=0.8 + point.seed,
                           collapsed=point.seed == 2)
        run.write_claims([{"id": "faster", "verdict": "supported" if point.seed else
                           "inconclusive"}])
        return {"status": "finished", "run_dir": str(run)}
    return execute


def test_run_points_records_failures_goes_on_and_skips_done_points(tmp_path):
    sweep_grid = {"parameters": {"profile": "smoke"}, "seeds": [0, 1],
                  "grid": {"lr_d": [2e-4, "fast"]}}
    points = grid.expand(sweep_grid)
    calls: list = []
    records = grid.run_points(points, tmp_path, fake_executor(calls), jobs=2, grid=sweep_grid,
                              chapter="dcgan", echo=lambda line: None)
    assert [r["status"] for r in records] == ["finished", "finished", "failed", "failed"]
    assert records[2]["error"] == "ValueError: lr_d='fast' is not a number"
    assert len(calls) == 4
    on_disk = json.loads((tmp_path / "points" / points[0].id / "point.json").read_text())
    assert on_disk["status"] == "finished" and on_disk["run_dir"] == "run"
    assert on_disk["params"] == {"profile": "smoke", "lr_d": 2e-4, "seed": 0}
    listed = json.loads((tmp_path / "sweep.json").read_text())
    assert listed["chapter"] == "dcgan"
    assert [p["id"] for p in listed["points"]] == [p.id for p in points]
    # A rerun runs only the points not done: the failed ones, from scratch.
    calls.clear()
    lines: list = []
    again = grid.run_points(points, tmp_path, fake_executor(calls), echo=lines.append)
    assert sorted(calls) == sorted(p.id for p in points[2:])
    assert "2 of 4 points already done: skipped" in lines[0]
    assert [r.get("skipped", False) for r in again] == [True, True, False, False]


def test_summaries_carry_student_t_intervals_and_every_number_and_claim(tmp_path):
    sweep_grid = {"parameters": {"profile": "smoke"}, "seeds": [0, 1, 2],
                  "grid": {"lr_d": [2e-4, "fast"]}}
    grid.run_points(grid.expand(sweep_grid), tmp_path, fake_executor([]), grid=sweep_grid,
                    echo=lambda line: None)
    rows = compare.collect(tmp_path)
    assert rows[0]["claims"] == {"faster": "inconclusive"} and rows[0]["curve"] == {1: 10.0,
                                                                                 2: 5.0}
    good, bad = compare.summarize(rows)
    assert good["runs"] == 3 and good["finished"] == 3 and bad["failed"] == 3
    assert good["mean"] == {1: 11.0, 2: 6.0} and good["std"][1] == pytest.approx(1.0)
    interval = good["interval"][1]
    half = 4.302652729749462 / math.sqrt(3)  # t(0.975, 2 dof) × sd / sqrt(n): not 2 × SE
    assert (interval.low, interval.high) == (pytest.approx(11 - half), pytest.approx(11 + half))
    assert good["scalars"]["accuracy"].mean == pytest.approx(1.8) and good["collapsed"] == 1
    assert good["n"] == {1: 3, 2: 3} and bad["epochs"] == []


def test_report_tables_intervals_claims_and_failures(tmp_path):
    sweep_grid = {"parameters": {"profile": "smoke"}, "seeds": [0, 1, 2],
                  "grid": {"lr_d": [2e-4, "fast"]}}
    grid.run_points(grid.expand(sweep_grid), tmp_path, fake_executor([]), grid=sweep_grid,
                    echo=lambda line: None)
    written = report.write_report(tmp_path)
    text = written.markdown_text()
    first, second = mean_interval([10, 11, 12]), mean_interval([5, 6, 7])
    accuracy = mean_interval([0.8, 1.8, 2.8])
    assert (f"| lr_d 0.0002 | 3 | 0 | 1 | 0 | {first} | {second} | {accuracy} | 0.50 |"
            in text)
    assert "| lr_d 0.0002 | inconclusive 1, supported 2 |" in text
    assert "lr_d fast" in text and "is not a number" in text
    with open(written.runs_csv) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and rows[0]["swd@1"] == "10.0" and rows[1]["claim:faster"]
    assert {r["status"] for r in rows} == {"finished", "failed"}
    with open(written.summary_csv) as f:
        summary = next(csv.DictReader(f))
    assert summary["swd@2_mean"] == "6.0" and float(summary["swd@2_low"]) < 6.0
    assert written.figure.is_file()


def setting(values: dict) -> dict:
    """A summary entry with the per-epoch values of its seeds."""
    return {"values": values}


def test_compare_and_judge_count_only_differences_whose_interval_excludes_zero():
    a = setting({1: [9, 10, 11], 5: [4, 5, 6], 20: [1, 2, 3]})
    b = setting({1: [9.5, 10.5, 11.5], 5: [8, 9, 10], 20: [5, 6, 7]})
    c = compare.compare(a, b, 5)
    assert c.verdict == "a better" and c.difference.mean == pytest.approx(-4.0)
    assert c.difference.high < 0 and (c.mean_a, c.mean_b) == (5.0, 9.0)
    assert compare.compare(a, b, 1).verdict == "no clear difference"
    assert compare.compare(b, a, 20).verdict == "b better"
    assert compare.judge(a, b, [1, 5, 20]).verdict == "holds"
    assert compare.judge(b, a, [1, 5, 20]).verdict == "does not hold"
    assert compare.judge(a, b, [1, 20]).verdict == "holds in part"  # better, not faster
    assert compare.judge(a, a, [1, 5, 20]).verdict == "not shown"
    assert compare.judge(a, None, [1, 5]).verdict == "not measured"
    assert compare.compare(setting({1: [1.0]}), b, 1).verdict == "not measured"
    # A higher-is-better metric (an accuracy, mode "max") turns the verdicts round.
    high_a, high_b = ({**x, "mode": "max"} for x in (a, b))
    assert compare.compare(high_a, high_b, 5).verdict == "b better"
    assert compare.judge(high_b, high_a, [1, 5, 20]).verdict == "holds"
    # Two standard errors would call this difference; the t-interval (n = 3) does not.
    close = compare.compare(setting({1: [0.0, 1.0, 2.0]}), setting({1: [1.2, 2.2, 3.2]}), 1)
    assert close.verdict == "no clear difference"


def test_labels_name_what_varies():
    settings = [{"params": {"lr_d": 2e-4, "lr_g": 2e-4, "model": "dcgan"}},
                {"params": {"lr_d": 6.4e-3, "lr_g": 1.28e-3, "model": "dcgan"}}]
    keys = compare.varying(settings)
    assert keys == ["lr_d", "lr_g"]
    assert compare.label(settings[1]["params"], keys) == "lr D/G 0.0064/0.00128"
    assert compare.label({"model": "resdcgan"}, ["model"]) == "resdcgan"
    found = compare.find([{"params": {"lr_d": 0.0064}}], lr_d=6.4e-3)
    assert found is not None and compare.find([], lr_d=1.0) is None


def test_labkit_report_prints_the_tables_and_names_its_files(tmp_path, capsys):
    sweep_grid = {"parameters": {"profile": "smoke"}, "seeds": [0, 1], "grid": {"lr_d": [2e-4]}}
    grid.run_points(grid.expand(sweep_grid), tmp_path, fake_executor([]), grid=sweep_grid,
                    echo=lambda line: None)
    main(["report", str(tmp_path)])
    out = capsys.readouterr().out
    assert "| setting | runs | diverged | collapsed | failed | swd @ 1 | swd @ 2 |" in out
    assert str(mean_interval([10, 11])) in out and str(tmp_path / "summary.csv") in out
    with pytest.raises(FileNotFoundError, match="no grid points"):
        main(["report", str(tmp_path / "empty")])


@pytest.mark.slow
def test_labkit_sweep_runs_each_point_as_a_chapter_run_in_its_own_process(tmp_path,
                                                                         monkeypatch, capsys):
    """Chapter 4's label smoothing as a sweep: two points, two local processes, a report that
    knows class accuracy is better when higher, then a rerun that trains nothing."""
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    sweep_grid = tmp_path / "grid.yaml"
    sweep_grid.write_text("parameters: {profile: smoke, epochs: 1}\n"
                          "seeds: [0]\n"
                          "grid:\n  real_label: [1.0, 0.9]\n")
    out = tmp_path / "sweep"
    argv = ["sweep", "cgan", "--grid", str(sweep_grid), "--jobs", "2", "--out", str(out)]
    main(argv)
    rows = {r["real_label"]: r for r in csv.DictReader(open(out / "runs.csv"))}
    assert set(rows) == {"1.0", "0.9"}
    assert all(r["status"] == "finished" and 0 <= float(r["class_accuracy@1"]) <= 1
               for r in rows.values())
    assert rows["0.9"]["claim:more_epochs"] == "inconclusive"
    done = out / "points" / rows["0.9"]["id"]
    (run,) = RunDir(done).children()
    assert run.read_config()["train"]["real_label"] == 0.9 and (done / "run.log").is_file()
    text = (out / "report.md").read_text()
    assert "class_accuracy (higher is better)" in text and "claims" in text
    assert (out / "metric_vs_epoch.png").is_file()
    # A rerun skips the finished points (nothing is trained again).
    stamp = run.checkpoint_path.stat().st_mtime_ns
    capsys.readouterr()
    main(argv)
    assert "2 of 2 points already done: skipped" in capsys.readouterr().out
    assert run.checkpoint_path.stat().st_mtime_ns == stamp


def test_labkit_sweep_checks_every_point_before_any_work(tmp_path, capsys):
    sweep_grid = tmp_path / "grid.yaml"
    sweep_grid.write_text("grid:\n  learning_rate: [0.1]\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", "dcgan", "--grid", str(sweep_grid), "--out", str(tmp_path / "s")])
    assert exit_info.value.code == 2
    assert "chapter dcgan has no parameter(s) ['learning_rate']" in capsys.readouterr().err
    sweep_grid.write_text("parameters: {profile: smoke}\ngrid:\n  lr_d: [2.0e-4, fast]\n")
    with pytest.raises(SystemExit):
        main(["sweep", "dcgan", "--grid", str(sweep_grid), "--out", str(tmp_path / "s")])
    assert "lr_d='fast' should be float" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_the_same_point_runs_as_a_submitit_job(tmp_path, monkeypatch):
    """The Slurm executor, through submitit's local cluster: a job in a process of its own that
    runs the chapter and returns the point's outcome."""
    pytest.importorskip("submitit")
    from labkit import sweep

    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    sweep_grid = {"parameters": {"profile": "smoke", "epochs": 1, "data_repeats": 1},
                  "grid": {"lr_d": [2e-4]}}
    points = grid.expand(sweep_grid)
    execute = sweep.Submitit("dcgan", tmp_path / "s", cluster="local", timeout_min=10)
    (record,) = grid.run_points(points, tmp_path / "s", execute, grid=sweep_grid,
                                chapter="dcgan", echo=lambda line: None)
    assert record["status"] == "finished", record
    (row,) = compare.collect(tmp_path / "s")
    assert row["params"]["lr_d"] == 2e-4 and row["curve"][1] > 0
    assert list((tmp_path / "s" / "submitit").glob("*_log.out"))
