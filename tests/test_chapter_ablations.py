"""Chapter 6's module: its packaged grids, its configuration, the claim rule on small fake
studies, the narrower findings, a diverging point, and `labkit run ablations` end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from labkit import compare, grid, sweep
from labkit.chapters import ablations
from labkit.cli import main
from labkit.stats import holm, welch_p_value
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


def test_cpu_grid_is_the_seeds_tables_one_sided_smoothing_and_the_pre_scan():
    cfg = ablations.Config.resolve("cpu")
    points = ablations.grid_points(cfg)
    described = ablations.describe_grid(points, cfg)
    assert len(points) == 45 and described.startswith("45 runs: 15 settings x 3 seeds [0, 1, 2]")
    assert "  lr scan: 7 settings" in described and "  label smoothing: 4 settings" in described
    shared = [p for p in points if p.params["lr_d"] == 6.4e-3 and p.params["lr_g"] == 1.28e-3
              and p.params["real_label"] == 1.0 and "epochs" not in p.params]
    assert set(shared[0].grids) == {"learning_rate", "label_smoothing", "table_3"}


@pytest.mark.parametrize("profile", ["smoke", "cpu", "full"])
def test_one_sided_smoothing_is_a_setting_with_a_fake_label_of_exactly_zero(profile):
    points = ablations.grid_points(ablations.Config.resolve(profile))
    labels = {(p.params["real_label"], p.params["fake_label"]) for p in points
              if "label_smoothing" in p.grids}
    assert {(1.0, 0.0), (0.9, 0.1), (0.9, 0.0)} <= labels
    (one_sided,) = {p.setting: p for p in points if p.params["real_label"] == 0.9
                    and p.params["fake_label"] == 0.0}.values()
    settings = ablations.TrainConfig.from_profile(
        ablations.point_config(one_sided, None), name="ablations")
    assert settings.real_label == 0.9 and settings.fake_label == 0.0  # exactly 0: one-sided
    assert type(one_sided.params["fake_label"]) is float


@pytest.mark.parametrize("profile", ["smoke", "cpu", "full"])
def test_the_pre_scan_is_short_includes_the_seeds_pair_and_spans_it(profile):
    cfg = ablations.Config.resolve(profile)
    scan = [p for p in ablations.grid_points(cfg) if p.grids == ("lr_scan",)]
    assert scan and all(p.params["epochs"] < cfg.epochs for p in scan)  # short trainings
    pairs = {(p.params["lr_d"], p.params["lr_g"]) for p in scan}
    assert (6.4e-3, 1.28e-3) in pairs  # the seed's D 0.0064 / G 0.00128
    assert all(p.params["real_label"] == 1.0 and p.params["fake_label"] == 0.0 for p in scan)
    d_rates = sorted(d for d, g in pairs if g == 1.28e-3)
    g_rates = sorted(g for d, g in pairs if d == 6.4e-3)
    assert min(d_rates) < 6.4e-3 and (profile == "smoke" or max(d_rates) > 6.4e-3)
    assert min(g_rates) < 1.28e-3 and (profile == "smoke" or max(g_rates) > 1.28e-3)
    for rates in (d_rates, g_rates):  # a log scale: one ratio between neighbours
        ratios = {round(b / a, 6) for a, b in zip(rates, rates[1:])}
        assert len(ratios) <= 1


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
    """One row per seed, as `compare.collect` makes them (and `gather` adds `elapsed`: training
    seconds at each epoch's end), with the given metric curves."""
    setting = grid.setting_id({"profile": "smoke", **params})
    return [{"id": f"{setting}-seed{k}", "setting": setting, "seed": k, "status": "finished",
             "error": None, "params": {"profile": "smoke", **params}, "grids": [],
             "run_dir": None, "metric": "swd", "curve": curve, "claims": {},
             "scalars": {"seconds_per_epoch": seconds, "collapsed": False},
             "elapsed": {e: seconds * e for e in range(1, max(curve) + 1)}}
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
    assert [(r["comparison"], r["family"], r["there"]) for r in rows][:2] == [
        ("learning_rates @ 1", "confirmatory", "A better"),
        ("learning_rates @ 20", "confirmatory", "A better")]


# --------------------------------------------------------------------------- Holm's correction


def test_holm_adjusts_the_confirmatory_welch_p_values_as_one_family():
    # hand-made numbers: the learning-rate claim is clearly better, the label claim only just
    # (unadjusted p near 0.03), and the model claim not measured at all
    near = curves([44, 47, 50], [17, 19, 21])  # A − B ≈ -3 at epoch 20, small spread
    study = study_of((BASE, SAME), (FAST, BETTER), (SMOOTH, near),
                     ({**FAST, "lr_g": 3.2e-3}, WORSE))
    cfg = ablations.Config.resolve("cpu")
    found = ablations.comparisons(study, cfg)
    confirmatory = found.family("confirmatory")
    assert [t.id for t in confirmatory] == [
        "learning_rates @ 1", "learning_rates @ 20", "label_smoothing @ 1",
        "label_smoothing @ 20", "modified_model @ 1", "modified_model @ 20",
        "modified_model @ equal time"]
    fast, base, smooth = (study.find(**s) for s in (FAST, BASE, SMOOTH))
    by_hand = [welch_p_value(a["values"][e], b["values"][e])
               for a, b in ((fast, base), (smooth, fast)) for e in (1, 20)]
    assert [t.p for t in confirmatory[:4]] == pytest.approx(by_hand)
    assert all(math.isnan(t.p) and math.isnan(t.holm) for t in confirmatory[4:])  # not measured
    m, order = 4, sorted(range(4), key=lambda i: by_hand[i])  # Holm, written out for m = 4
    expected, running = [0.0] * 4, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * by_hand[i]))
        expected[i] = running
    assert [t.holm for t in confirmatory[:4]] == pytest.approx(expected)
    # the exploratory family is adjusted on its own and decides no verdict
    exploratory = found.family("exploratory")
    assert exploratory and all(t.key not in {c.key for c in confirmatory} for t in exploratory)
    assert [t.holm for t in exploratory] == pytest.approx(holm([t.p for t in exploratory]))


