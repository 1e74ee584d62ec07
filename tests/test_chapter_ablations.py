"""Chapter 6's module: its packaged grids, its configuration, the claim rule on small fake
studies, the narrower findings, a diverging point, and `labkit run ablations` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from labkit import compare, grid, sweep
from labkit.chapters import ablations
from labkit.cli import main
from labkit.train import RunDir, TrainingDiverged

ROOT = Path(__file__).resolve().parents[1]
BASE = {"model": "dcgan", "lr_d": 2e-4, "lr_g": 2e-4, "real_label": 1.0, "fake_label": 0.0}
FAST = {**BASE, "lr_d": 6.4e-3, "lr_g": 1.28e-3}
SMOOTH = {**FAST, "real_label": 0.9, "fake_label": 0.1}
MODIFIED = {**SMOOTH, "model": "resdcgan"}


# --------------------------------------------------------------------------- grids and config


@pytest.mark.parametrize("profile", ["smoke", "cpu", "full"])
def test_each_profile_runs_its_packaged_grid(profile):
    path = ablations.grid_path(profile)
    assert path.parent == ROOT / "labkit" / "chapters" / "grids" and path.is_file()
    cfg = ablations.Config.resolve(profile)
    packaged = grid.load_grid(path)
    assert cfg.grid is None and ablations.grid_of(cfg) == packaged  # the file is the one source
    assert packaged["parameters"] == {"profile": profile, **BASE}
    assert packaged["seeds"] == cfg.seeds  # `labkit sweep` runs the seeds the chapter runs
    points = ablations.grid_points(cfg)
    assert {p.params["profile"] for p in points} == {profile}
    assert len(points) == len({p.setting for p in points}) * len(cfg.seeds)


def test_a_resolved_configuration_is_a_copy_the_notebook_may_change():
    cfg = ablations.Config.resolve("cpu")
    cfg.eval_epochs.append(99)
    cfg.seeds.clear()
    again = ablations.Config.resolve("cpu")
    assert again.eval_epochs == [1, 5, 10, 20] and again.seeds == [0, 1, 2]


def test_the_grids_ship_with_the_package():
    project = (ROOT / "pyproject.toml").read_text()  # (tomllib is Python 3.11+)
    assert '[tool.setuptools.package-data]\n"labkit.chapters" = ["grids/*.yaml"]' in project
    assert not (ROOT / "notebooks" / "grids").exists()


def test_cpu_grid_is_the_seeds_tables_as_seven_settings():
    cfg = ablations.Config.resolve("cpu")
    points = ablations.grid_points(cfg)
    assert len(points) == 21 and ablations.describe_grid(points, cfg).startswith(
        "21 runs: 7 settings x 3 seeds [0, 1, 2]")
    shared = [p for p in points if p.params["lr_d"] == 6.4e-3 and p.params["lr_g"] == 1.28e-3
              and p.params["real_label"] == 1.0]
    assert set(shared[0].grids) == {"learning_rate", "label_smoothing", "table_3"}


def test_knobs_set_by_hand_name_the_setting_and_reserved_ones_never_do():
    cfg = ablations.Config.resolve("smoke", epochs=1, out_dir="x", seeds=[3], threads=2)
    points = ablations.grid_points(cfg)
    assert all(p.params["epochs"] == 1 and p.params["threads"] == 2 for p in points)
    assert all("out_dir" not in p.params and "seeds" not in p.params for p in points)
    assert {p.seed for p in points} == {3}


@pytest.mark.parametrize(("params", "message"), [
    ({"grid": {"grid": {"seeds": [[0, 1]]}}}, "parameter grid: .*'seeds'.* cannot be grid"),
    ({"grid": {"grid": {"single_run": [True]}}}, "cannot be grid parameters"),
    ({"grid": {"grid": {"lr_d": []}}}, "parameter grid: .*non-empty list"),
    ({"single_run": True, "sweep_dir": "runs/x"}, "sweep_dir"),
    ({"seeds": []}, "seeds"),
    ({"model": "wgan"}, "model"),
    ({"eval_epochs": [0, 2]}, "eval_epochs"),
])
def test_bad_settings_are_refused_naming_the_parameter(params, message):
    with pytest.raises(ValueError, match=message):
        ablations.Config.resolve("smoke", **params)


def test_a_grid_value_that_cannot_train_fails_before_any_run(tmp_path):
    cfg = ablations.Config.resolve("smoke", out_dir=str(tmp_path),
                                   grid={"grid": {"lr_d": [2e-4, 0.0]}})
    with pytest.raises(ValueError, match="lr_d"):
        ablations.check_ready(cfg)
    assert not any(tmp_path.iterdir())


def test_differences_from_the_paper_list_what_cpu_changes():
    changed = {r["setting"] for r in ablations.differences_from_paper(
        ablations.Config.resolve("cpu"))}
    assert {"dataset", "image_size", "ngf", "metric"} <= changed
    assert not changed & {"lr_d", "real_label", "model", "epochs", "eval_epochs", "seeds"}
    assert ablations.differences_from_paper(ablations.Config.resolve("full")) == []


def test_parameter_counts_at_the_paper_size():
    rows = ablations.parameter_counts(ablations.Config.resolve("smoke"), channels=1)
    by_model = {r["trainable parameters"]: r for r in rows}
    assert by_model["dcgan"]["G (96 px, RGB)"] == "3,578,432"
    assert by_model["resdcgan"]["G (96 px, RGB)"] == "6,237,248"  # + 9 blocks of 2,658,816 / 9
    assert by_model["resdcgan"]["D (96 px, RGB)"] == f"{2_767_296 + 2_360_320 - 8_192 + 512:,}"


# --------------------------------------------------------------------------- claims on fake data


def fake_rows(params: dict, curves: list[dict], seconds: float = 1.0) -> list[dict]:
    """One row per seed, as `compare.collect` makes them, with the given metric curves."""
    setting = grid.setting_id({"profile": "smoke", **params})
    return [{"id": f"{setting}-seed{k}", "setting": setting, "seed": k, "status": "finished",
             "error": None, "params": {"profile": "smoke", **params}, "grids": [],
             "run_dir": None, "metric": "swd", "curve": curve, "claims": {},
             "scalars": {"seconds_per_epoch": seconds, "collapsed": False}}
            for k, curve in enumerate(curves)]


def study_of(*settings: tuple[dict, list[dict]] | tuple[dict, list[dict], float]):
    rows = [r for s in settings for r in fake_rows(*s)]
    summary = compare.summarize(rows)
    epochs = sorted({e for s in summary for e in s["epochs"]})
    return ablations.Study(rows, summary, {"all": summary}, "swd", epochs)


def curves(early: list[float], late: list[float]) -> list[dict]:
    return [{1: a, 20: b} for a, b in zip(early, late)]


SAME = curves([50, 52, 54], [20, 22, 24])
BETTER = curves([30, 31, 32], [10, 11, 12])  # lower at both epochs, beyond the seed noise
WORSE = curves([70, 71, 72], [40, 41, 42])
EARLY_ONLY = curves([30, 31, 32], [16, 22, 28])  # better at epoch 1, within the noise at 20


def claim(study, claim_id="learning_rates", seeds=(0, 1, 2)):
    cfg = ablations.Config.resolve("cpu", seeds=list(seeds))
    (found,) = [c for c in ablations.claims(study, cfg) if c.id == claim_id]
    return found


def test_a_setting_better_early_and_at_the_end_is_supported():
    found = claim(study_of((FAST, BETTER), (BASE, SAME)))
    assert found.verdict == "supported" and found.seeds == 3
    assert found.why.startswith("A is better at epochs 1 and 20, the last included")
    assert found.high < 0 and found.value == pytest.approx(-11.0)  # A − B at epoch 20


def test_the_alternative_better_anywhere_refutes():
    found = claim(study_of((FAST, WORSE), (BASE, SAME)))
    assert found.verdict == "refuted" and found.why.startswith("B is better at epochs 1 and 20")
    assert found.low > 0


def test_better_only_early_is_inconclusive_faster_not_better():
    found = claim(study_of((FAST, EARLY_ONLY), (BASE, SAME)))
    assert found.verdict == "inconclusive"
    assert "better at epoch 1 but not at the last" in found.why and "faster" in found.why


def test_differences_within_the_noise_are_inconclusive():
    found = claim(study_of((FAST, curves([49, 53, 55], [19, 23, 25])), (BASE, SAME)))
    assert found.verdict == "inconclusive" and "no interval excludes 0" in found.why


def test_two_seeds_never_give_a_verdict_but_keep_the_leaning():
    found = claim(study_of((FAST, BETTER[:2]), (BASE, SAME[:2])), seeds=(0, 1))
    assert found.verdict == "inconclusive" and found.leaning == "supported"
    assert found.seeds == 2


def test_a_setting_not_measured_is_inconclusive():
    found = claim(study_of((BASE, SAME)), claim_id="modified_model")
    assert found.verdict == "inconclusive" and "not each measured" in found.why
    assert found.value is None


def test_the_three_claims_compare_the_seeds_settings():
    study = study_of((BASE, SAME), (FAST, BETTER), (SMOOTH, BETTER), (MODIFIED, BETTER))
    found = {c.id: c for c in ablations.claims(study, ablations.Config.resolve("cpu"))}
    assert found["learning_rates"].verdict == "supported"  # FAST against BASE
    assert found["label_smoothing"].verdict == "inconclusive"  # SMOOTH equals FAST
    assert found["modified_model"].verdict == "inconclusive"
    rows = ablations.comparison_rows(study, ablations.Config.resolve("cpu"))
    assert [(r["claim"], r["epoch"], r["there"]) for r in rows][:2] == [
        ("learning_rates", 1, "A better"), ("learning_rates", 20, "A better")]


# --------------------------------------------------------------------------- narrower findings


def test_the_generator_rate_finding_names_the_best_and_the_noise():
    study = study_of((FAST, SAME), ({**FAST, "lr_g": 3.2e-3}, WORSE),
                     ({**FAST, "lr_g": 6.4e-4}, BETTER))
    answer = ablations.generator_rate(study, FAST)["answer"]
    assert answer.startswith("not shown: lowest swd at epoch 20: G 0.00064 (11;")
    assert "G 0.00064 is better beyond the seed noise" in answer
    study = study_of((FAST, BETTER), ({**FAST, "lr_g": 3.2e-3}, SAME))
    assert ablations.generator_rate(study, FAST)["answer"].startswith("yes, lowest swd")
    assert "not all measured" in ablations.generator_rate(study_of((FAST, SAME)), FAST)["answer"]


def test_the_label_finding_says_which_targets_are_better():
    soft = {**FAST, "real_label": 0.99, "fake_label": 0.01}
    answer = ablations.label_targets(study_of((SMOOTH, WORSE), (soft, SAME)), FAST)["answer"]
    assert answer.startswith("0.99 / 0.01 is better (swd at epoch 20: 41 against 22")
    answer = ablations.label_targets(study_of((SMOOTH, SAME), (soft, SAME)), FAST)["answer"]
    assert answer.startswith("no clear difference")


def test_equal_time_compares_the_modified_pair_at_the_dcgans_budget():
    # The modified pair takes 4x as long per epoch: in the DCGAN's 20 epochs it reaches only
    # epoch 1 (its next evaluation, 20, would take 80 DCGAN epochs' time).
    study = study_of((SMOOTH, SAME, 1.0), (MODIFIED, BETTER, 4.0))
    answer = ablations.equal_time(study, SMOOTH)["answer"]
    assert answer.startswith("it takes 4.00× the DCGAN's time per epoch")
    assert "it reaches epoch 1: swd 31 against 22, the DCGAN is better" in answer
    answer = ablations.equal_time(study_of((SMOOTH, SAME, 1.0), (MODIFIED, BETTER, 0.5)),
                                  SMOOTH)["answer"]
    assert "it reaches epoch 20: swd 11 against 22, the modified pair is better" in answer


# --------------------------------------------------------------------------- running points


def test_a_point_that_goes_nan_is_diverged_counted_and_not_run_again(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))

    def diverging(generator, discriminator, data, config, *, callbacks, run_dir, record):
        run_dir.write_config({"chapter": "ablations", "parameters": record["parameters"]})
        run_dir.write_history({"metrics": {"swd": [{"epoch": 1, "value": 9.0}]}})
        run_dir.update_metrics(status="diverged", error="NaN at epoch 2")  # as the engine does
        raise TrainingDiverged("a loss became NaN or infinite at epoch 2")

    monkeypatch.setattr(ablations, "train_gan", diverging)
    cfg = ablations.Config.resolve("smoke", grid={"grid": {"lr_d": [0.5]}}, seeds=[0],
                                   out_dir=str(tmp_path))
    folder = ablations.chapter_folder(cfg)
    (record,) = ablations.run_grid(cfg, folder)
    assert record["status"] == "diverged" and "NaN" in record["error"]
    (row,) = compare.collect(folder)
    assert row["status"] == "diverged" and row["curve"] == {1: 9.0} and row["metric"] == "swd"
    monkeypatch.setattr(ablations, "train_gan", None)  # would fail if the point ran again
    (again,) = ablations.run_grid(cfg, folder)
    assert again["skipped"]


def test_labkit_sweeps_job_runs_one_point_with_single_run(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    (point, *_) = grid.expand(grid.load_grid(ablations.grid_path("smoke")), seeds=[0],
                              fixed={"epochs": 1, "eval_epochs": [1]})
    params = sweep.point_parameters("ablations", point)
    assert params["single_run"] is True
    outcome = sweep.run_point("ablations", params, tmp_path)
    run = RunDir(outcome["run_dir"])
    assert outcome["status"] == "finished" and run.path.parent == tmp_path
    metrics = run.read_metrics()
    assert metrics["curve_metric"] == "swd" and 0 <= metrics["sample_spread"]
    assert metrics["collapsed"] == (metrics["sample_spread"] < ablations.COLLAPSE_BELOW)
    assert run.read_claims() == []  # a single run compares nothing


@pytest.mark.slow
def test_labkit_run_ablations_writes_the_chapter_folder_and_resumes_it(tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    args = ["run", "ablations", "--profile", "smoke", "-p", f"out_dir={tmp_path}",
            "-p", "seeds=[0]", "-p", "epochs=1"]
    main(args)
    (folder,) = tmp_path.glob("ablations-*")
    out = capsys.readouterr().out
    assert f"run folder: {folder}" in out and "4 runs in " in out
    assert "claim learning_rates: inconclusive (1 seed(s))" in out
    claims = json.loads((folder / "claims.json").read_text())
    assert [c["verdict"] for c in claims] == ["inconclusive"] * 3
    assert json.loads((folder / "metrics.json").read_text())["runs"] == 4
    assert (folder / "metric_vs_epoch.png").is_file()
    main(args + ["-p", "resume=True"])  # the latest chapter folder, its points all done
    out = capsys.readouterr().out
    assert "4 of 4 points already done: skipped" in out and f"run folder: {folder}" in out
    assert [p.name for p in tmp_path.glob("ablations-*")] == [folder.name]


def test_the_yaml_comments_name_the_command_that_runs_them():
    for profile in ("smoke", "cpu", "full"):
        text = ablations.grid_path(profile).read_text()
        assert f"--grid labkit/chapters/grids/ablations_{profile}.yaml" in text
        assert yaml.safe_load(text)["parameters"]["profile"] == profile
