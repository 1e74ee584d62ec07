"""Chapter 7's module: its packaged grids, its configuration (clear errors), each method as
engine options, the same seconds per method, the four claims on small synthetic studies (pass,
fail and inconclusive cases), and `labkit run stabilisers` / `labkit sweep stabilisers`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from labkit import grid
from labkit.chapters import stabilisers as ch
from labkit.claims import INCONCLUSIVE, REFUTED, SUPPORTED
from labkit.data import synthetic_blobs

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- grids and config


@pytest.mark.parametrize("profile", ["smoke", "cpu", "full"])
def test_each_profile_runs_its_packaged_grid_of_three_experiments(profile):
    path = ch.grid_path(profile)
    assert path.parent == ROOT / "labkit" / "chapters" / "grids" and path.is_file()
    cfg = ch.Config.resolve(profile)
    packaged = grid.load_grid(path)
    assert cfg.grid is None and ch.grid_of(cfg) == packaged
    assert packaged["seeds"] == cfg.seeds  # `labkit sweep` runs the seeds the chapter runs
    assert list(packaged["grids"]) == list(ch.EXPERIMENTS)
    points = ch.grid_points(cfg)
    assert len(points) == len({p.setting for p in points}) * len(cfg.seeds)
    for point in points:  # every point resolves to a valid configuration
        config = ch.point_config(point, None)
        assert config.single_run and config.method in ch.METHODS
    few_shot = {p.params["method"] for p in points if "few_shot" in p.grids}
    unstable = [p.params for p in points if "unstable_lr" in p.grids]
    assert few_shot == {"baseline", "diffaugment"}
    assert {p["method"] for p in unstable} == {"baseline", "spectral_norm"}
    assert all((p["lr_d"], p["lr_g"]) == (ch.UNSTABLE["lr_d"], ch.UNSTABLE["lr_g"])
               for p in unstable)  # chapter 6's seed pair
    methods = {p.params["method"] for p in points if "methods" in p.grids}
    assert {"baseline", "wgan_gp"} <= methods
    assert {p.params["dataset"] for p in points if "methods" in p.grids} == (
        {"cifar10"} if profile == "full" else {"digits"})


def test_cpu_runs_every_loss_and_regulariser_over_three_seeds():
    cfg = ch.Config.resolve("cpu")
    assert cfg.seeds == [0, 1, 2]
    methods = {p.params["method"] for p in ch.grid_points(cfg) if "methods" in p.grids}
    assert methods == {"baseline", "spectral_norm", "hinge_sn", "wgan_gp", "lsgan", "r1"}


def test_profiles_side_by_side():
    smoke, cpu, full = (ch.Config.resolve(p) for p in ("smoke", "cpu", "full"))
    assert smoke.budget_steps < cpu.budget_steps < full.budget_steps
    assert full.lr == 2e-4 and cpu.lr > full.lr  # the DCGAN's rate at full; faster on the CPU
    assert full.eval_samples == 10_000 and full.real_samples is None  # FID: 10k vs the train set
    assert ch.metric_of("cifar10") == "fid" and ch.metric_of("digits") == "classifier_fid"
    assert ch.metric_of("faces") == "swd" and ch.channels_of("cifar10") == 3


@pytest.mark.parametrize("params, message", [
    ({"method": "dropout"}, "allowed values are"),
    ({"dataset": "mnist"}, "allowed values are"),
    ({"seeds": []}, "at least one seed"),
    ({"single_run": True, "sweep_dir": "x"}, "cannot be combined"),
    ({"dataset": "cifar10", "image_size": 64}, "CIFAR-10 is 32 px"),
    ({"dataset": "cifar10", "eval_samples": 500}, "at least 2,048"),
    ({"dataset": "digits", "eval_samples": 10}, "at least 64"),
    ({"evals": 2}, "must lie in"),
    ({"budget_steps": 0}, "must lie in"),
    ({"ema_decay": 1.0}, "must lie in"),
    ({"grid": {"seeds": [0], "grid": {"seed": [1]}}}, "cannot be grid parameters"),
    ({"grid": {"seeds": [0], "grid": {"sweep_dir": ["x"]}}}, "cannot be grid parameters"),
    ({"grid": {"grid": {"method": ["baseline"]}, "points": 3}}, "unknown key"),
    ({"lr_d": 2.0}, "must lie in"),
])
def test_invalid_configurations_are_refused_with_the_parameter_named(params, message):
    with pytest.raises(ValueError, match=message):
        ch.Config.resolve("smoke", **params)


def test_unknown_parameter_is_named_with_the_closest_one():
    with pytest.raises(ValueError, match="did you mean 'budget_steps'"):
        ch.Config.resolve("smoke", budget_step=3)


# --------------------------------------------------------------------------- methods


def test_each_method_is_options_of_the_one_engine():
    cfg = ch.Config.resolve("smoke", steps=30)
    wgan = ch.settings(cfg.replace(method="wgan_gp"))
    assert (wgan.loss, wgan.gp_weight, wgan.d_steps) == ("wgan_gp", 10.0, 5)
    assert wgan.betas_d == wgan.betas_g == (0.0, 0.9) and wgan.lr_d == wgan.lr_g == 1e-4
    hinge = ch.settings(cfg.replace(method="hinge_sn"))
    assert hinge.loss == "hinge" and hinge.spectral_norm
    assert ch.settings(cfg.replace(method="lsgan")).loss == "lsgan"
    r1 = ch.settings(cfg.replace(method="r1"))
    assert r1.r1_gamma == 1.0 and r1.r1_every == 16
    assert ch.settings(cfg.replace(method="diffaugment")).diffaugment == "color,translation,cutout"
    ttur = ch.settings(cfg.replace(method="ttur"))
    assert (ttur.lr_d, ttur.lr_g) == (4e-4, 1e-4)  # TTUR: two learning rates, no option
    base = ch.settings(cfg)
    assert (base.loss, base.spectral_norm, base.gp_weight, base.diffaugment) == (
        "non_saturating", False, 0.0, "")
    assert base.lr_d == base.lr_g == cfg.lr and base.betas_d == (0.5, 0.999)
    assert base.ema_decay == cfg.ema_decay > 0  # every run keeps an EMA
    # lr_d / lr_g of the configuration override the method's (the unstable pair)
    fast = ch.settings(cfg.replace(method="spectral_norm", **ch.UNSTABLE))
    assert (fast.lr_d, fast.lr_g) == (6.4e-3, 1.28e-3) and fast.spectral_norm


def test_steps_are_cut_into_equal_stages_each_ending_with_an_evaluation():
    cfg = ch.Config.resolve("smoke", evals=4)
    train = ch.settings(cfg, steps=40, batches=3)
    assert train.epochs == 4 and train.max_steps_per_epoch == 10
    assert train.data_repeats == 4  # 3 batches a pass: 4 passes give the stage's 10 steps


def test_the_discriminator_is_built_as_the_method_needs():
    cfg = ch.Config.resolve("smoke")
    _, d = ch.build_models(cfg.replace(method="wgan_gp"), 1)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())  # per-sample penalty
    _, d = ch.build_models(cfg.replace(method="hinge_sn"), 1)
    assert any("parametrizations" in name for name, _ in d.named_modules())
    _, d = ch.build_models(cfg, 1)
    assert any(isinstance(m, nn.BatchNorm2d) for m in d.modules())


def _faces(n: int = 32) -> ch.Data:
    images = synthetic_blobs(n, image_size=32)
    return ch.Data("faces", images, images.float_images())


def test_every_method_gets_the_seconds_the_baseline_takes_for_its_budget_steps():
    cfg = ch.Config.resolve("smoke", budget_steps=40, calibration_steps=2)
    measured = ch.calibrate(cfg, _faces())
    assert measured["seconds_per_step"] > 0 and measured["ema_seconds_per_step"] > 0
    budget = ch.budget_seconds(cfg, 0.02)
    assert budget == pytest.approx(0.8)  # 40 baseline steps of 20 ms
    assert ch.steps_for(cfg, 0.1, budget) == 8  # a method 5 x slower: 5 x fewer steps
    assert ch.steps_for(cfg, 1.0, budget) == cfg.evals  # at least one step per stage
    assert ch.steps_for(cfg.replace(steps=7), 0.1, budget) == 7  # the same steps, if asked
    timed = ch.timing(cfg.replace(method="wgan_gp"), _faces(), baseline=0.02)
    assert timed["budget_seconds"] == pytest.approx(0.8)
    assert timed["steps"] == max(cfg.evals, round(0.8 / timed["seconds_per_step"]))


def test_a_point_trains_for_its_steps_and_records_both_generators(tmp_path):
    cfg = ch.Config.resolve("smoke", out_dir=str(tmp_path), method="diffaugment", evals=3)
    outcome = ch.train_point(cfg, _faces(), {"seconds_per_step": 0.1, "steps": 6,
                                             "ema_seconds_per_step": 0.001,
                                             "budget_seconds": 0.6})
    assert outcome["status"] == "finished"
    run = Path(outcome["run_dir"])
    history = json.loads((run / "history.json").read_text())
    assert [len(e) for e in (history["metrics"]["swd"], history["metrics"]["swd_raw"])] == [3, 3]
    assert sum(e["iterations"] for e in history["epochs"]) == 6
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["method"] == "diffaugment" and metrics["steps"] == 6
    assert metrics["budget_seconds"] == 0.6
    assert metrics["training_seconds"] > 0
    train = json.loads((run / "config.json").read_text())["train"]
    assert train["diffaugment"] == "color,translation,cutout" and train["ema_decay"] > 0


# --------------------------------------------------------------------------- claims


def _row(experiment: str, method: str, seed: int, value: float | None, *,
         raw: float | None = None, critic: list[float] | None = None,
         swd_raw: list[float] | None = None, status: str = "finished",
         metric: str = "swd") -> dict:
    curves = {}
    if value is not None:
        curves[metric] = {1: value + 1, 2: value}
        curves[metric + "_raw"] = {1: value + 1, 2: value if raw is None else raw}
    if swd_raw is not None:
        curves["swd_raw"] = dict(enumerate(swd_raw, start=1))
    return {"id": f"{experiment}-{method}-{seed}", "setting": f"{experiment}-{method}",
            "seed": seed, "grids": [experiment], "method": method, "dataset": "faces",
            "params": {}, "status": status, "run_dir": None, "metric": metric, "steps": 10,
            "seconds": 1.0, "budget_seconds": 1.0, "clock_seconds": 1.0, "seconds_per_step": 0.01,
            "ema_seconds_per_step": 0.0001,
            "classifier_accuracy": None, "curves": curves,
            "critic": dict(enumerate(critic, start=1)) if critic else {},
            "stage_seconds": {1: 0.5, 2: 1.0}}


CFG = ch.Config.resolve("smoke")


def _pair(experiment, a, b, a_values, b_values, statuses=None):
    rows = [_row(experiment, a, s, v) for s, v in enumerate(a_values)]
    rows += [_row(experiment, b, s, v, status=(statuses or {}).get(s, "finished"))
             for s, v in enumerate(b_values)]
    return ch.Study(rows)


def test_spectral_norm_claim_supported_refuted_and_inconclusive():
    lower = _pair("unstable_lr", "spectral_norm", "baseline", [10, 11, 12], [20, 21, 22])
    claim = ch.spectral_norm_claim(lower, CFG)
    assert claim.verdict == SUPPORTED and claim.seed_ids == [0, 1, 2] and claim.high < 0
    higher = _pair("unstable_lr", "spectral_norm", "baseline", [30, 31, 32], [20, 21, 22])
    assert ch.spectral_norm_claim(higher, CFG).verdict == REFUTED
    noisy = _pair("unstable_lr", "spectral_norm", "baseline", [10, 30, 20], [21, 11, 29])
    claim = ch.spectral_norm_claim(noisy, CFG)
    assert claim.verdict == INCONCLUSIVE and "holds 0" in claim.why


def test_two_seeds_lean_but_give_no_verdict():
    two = _pair("unstable_lr", "spectral_norm", "baseline", [10, 11], [20, 21])
    claim = ch.spectral_norm_claim(two, CFG)
    assert claim.verdict == INCONCLUSIVE and claim.leaning == SUPPORTED
    assert claim.seeds == 2 and claim.seed_ids == [0, 1]


def test_a_diverged_run_is_counted_not_scored():
    rows = _pair("unstable_lr", "spectral_norm", "baseline", [10, 11, 12], [20, 21, None],
                 statuses={2: "diverged"})
    claim = ch.spectral_norm_claim(rows, CFG)
    assert "no SN 1" in claim.why and claim.seed_ids == [0, 1]


def test_diffaugment_claim_on_the_few_shot_experiment():
    study = _pair("few_shot", "diffaugment", "baseline", [100, 101, 102], [150, 149, 152])
    claim = ch.diffaugment_claim(study, CFG)
    assert claim.id == "diffaugment" and claim.verdict == SUPPORTED
    assert claim.value == pytest.approx(-49.33, abs=0.01)
    empty = ch.diffaugment_claim(ch.Study([]), CFG)
    assert empty.verdict == INCONCLUSIVE and "fewer than two" in empty.why


def _wgan(critics, swds):
    return ch.Study([_row("methods", "wgan_gp", s, 1.0, critic=c, swd_raw=w,
                          metric="classifier_fid") for s, (c, w) in enumerate(zip(critics, swds))])


def test_the_critic_tracks_quality_when_every_seed_correlates():
    falling = [5.0, 3.0, 2.0, 1.5]
    study = _wgan([falling, [4, 3.5, 2, 1], [6, 4, 3, 2]],
                  [[90, 60, 40, 35], [80, 70, 45, 30], [100, 70, 50, 45]])
    claim = ch.wgan_claim(study, CFG)
    assert claim.verdict == SUPPORTED and claim.seed_ids == [0, 1, 2] and claim.low > 0
    assert "seed 0:" in claim.why
    against = _wgan([falling] * 3, [[30, 40, 60, 90], [20, 45, 70, 80], [35, 50, 70, 100]])
    assert ch.wgan_claim(against, CFG).verdict == REFUTED
    mixed = _wgan([falling] * 3, [[90, 60, 40, 35], [30, 40, 60, 90], [50, 40, 60, 45]])
    assert ch.wgan_claim(mixed, CFG).verdict == INCONCLUSIVE


def test_the_critic_claim_needs_three_stages():
    study = _wgan([[1.0, 2.0]], [[3.0, 4.0]])
    claim = ch.wgan_claim(study, CFG)
    assert claim.verdict == INCONCLUSIVE and "three evaluated stages" in claim.why
    assert claim.seed_ids == [0]


def test_correlation_is_pearsons_r():
    assert ch.correlation([(1, 2), (2, 4), (3, 6)]) == pytest.approx(1.0)
    assert ch.correlation([(1, 3), (2, 2), (3, 1)]) == pytest.approx(-1.0)
    assert ch.correlation([(1, 1), (2, 1), (3, 1)]) != ch.correlation([(1, 1), (2, 1), (3, 1)])


def test_the_ema_claim_pairs_the_two_generators_of_each_run():
    rows = [_row("methods", m, s, v, raw=v + d, metric="classifier_fid")
            for s in range(3) for m, v, d in (("baseline", 20.0, 2.0 + s), ("lsgan", 25.0, 1.5))]
    claim = ch.ema_claim(ch.Study(rows), CFG)
    assert claim.verdict == SUPPORTED and claim.seed_ids == [0, 1, 2]
    assert claim.value == pytest.approx(-2.25)  # per seed: -(2 + s + 1.5) / 2
    assert "% of a training step" in claim.why
    worse = [_row("methods", "baseline", s, 20.0, raw=19.0 - 0.1 * s,
                  metric="classifier_fid") for s in range(3)]
    assert ch.ema_claim(ch.Study(worse), CFG).verdict == REFUTED
    assert ch.ema_claim(ch.Study([]), CFG).verdict == INCONCLUSIVE


def test_the_four_claims_and_the_table_on_a_synthetic_study():
    rows = (_pair("few_shot", "diffaugment", "baseline", [1, 2, 3], [2, 3, 4]).rows
            + _pair("unstable_lr", "spectral_norm", "baseline", [1, 2, 3], [2, 3, 4]).rows
            + _wgan([[3, 2, 1]] * 3, [[3, 2, 1]] * 3).rows)
    study = ch.Study(rows)
    found = ch.claims(study, CFG)
    assert [c.id for c in found] == ["spectral_norm", "wgan_critic", "diffaugment", "ema"]
    table = ch.method_rows(study)
    assert [(r["experiment"], r["method"]) for r in table] == [
        ("methods", "wgan_gp"), ("few_shot", "diffaugment"), ("few_shot", "baseline"),
        ("unstable_lr", "spectral_norm"), ("unstable_lr", "baseline")]
    assert table[1]["seeds"] == "0, 1, 2" and table[1]["swd (EMA)"].startswith("2 [")


# --------------------------------------------------------------------------- end to end


def test_labkit_run_stabilisers_writes_the_chapter_folder(tmp_path, monkeypatch, capsys):
    from labkit.cli import main

    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    small = {"seeds": [0], "grids": {
        "few_shot": {"dataset": ["faces"], "method": ["baseline", "diffaugment"]}}}
    main(["run", "stabilisers", "--profile", "smoke", "-p", f"out_dir={tmp_path}",
          "-p", "seeds=[0]", "-p", "steps=3", "-p", f"grid={small!r}"])
    (folder,) = tmp_path.glob("stabilisers-*")
    out = capsys.readouterr().out
    assert f"run folder: {folder}" in out and "2 runs in " in out
    claims = json.loads((folder / "claims.json").read_text())
    assert [c["id"] for c in claims] == ["spectral_norm", "wgan_critic", "diffaugment", "ema"]
    assert all(c["verdict"] == INCONCLUSIVE for c in claims)
    calibration = json.loads((folder / "calibration.json").read_text())["rows"]
    assert {r["method"] for r in calibration} == {"baseline", "diffaugment"}
    assert json.loads((folder / "metrics.json").read_text())["runs"] == 2
    for name in ("metric_vs_time", "samples"):
        assert (folder / f"{name}.png").is_file()


def test_labkit_sweep_stabilisers_runs_each_point_as_a_single_run(tmp_path, monkeypatch):
    from labkit import sweep

    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    grid_file = tmp_path / "g.yaml"
    grid_file.write_text("parameters: {profile: smoke, dataset: faces, budget_steps: 4}\n"
                         "seeds: [0]\ngrid:\n  method: [baseline, spectral_norm]\n")
    out = tmp_path / "sweep"
    sweep.main(["stabilisers", "--grid", str(grid_file), "--out", str(out)])
    records = [json.loads(p.read_text()) for p in out.glob("points/*/point.json")]
    assert sorted(r["params"]["method"] for r in records) == ["baseline", "spectral_norm"]
    assert all(r["status"] == "finished" for r in records)
    for record in records:
        run = out / "points" / record["id"] / record["run_dir"]
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["seconds_per_step"] > 0 and metrics["steps"] >= 3  # timed by the point
        assert metrics["budget_seconds"] > 0


def test_sampling_leaves_the_generator_unchanged():
    cfg = ch.Config.resolve("smoke")
    g, _ = ch.build_models(cfg, 1)
    before = [p.clone() for p in g.state_dict().values()]
    ch.ema_seconds(g, updates=3)
    assert all(torch.equal(a, b) for a, b in zip(before, g.state_dict().values()))