def test_a_verdict_needs_the_holm_adjusted_p_not_only_the_unadjusted_interval():
    # at epoch 20 the unadjusted 95 % interval of the label claim excludes 0, and its p
    # (≈ 0.04) times its Holm factor (4 comparisons measured) is no longer below 0.05
    near = curves([50, 52, 54], [15, 17, 19])
    study = study_of((BASE, SAME), (FAST, SAME), (SMOOTH, near))
    found = ablations.comparisons(study, ablations.Config.resolve("cpu"))
    (t,) = [t for t in found.tests if t.id == "label_smoothing @ 20"]
    assert t.p < 0.05 and t.difference.high < 0 and t.holm >= 0.05
    assert t.verdict == "no clear difference"
    found_claim = claim(study, "label_smoothing")
    assert found_claim.verdict == "inconclusive"
    assert found_claim.why.startswith("no Holm-adjusted p is below 0.05")
    assert found_claim.high < 0  # the reported interval is the unadjusted one, as the rule says


def test_every_claim_names_its_seeds():
    study = study_of((BASE, SAME), (FAST, BETTER), (SMOOTH, BETTER), (MODIFIED, BETTER, 2.0))
    for found in ablations.claims(study, ablations.Config.resolve("cpu")):
        assert found.seeds == 3 and found.seed_ids == [0, 1, 2], found.id


def test_the_ablation_table_compares_each_setting_with_its_factors_reference():
    one_sided = {**FAST, "real_label": 0.9, "fake_label": 0.0}
    rows = fake_rows(BASE, SAME) + fake_rows(FAST, BETTER) + fake_rows(SMOOTH, BETTER) \
        + fake_rows(one_sided, WORSE)
    for row in rows:
        row["grids"] = (["learning_rate"] if row["params"]["lr_d"] == 2e-4 else
                        ["label_smoothing"] + (["learning_rate"] if row["params"]["real_label"]
                                               == 1.0 else []))
    summary = compare.summarize(rows)
    study = ablations.Study(rows, summary, compare.factor_tables(summary, ablations.FACTORS),
                            "swd", [1, 20])
    table = {(r["factor"], r["setting"]): r for r in ablations.ablation_rows(
        study, ablations.Config.resolve("cpu"))}
    assert table[("learning rate", "lr D/G 0.0002/0.0002")]["against"] == "reference"
    lr = table[("learning rate", "lr D/G 0.0064/0.00128")]
    assert lr["family"] == "confirmatory" and lr["seeds"] == "0, 1, 2"
    assert lr["swd @ 20"].startswith("11 [") and lr["training s"] == "20.0"
    sided = table[("label smoothing", "labels real/fake 0.9/0")]
    assert sided["family"] == "exploratory" and sided["against"] == "labels real/fake 1/0"


