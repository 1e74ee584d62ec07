"""Chapter 3's module: its configuration, the seed report's data, the measurements' helpers, the
claim rules (fed small made-up rows), its figures, and `labkit run crossdata`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fakes import fake_history
from PIL import Image

from labkit import claims as lkclaims
from labkit.chapters import crossdata
from labkit.data import ImageSet
from labkit.stats import difference_interval, mean_interval, t_quantile

# The values of the old profiles.CHAPTERS["cross_dataset"], kept exactly, but for the training
# seeds (three at cpu and full, two at smoke) and the cpu budget that makes room for them:
# 4 x 50 iterations a seed (was 4 x 100, one seed), SWD draws 3 a seed (was 6), log every 25.
BEFORE = {
    "full": {"image_size": 32, "nz": 100, "ngf": 128, "ndf": 128, "epochs": 10,
             "steps_per_epoch": 880, "batch_size": 128, "lr_d": 2e-4, "lr_g": 2e-4,
             "beta1": 0.5, "real_label": 1.0, "fake_label": 0.0, "log_every": 220,
             "eval_samples": 10_000, "memo_samples": 1000, "swd_draws": 3, "quality": "fid",
             "seeds": [0, 1, 2]},
    "cpu": {"image_size": 32, "nz": 100, "ngf": 64, "ndf": 64, "epochs": 4,
            "steps_per_epoch": 50, "batch_size": 64, "lr_d": 2e-4, "lr_g": 2e-4,
            "beta1": 0.5, "real_label": 1.0, "fake_label": 0.0, "log_every": 25,
            "eval_samples": 500, "memo_samples": 500, "swd_draws": 3, "quality": "swd",
            "seeds": [0, 1, 2]},
    "smoke": {"image_size": 32, "nz": 100, "ngf": 16, "ndf": 16, "epochs": 2,
              "steps_per_epoch": 4, "batch_size": 16, "lr_d": 2e-4, "lr_g": 2e-4,
              "beta1": 0.5, "real_label": 1.0, "fake_label": 0.0, "log_every": 2,
              "eval_samples": 64, "memo_samples": 64, "swd_draws": 2, "quality": "swd",
              "seeds": [0, 1]},
}


@pytest.fixture
def cfg():
    return crossdata.Config.resolve("smoke")


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("profile", ["smoke", "cpu", "full"])
def test_profiles_keep_their_values_and_train_grey_sets_in_one_channel(profile):
    cfg = crossdata.Config.resolve(profile)
    assert {k: getattr(cfg, k) for k in BEFORE[profile]} == BEFORE[profile]
    assert cfg.seed == 0 and cfg.resume is False and len(cfg.datasets) == 3
    grey = {"digits", "faces", "emnist"}
    for spec in cfg.datasets:
        assert spec["channels"] == (1 if spec["name"] in grey else 3), spec
        assert spec["seed_row"] in crossdata.SEED
    names = [s["name"] for s in cfg.datasets]
    assert names == (["emnist", "celeba", "cifar10"] if profile == "full"
                     else ["digits", "faces", "photos"])
    if profile == "full":
        assert cfg.datasets[2]["classes"] == ["airplane"]


@pytest.mark.parametrize("seeds, message", [
    ([], "give at least one training seed"),
    ([0, 1, 0], "a seed is listed twice"),
    ([-1, 2], r"must lie in \[0, inf\]"),
    (3, "should be a list of int"),
])
def test_bad_seed_lists_are_refused_before_any_work(seeds, message):
    with pytest.raises(ValueError, match=message):
        crossdata.Config.resolve("smoke", seeds=seeds)


@pytest.mark.parametrize("datasets, message", [
    ("digits", "datasets='digits' should be a list of dict"),
    ([{"name": "digits", "train": "train"}], r"lacks \['test', 'channels'\]"),
    ([{"name": "mnist", "train": "train", "test": "test", "channels": 1}], "unknown dataset"),
    ([{"name": "digits", "train": "train", "test": "test", "channels": 2}], "channels=2"),
    ([dict(crossdata.OFFLINE_SETS[0])] * 2, "listed twice"),
    ([], "at least one"),
])
def test_bad_dataset_lists_are_refused_before_any_work(datasets, message):
    with pytest.raises(ValueError, match=message):
        crossdata.Config.resolve("smoke", datasets=datasets)


def test_fid_without_inception_weights_fails_in_check_ready(tmp_path, monkeypatch, cfg):
    from labkit.metrics import InceptionWeightsUnavailable

    monkeypatch.setenv("LABKIT_INCEPTION_WEIGHTS", str(tmp_path / "missing.pth"))
    with pytest.raises(InceptionWeightsUnavailable, match='quality="swd"'):
        crossdata.check_ready(cfg.replace(quality="fid"))
    crossdata.check_ready(cfg)  # SWD needs no weights


def test_resume_continues_the_latest_chapter_folder(tmp_path, cfg):
    first = crossdata.chapter_folder(cfg.replace(out_dir=str(tmp_path)))
    again = crossdata.chapter_folder(cfg.replace(out_dir=str(tmp_path), resume=True))
    assert again == first
    record = again.read_config()
    assert record["chapter"] == "crossdata" and record["resumes"][0]["resume"] is True
    fresh = crossdata.chapter_folder(cfg.replace(out_dir=str(tmp_path)))
    assert fresh != first


# --------------------------------------------------------------------------- the seed report


def test_the_seed_layers_are_labkits_32px_dcgan():
    rows = {r["network"]: r for r in crossdata.seed_layout()}
    assert rows["generator"]["same layers"] and rows["discriminator"]["same layers"]
    assert rows["generator"]["channels in the report"] == "100 → 512 → 256 → 128 → 3"
    assert rows["generator"]["output"] == "3×32×32"


def test_seed_budgets_read_off_the_log_lines():
    budgets = {r["seed dataset"]: r for r in crossdata.seed_budgets()}
    assert budgets["EMNIST"]["iterations"] == 8820
    assert budgets["CIFAR-10 airplanes"]["iterations"] == 790
    assert budgets["CelebA"]["images per iteration"] == pytest.approx(64.0, abs=0.1)
    assert budgets["CelebA"]["images seen"] == 2_025_990


# --------------------------------------------------------------------------- measurements


def test_rms_contrast_is_the_grey_level_spread():
    half = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    half[..., :2] = 255  # half white, half black: std 0.5 (population) -> sample std
    expected = float(torch.tensor([0.0] * 8 + [1.0] * 8).std())
    assert crossdata.rms_contrast(half) == pytest.approx(expected)
    assert crossdata.rms_contrast(torch.full((3, 1, 4, 4), 90, dtype=torch.uint8)) == 0


def test_draws_with_offsets_are_disjoint_and_signed():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1)
    a, b = crossdata.draw(images, 5, seed=3), crossdata.draw(images, 5, seed=3, offset=5)
    assert set(a.flatten().tolist()).isdisjoint(b.flatten().tolist())
    assert a.dtype == torch.float32 and a.min() >= -1 and a.max() <= 1


def test_one_budget_repeats_small_sets_and_cuts_large_ones(cfg):
    def dataset(n):
        return crossdata.Dataset({"name": f"n{n}"}, ImageSet(torch.zeros(n, 1, 4, 4,
                                                                         dtype=torch.uint8)),
                                 ImageSet(torch.zeros(2, 1, 4, 4, dtype=torch.uint8)))

    cfg = cfg.replace(steps_per_epoch=100, batch_size=16)
    found = crossdata.budgets(cfg, {"small": dataset(80), "large": dataset(16_000)})
    assert found["small"] == {"data_repeats": 20, "max_steps_per_epoch": 100}  # 5 batches a pass
    assert found["large"] == {"data_repeats": 1, "max_steps_per_epoch": 100}


# --------------------------------------------------------------------------- claims

SEEDS = [0, 1, 2]


def seed_rows(name, plays, contrast, ratios, seeds=SEEDS, draws=None, **facts) -> list[dict]:
    """One table row per training seed of a dataset, each seed's SWD ratio from `ratios` (its
    draws tightly around it unless given), other facts made up; a fact given as a list gives
    one value per seed."""
    rows = []
    for i, (seed, ratio) in enumerate(zip(seeds, ratios, strict=True)):
        base = {"dataset": name, "training_seed": seed, "seed_dataset": plays,
                "rms_contrast": contrast, "swd_ratio": ratio,
                "swd_ratio_draws": draws[i] if draws else [ratio - 0.001, ratio + 0.001],
                "train_images": 1000, "images_seen": 25_600, "iterations": 400,
                "seed_iterations": crossdata.SEED[plays]["iters_per_epoch"] * 10,
                "memorisation_ratio": 1.0, "share_closer_than_held_out_p5": 0.05,
                "copy_control": 1.0, "held_out_shift": 1.0}
        base.update({k: v[i] if isinstance(v, list) else v for k, v in facts.items()})
        base.update({k: base.get(k, 0.5) for k in crossdata.PER_SEED if k not in base})
        rows.append(base)
    return rows


def rows(digits_ratios, faces_ratios, photos_ratios, seeds=SEEDS, **facts) -> list[dict]:
    """Rows of the three offline sets, one per training seed, with these per-seed SWD ratios
    (and facts per set by name); digits has the highest contrast."""
    return (seed_rows("digits", "EMNIST", 0.35, digits_ratios, seeds, **facts.get("digits", {}))
            + seed_rows("faces", "CelebA", 0.19, faces_ratios, seeds, **facts.get("faces", {}))
            + seed_rows("photos", "CIFAR-10 airplanes", 0.09, photos_ratios, seeds,
                        **facts.get("photos", {})))


LOW, MID, HIGH = [1.0, 1.1, 0.9], [2.0, 2.1, 1.9], [3.0, 3.1, 2.9]
WIDE = [1.0, 3.5, 1.5]  # spread over the seeds: its interval overlaps MID's and HIGH's


def test_the_interval_is_over_the_training_seeds_not_the_draws():
    # Each seed's draws agree to 0.001, the seeds spread widely: the interval must follow the
    # seeds (Welch over the per-seed ratios), so it is wide and includes 0.
    tight = [[v - 0.001, v + 0.001] for v in WIDE]
    made = (seed_rows("digits", "EMNIST", 0.35, WIDE, draws=tight)
            + seed_rows("faces", "CelebA", 0.19, MID) + seed_rows("photos", "CIFAR-10 "
                                                                   "airplanes", 0.09, HIGH))
    gap = crossdata.ratio_gap(made, "digits", "faces")
    assert gap == difference_interval(WIDE, MID) and gap.n == 3
    assert gap.low < 0 < gap.high
    means = crossdata.over_seeds(made, "swd_ratio")
    assert means["digits"] == mean_interval(WIDE)
    assert means["digits"].high - means["digits"].low == pytest.approx(
        2 * t_quantile(3) * np.std(WIDE, ddof=1) / np.sqrt(3))  # t = 4.30 with 3 seeds
    summed = {r["dataset"]: r for r in crossdata.dataset_rows(made)}
    assert summed["digits"]["training_seeds"] == SEEDS
    assert summed["digits"]["swd_ratio_seeds"] == WIDE
    assert summed["digits"]["swd_ratio_low"] == pytest.approx(means["digits"].low)
    claim = crossdata.contrast_claim(made, crossdata.Config.resolve("smoke", seeds=SEEDS))
    assert claim.verdict == "inconclusive" and claim.leaning is None  # straddles, 3 seeds
    assert "which includes 0" in claim.why and "3 training seeds (0, 1, 2)" in claim.why
    assert (claim.low, claim.high) == (pytest.approx(gap.low), pytest.approx(gap.high))


def test_rows_must_share_their_training_seeds():
    uneven = (seed_rows("digits", "EMNIST", 0.35, LOW) + seed_rows("faces", "CelebA", 0.19,
                                                                   MID[:2], seeds=[0, 1]))
    with pytest.raises(ValueError, match="different seeds"):
        crossdata.training_seeds(uneven)
    twice = seed_rows("digits", "EMNIST", 0.35, LOW, seeds=[0, 0, 1])
    with pytest.raises(ValueError, match="appears twice"):
        crossdata.training_seeds(twice)
    assert crossdata.training_seeds(rows(LOW, MID, HIGH, seeds=[4, 2, 7])) == [2, 4, 7]


def test_each_claim_lists_the_training_seeds_it_rests_on(cfg):
    for claim in crossdata.claims(rows(LOW, MID, HIGH, seeds=[3, 5, 8]), cfg):
        assert claim.seeds == 3 and claim.seed_ids == [3, 5, 8], claim.id
        assert "3 training seeds (3, 5, 8)" in claim.why
    for claim in crossdata.claims(rows(LOW[:2], MID[:2], HIGH[:2], seeds=[0, 1]), cfg):
        assert claim.seeds == 2 and claim.seed_ids == [0, 1]
        assert claim.verdict == "inconclusive"  # fewer than 3 seeds: never a verdict


def test_contrast_claim_follows_the_interval_of_the_difference(cfg):
    supported = crossdata.contrast_claim(rows(LOW, MID, HIGH), cfg)
    assert supported.verdict == "supported" and supported.value == pytest.approx(-1.0)
    assert supported.high < 0 and supported.seeds == 3
    assert "highest-contrast set, digits, is learned best" in supported.why
    assert "(the contrast order)" in supported.why
    refuted = crossdata.contrast_claim(rows(HIGH, LOW, MID), cfg)
    assert refuted.verdict == "refuted" and "faces is learned better" in refuted.why
    open_ = crossdata.contrast_claim(rows(WIDE, MID, HIGH), cfg)
    assert open_.verdict == "inconclusive" and "includes 0" in open_.why
    one_seed = crossdata.contrast_claim(rows([1.0], [2.0], [3.0], seeds=[0]), cfg)
    assert one_seed.verdict == "inconclusive" and one_seed.leaning == "supported"
    assert one_seed.low is None and one_seed.high is None
    assert "1 training seed," in one_seed.why


def test_contrast_claim_notes_when_the_best_set_is_also_the_smallest(cfg):
    small = rows(HIGH, LOW, MID, faces={"train_images": 80, "images_seen": 25_600})
    claim = crossdata.contrast_claim(small, cfg)
    assert "smallest training set (80 images, each seen about 320 times)" in claim.why
    assert "smallest" not in crossdata.contrast_claim(rows(HIGH, LOW, MID), cfg).why


@pytest.mark.parametrize("share, control, verdict, words", [
    ([0.30, 0.32, 0.28], [0.70, 0.72, 0.68], "supported", "near-copies"),
    ([0.30, 0.32, 0.28], [1.00, 1.02, 0.98], "refuted", "blurry averages, not copies"),
    ([0.02, 0.03, 0.01], [0.70, 0.72, 0.68], "refuted", "only 2.0% [-0.5%, 4.5%] fall below"),
    ([0.02, 0.03, 0.01], [1.10, 1.12, 1.08], "refuted", "no closer to"),
    ([0.30, 0.32, 0.28], [0.70, 0.95, 1.10], "inconclusive", "do not both lie clearly"),
    ([0.05, 0.30, 0.15], [0.70, 0.72, 0.68], "inconclusive", "do not both lie clearly"),
])
def test_memorisation_claim_needs_both_intervals_on_their_side(cfg, share, control, verdict,
                                                               words):
    facts = {"digits": {"share_closer_than_held_out_p5": share, "copy_control": control,
                        "memorisation_ratio": [1.6, 1.5, 1.7]}}
    claim = crossdata.memorisation_claim(rows(LOW, MID, HIGH, **facts), cfg)
    assert claim.verdict == verdict and words in claim.why, claim.why
    interval = mean_interval(control)
    assert claim.value == pytest.approx(interval.mean) and claim.low == pytest.approx(
        interval.low) and claim.seed_ids == SEEDS
    assert "the seed's EMNIST run 8,820" in claim.why and "digits here" in claim.claim


def test_memorisation_claim_on_one_seed_leans_without_an_interval(cfg):
    facts = {"digits": {"share_closer_than_held_out_p5": [0.30], "copy_control": [0.7]}}
    claim = crossdata.memorisation_claim(rows([1.0], [2.0], [3.0], seeds=[0], **facts), cfg)
    assert claim.verdict == "inconclusive" and claim.low is None and claim.seed_ids == [0]
    assert claim.leaning == "supported" and "1 training seed," in claim.why


def test_scenic_claim_compares_with_the_worst_of_the_others(cfg):
    supported = crossdata.scenic_claim(rows(LOW, MID, HIGH), cfg)
    assert supported.verdict == "supported" and supported.low > 0
    assert "airplane run had 790, the CelebA run 31,660" in supported.why
    refuted = crossdata.scenic_claim(rows(HIGH, LOW, MID), cfg)
    assert refuted.verdict == "refuted" and "learned better than digits" in refuted.why
    tied = crossdata.scenic_claim(rows(HIGH, LOW, [2.5, 3.0, 2.2]), cfg)
    assert tied.verdict == "inconclusive" and "includes 0" in tied.why
    assert "faces is learned clearly better" in tied.why


def test_a_distant_held_out_split_is_noted(cfg):
    far = rows(LOW, MID, HIGH, photos={"held_out_shift": 4.9})
    assert "4.9 sampling floors" in crossdata.scenic_claim(far, cfg).why
    assert "sampling floors" not in crossdata.scenic_claim(rows(LOW, MID, HIGH), cfg).why


def test_claims_are_recorded_for_the_chapter(tmp_path, cfg):
    from labkit.train import RunDir

    folder = RunDir(tmp_path)
    found = crossdata.check_claims(folder, rows(LOW, MID, HIGH), cfg)
    assert [c.id for c in found] == ["contrast", "memorised", "scenic"]
    loaded = lkclaims.load(folder)
    assert [(c.chapter, c.seed_report, c.seeds, c.seed_ids) for c in loaded] == [
        ("crossdata", "001", 3, SEEDS)] * 3
    assert [c.verdict for c in loaded] == ["supported", "refuted", "supported"]


# --------------------------------------------------------------------------- figures


def png_size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        image.load()
        return image.size


def test_plot_history_comparison_one_line_per_run_and_reference_lines(tmp_path):
    histories = {"digits": fake_history(), "photos": fake_history(epochs=2)}
    fig = crossdata.plot_history_comparison(histories, smooth=5, path=tmp_path / "l.png")
    left, right = fig.axes
    assert left.get_title() == "Loss_D" and right.get_title() == "Loss_G"
    assert [t.get_text() for t in right.get_legend().get_texts()] == ["digits", "photos"]
    assert "ln 4: D outputs 1/2" in [t.get_text() for t in left.get_legend().get_texts()]
    assert png_size(tmp_path / "l.png")[0] == 1200
    fig = crossdata.plot_history_comparison(histories, keys={"d_x": "D(x)"}, smooth=None)
    (ax,) = fig.axes
    assert ax.get_ylim() == (0, 1) and len(ax.lines) == 3  # two runs and the 1/2 line
    with pytest.raises(ValueError):
        crossdata.plot_history_comparison({})


def test_plot_real_vs_fake_rows_mixed_channels(tmp_path):
    pairs = {"digits": (torch.rand(8, 1, 8, 8) * 2 - 1, torch.rand(8, 1, 8, 8) * 2 - 1),
             "photos": (torch.rand(8, 3, 8, 8) * 2 - 1, torch.rand(8, 3, 8, 8) * 2 - 1)}
    fig = crossdata.plot_real_vs_fake_rows(pairs, nrow=4, path=tmp_path / "r.png")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["digits: real", "digits: generated", "photos: real", "photos: generated"]
    assert fig.axes[0].images[0].get_array().ndim == 2  # grey shown as one channel
    assert fig.axes[2].images[0].get_array().ndim == 3
    assert png_size(tmp_path / "r.png") == (900, 920)
    fig = crossdata.plot_real_vs_fake_rows(pairs, titles=("first", "second"))
    assert fig.axes[1].get_title() == "digits: second"
    with pytest.raises(ValueError):
        crossdata.plot_real_vs_fake_rows({})


# --------------------------------------------------------------------------- headless


@pytest.mark.slow
def test_labkit_run_crossdata_writes_the_chapter_folder_and_claims_and_resumes(
        tmp_path, monkeypatch, capsys):
    from labkit.cli import main

    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    # The seed's width skips the width probe; two iterations per dataset and one SWD draw.
    # One training seed (7), to keep it short.
    args = ["run", "crossdata", "--profile", "smoke", "-p", f"out_dir={tmp_path / 'runs'}",
            "-p", "ngf=128", "-p", "ndf=128", "-p", "seeds=[7]", "-p", "epochs=1",
            "-p", "steps_per_epoch=2", "-p", "swd_draws=1"]
    main(args)
    (chapter,) = (tmp_path / "runs").iterdir()
    assert chapter.name.startswith("crossdata-")
    assert {p.name for p in chapter.iterdir() if p.is_dir()} == {
        "digits-seed7", "faces-seed7", "photos-seed7"}
    claims = json.loads((chapter / "claims.json").read_text())
    assert [c["id"] for c in claims] == ["contrast", "memorised", "scenic"]
    assert all(c["verdict"] == "inconclusive" and c["seeds"] == 1 and c["seed_ids"] == [7]
               for c in claims)
    metrics = json.loads((chapter / "metrics.json").read_text())
    assert metrics["swd_ratio_digits"] > 0 and metrics["swd_ratio_digits_low"] is None
    assert "images_per_s_width_128" not in metrics  # no probe at the seed's width
    out = capsys.readouterr().out
    assert f"run folder: {chapter}" in out and "claim scenic: inconclusive (1 seed(s))" in out
    # After a disconnect: the same chapter folder, each dataset continuing its own checkpoint.
    main(args[:-6] + ["-p", "epochs=2", "-p", "steps_per_epoch=2", "-p", "swd_draws=1",
                      "-p", "resume=True"])
    assert list((tmp_path / "runs").iterdir()) == [chapter]
    for name in ("digits", "faces", "photos"):
        history = json.loads((chapter / f"{name}-seed7" / "history.json").read_text())
        assert history["epoch"] == [1, 1, 2, 2]
    assert json.loads((chapter / "config.json").read_text())["resumes"][0]["epochs"] == 2
    assert "Resuming" in capsys.readouterr().out