# --------------------------------------------------------------------------- narrower findings


def findings_of(study):
    return ablations.comparisons(study, ablations.Config.resolve("cpu"))


def test_the_generator_rate_finding_names_the_best_and_the_noise():
    study = study_of((FAST, SAME), ({**FAST, "lr_g": 3.2e-3}, WORSE),
                     ({**FAST, "lr_g": 6.4e-4}, BETTER))
    answer = ablations.generator_rate(study, findings_of(study), FAST)["answer"]
    assert answer.startswith("not shown: lowest swd at epoch 20: G 0.00064 (11;")
    assert "G 0.00064 against 0.00128: G 0.00064 is better (Holm p =" in answer
    study = study_of((FAST, BETTER), ({**FAST, "lr_g": 3.2e-3}, SAME))
    assert ablations.generator_rate(study, findings_of(study), FAST)["answer"].startswith(
        "yes: lowest swd")
    study = study_of((FAST, SAME))
    assert "not all measured" in ablations.generator_rate(study, findings_of(study),
                                                          FAST)["answer"]


def test_the_label_findings_say_which_targets_are_lower_and_call_it_exploratory():
    soft = {**FAST, "real_label": 0.99, "fake_label": 0.01}
    study = study_of((SMOOTH, WORSE), (soft, SAME))
    answer = ablations.label_targets(study, findings_of(study), FAST)["answer"]
    assert answer.startswith("0.99 / 0.01 is better (Holm p =")
    assert "(swd at epoch 20: 41 against 22" in answer
    study = study_of((SMOOTH, SAME), (soft, SAME))
    answer = ablations.label_targets(study, findings_of(study), FAST)["answer"]
    assert "within the noise" in answer and "exploratory" in answer
    one_sided = {**FAST, "real_label": 0.9, "fake_label": 0.0}
    study = study_of((SMOOTH, SAME), (one_sided, BETTER))
    answer = ablations.one_sided(study, findings_of(study), FAST)["answer"]
    assert answer.startswith("one-sided is better") and "11 against 22" in answer


# --------------------------------------------------------------------------- equal training time


def test_the_equal_time_comparison_takes_the_largest_time_every_run_reached():
    # hand-made histories: the DCGAN runs take 1.0, 1.1 and 1.2 s per epoch (20, 22 and 24 s
    # in all), the modified pair 4 s per epoch (80 s): the common time is 20 s; the slower
    # DCGAN seeds' values there are interpolated between their epochs 1 and 20
    dcgan = [r for k, s in enumerate((1.0, 1.1, 1.2)) for r in fake_rows(SMOOTH, [SAME[k]], s)]
    for k, row in enumerate(dcgan):
        row["seed"], row["id"] = k, f"{row['setting']}-seed{k}"
    rows = dcgan + fake_rows(MODIFIED, BETTER, 4.0)
    summary = compare.summarize(rows)
    study = ablations.Study(rows, summary, {"all": summary}, "swd", [1, 20])
    runs = [ablations.timed_runs(study, s) for s in summary]
    assert ablations.common_time(*runs) == pytest.approx(20.0)
    t = ablations.time_test(study, "t", summary[1], summary[0], "confirmatory")
    assert t.seconds == pytest.approx(20.0) and t.seed_ids == [0, 1, 2]
    # DCGAN seed 2: 54 at 1.2 s, 24 at 24 s -> at 20 s: 54 - 30 * 18.8 / 22.8
    dcgan_at = [20.0, 52 - 30 * (20 - 1.1) / (22 - 1.1), 54 - 30 * 18.8 / 22.8]
    modified_at = [v1 + (v20 - v1) * (20 - 4) / (80 - 4) for v1, v20 in ((30, 10), (31, 11),
                                                                        (32, 12))]
    assert t.mean_b == pytest.approx(sum(dcgan_at) / 3)
    assert t.mean_a == pytest.approx(sum(modified_at) / 3)
    assert t.difference.mean == pytest.approx(t.mean_a - t.mean_b)
    assert ablations.value_at([(1.0, 5.0), (3.0, 1.0)], 0.5) is None  # before the first
    assert ablations.value_at([(1.0, 5.0), (3.0, 1.0)], 2.0) == pytest.approx(3.0)


def test_equal_time_and_equal_epochs_can_disagree_and_the_claims_say_so():
    # 4x as long per epoch: better at every epoch, but at the DCGAN's 20 s it has done 5 epochs
    study = study_of((SMOOTH, SAME, 1.0), (MODIFIED, BETTER, 4.0))
    found = {c.id: c for c in ablations.claims(study, ablations.Config.resolve("cpu"))}
    assert found["modified_model"].verdict == "supported"
    timed = found["modified_model_equal_time"]
    assert timed.verdict == "refuted" and timed.why.startswith("the DCGAN is better at equal "
                                                               "training time")
    assert timed.low > 0 and timed.seeds == 3 and timed.seed_ids == [0, 1, 2]
    answer = ablations.equal_time(study, findings_of(study))["answer"]
    assert answer.startswith("it takes 4.00× the DCGAN's time per epoch")
    assert "at 20.0 s of training" in answer and "the DCGAN is better" in answer
    study = study_of((SMOOTH, SAME, 1.0), (MODIFIED, BETTER, 0.5))
    timed = {c.id: c for c in ablations.claims(study, ablations.Config.resolve("cpu"))}[
        "modified_model_equal_time"]
    assert timed.verdict == "supported" and timed.high < 0


# --------------------------------------------------------------------------- the pre-scan


def test_the_scan_finding_ranks_the_seeds_pair_on_each_axis():
    pairs = {(4e-4, 1.28e-3): 30, (1.6e-3, 1.28e-3): 20, (6.4e-3, 1.28e-3): 25,
             (6.4e-3, 3.2e-4): 40, (6.4e-3, 5.12e-3): 10}
    rows = []
    for (d, g), level in pairs.items():
        rows += fake_rows({**BASE, "lr_d": d, "lr_g": g, "epochs": 5},
                          [{1: level + 9, 5: level + k} for k in range(3)])
    for row in rows:
        row["grids"] = ["lr_scan"]
    summary = compare.summarize(rows)
    study = ablations.Study(rows, [], {}, "swd", [], summary)
    axes = ablations.scan_axes(study)
    assert [s["params"]["lr_d"] for s in axes["lr_d"]] == [4e-4, 1.6e-3, 6.4e-3]
    assert [s["params"]["lr_g"] for s in axes["lr_g"]] == [3.2e-4, 1.28e-3, 5.12e-3]
    answer = ablations.scan_finding(study)["answer"]
    assert answer.startswith("D: lowest swd at D 0.0016 (21); the seed's rate ranks 2 of 3; "
                             "G: lowest swd at G 0.00512 (11); the seed's rate ranks 2 of 3")
    assert "after 5 epochs, seeds 0, 1, 2: a scan, not a verdict" in answer
    (mine,) = [r for r in ablations.scan_rows(study) if r["the seed's pair"] == "yes"]
    assert mine["lr D"] == "0.0064" and mine["swd @ last"].startswith("26 [")
    figure = ablations.scan_figure(study)
    assert len(figure.axes) == 2 and all(ax.get_xscale() == "log" for ax in figure.axes)


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
    # 5 settings, and 3 pre-scan pairs of which one (the seed's, 1 epoch) is a setting already
    assert f"run folder: {folder}" in out and "7 runs in " in out
    assert "claim learning_rates: inconclusive (1 seed(s))" in out
    claims = json.loads((folder / "claims.json").read_text())
    assert [c["verdict"] for c in claims] == ["inconclusive"] * 4
    assert all(c["seed_ids"] == [0] for c in claims)
    assert json.loads((folder / "metrics.json").read_text())["runs"] == 7
    assert (folder / "metric_vs_epoch.png").is_file()
    main(args + ["-p", "resume=True"])  # the latest chapter folder, its points all done
    out = capsys.readouterr().out
    assert "7 of 7 points already done: skipped" in out and f"run folder: {folder}" in out
    assert [p.name for p in tmp_path.glob("ablations-*")] == [folder.name]


def test_the_yaml_comments_name_the_command_that_runs_them():
    for profile in ("smoke", "cpu", "full"):
        text = ablations.grid_path(profile).read_text()
        assert f"--grid labkit/chapters/grids/ablations_{profile}.yaml" in text
        assert yaml.safe_load(text)["parameters"]["profile"] == profile
