"""Chapter 5's module: its configuration, its claim logic on small fake runs, its sentences and
figures, and `labkit run srgan` (headless, resumable)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from labkit.chapters import srgan as chapter
from labkit.claims import INCONCLUSIVE, REFUTED, SUPPORTED

LN2 = math.log(2)

# The profile values of chapter 5 before the chapter modules (labkit/profiles.py, CHAPTERS).
BEFORE = {
    "full": {"dataset": "div2k", "split": "train", "eval_sets": ["set5", "set14", "div2k"],
             "eval_limit": 0, "scale": 4, "hr_size": 96, "crops": 25_600,
             "variant": "paper", "blocks": 16, "features": 64, "d_features": 64,
             "residual": "none", "content": "vgg54", "vgg_weights": "", "batch_size": 16,
             "lr_pretrain": 1e-4, "lr_gan": 1e-4, "beta1": 0.9, "adversarial_weight": 1e-3,
             "pretrain_epochs": 10, "gan_epochs": 5, "steps_per_epoch": 0,
             "frozen_steps": 400, "flip": True, "tile": 128, "overlap": 16,
             "log_every": 200, "num_samples": 16, "threads": 0},
    "cpu": {"dataset": "photos", "split": "train", "eval_sets": ["skimage"], "eval_limit": 0,
            "scale": 4, "hr_size": 48, "crops": 2_000, "variant": "paper", "blocks": 4,
            "features": 32, "d_features": 32, "residual": "bicubic", "content": "mse",
            "vgg_weights": "", "batch_size": 16, "lr_pretrain": 1e-3, "lr_gan": 1e-4,
            "beta1": 0.9, "adversarial_weight": 1e-3, "pretrain_epochs": 6,
            "gan_epochs": 1, "steps_per_epoch": 100, "frozen_steps": 40, "flip": True,
            "tile": 128, "overlap": 16, "log_every": 25, "num_samples": 16, "threads": 1},
    "smoke": {"dataset": "photos", "split": "train", "eval_sets": ["skimage"],
              "eval_limit": 2, "scale": 4, "hr_size": 32, "crops": 128, "variant": "paper",
              "blocks": 1, "features": 32, "d_features": 16, "residual": "bicubic",
              "content": "mse", "vgg_weights": "", "batch_size": 8, "lr_pretrain": 1e-3,
              "lr_gan": 1e-4, "beta1": 0.9, "adversarial_weight": 1e-3,
              "pretrain_epochs": 1, "gan_epochs": 1, "steps_per_epoch": 6,
              "frozen_steps": 4, "flip": True, "tile": 64, "overlap": 8, "log_every": 3,
              "num_samples": 8, "threads": 1},
}
COMMON = {"seed": 0, "out_dir": None, "resume": False, "device": "auto", "data_root": None}
# Issue 15: every offline photograph not trained on ("skimage"), and training seeds.
SEEDS = {"full": 3, "cpu": 1, "smoke": 2}


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("profile", ["smoke", "cpu", "full"])
def test_profiles_keep_the_values_they_had(profile):
    download = {"download": profile == "full"}  # added with checksummed downloads (issue 13)
    assert chapter.Config.defaults(profile) == {**COMMON, **download, **BEFORE[profile],
                                                "seeds": SEEDS[profile]}


@pytest.mark.parametrize("bad, message", [
    ({"hr_size": 30}, r"hr_size=30 must be a multiple of scale=4"),
    ({"variant": "lab"}, r"residual='bicubic': variant='lab'"),
    ({"content": "vgg99"}, r"content='vgg99': allowed values"),
    ({"eval_sets": []}, r"eval_sets=\[\]"),
    ({"eval_sets": ["skimage", "skimage"]}, r"each set once"),
    ({"seeds": 0}, r"seeds=0"),
    ({"scale": 3}, r"scale=3: allowed values"),
])
def test_bad_parameters_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        chapter.Config.resolve("smoke", **bad)


def test_stages_train_with_their_own_settings():
    cfg = chapter.Config.resolve("cpu", resume=True)
    srresnet, gan, frozen = (chapter.stage_config(cfg, s) for s in chapter.STAGES)
    assert (srresnet.epochs, srresnet.lr_g, srresnet.max_steps_per_epoch) == (6, 1e-3, 100)
    assert (gan.epochs, gan.lr_g, gan.lr_d, gan.max_steps_per_epoch) == (1, 1e-4, 1e-4, 100)
    assert (frozen.epochs, frozen.max_steps_per_epoch, frozen.log_every) == (1, 40, 10)
    assert srresnet.betas_g == (0.9, 0.999) and srresnet.resume is True
    assert chapter.stage_config(cfg.replace(steps_per_epoch=0), "srgan").max_steps_per_epoch is None


def test_a_vgg_content_loss_without_weights_fails_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_VGG19_WEIGHTS", str(tmp_path / "missing.pth"))
    with pytest.raises(FileNotFoundError, match="LABKIT_VGG19_WEIGHTS"):
        chapter.check_ready(chapter.Config.resolve("smoke", content="vgg54"))
    chapter.check_ready(chapter.Config.resolve("smoke"))  # MSE needs no weights


def test_every_stage_starts_from_the_same_discriminator():
    cfg = chapter.Config.resolve("smoke")
    (_, d1), (_, d2) = chapter.build_models(cfg), chapter.build_models(cfg)
    assert all(torch.equal(a, b) for a, b in zip(d1.state_dict().values(),
                                                 d2.state_dict().values()))


# --------------------------------------------------------------------------- claims


def history(loss_d_half, d_x=0.5, epochs: int = 2) -> dict:
    """An engine history whose Loss_D / 2 takes the given values, split into epochs."""
    values = list(np.broadcast_to(loss_d_half, (10,)))
    return {"step": list(range(1, 11)), "epoch": [1 + i * epochs // 10 for i in range(10)],
            "loss_d": [2 * v for v in values], "d_x": [d_x] * 10, "d_g_z1": [d_x] * 10}


def per_image(differences: dict[str, list[float] | dict[int, list[float]]],
              base: list[float] | None = None) -> list[dict]:
    """Per-image PSNR rows: bicubic (no seed) at `base`, each method at base + its differences,
    given per image (training seed 0) or as {seed: per image}."""
    by_seed = {m: d if isinstance(d, dict) else {0: d} for m, d in differences.items()}
    count = len(next(iter(next(iter(by_seed.values())).values())))
    base = base or [28.0] * count
    rows = [{"set": "photos", "image": f"im{i}", "method": chapter.BICUBIC, "seed": None,
             "psnr": b, "ssim": 0.8} for i, b in enumerate(base)]
    for method, seeds in by_seed.items():
        rows += [{"set": "photos", "image": f"im{i}", "method": method, "seed": seed,
                  "psnr": b + d, "ssim": 0.8 + d / 100}
                 for seed, diffs in seeds.items() for i, (b, d) in enumerate(zip(base, diffs))]
    return rows


def by_id(found) -> dict:
    return {c.id: c for c in found}


def one(h: dict) -> dict:
    return {0: h}


SMOKE = chapter.Config.resolve("smoke")
GOOD_SR = per_image({chapter.SRRESNET: [0.70, 0.72, 0.71, 0.69, 0.70],
                     chapter.SRGAN: [0.40, 0.41, 0.43, 0.39, 0.40]})
T2 = 4.302653  # Student-t, 95 %, 2 degrees of freedom (3 seeds)


def test_a_frozen_discriminator_at_ln2_leans_to_the_report_but_one_seed_decides_nothing():
    found = by_id(chapter.claims(SMOKE, GOOD_SR, one(history(0.60)),
                                 one(history(LN2 + 2e-5))))
    plateau = found["d_loss_ln2"]
    assert plateau.verdict == INCONCLUSIVE and plateau.leaning == SUPPORTED
    assert plateau.seeds == 1 and plateau.seed_ids == [0] and not plateau.deterministic
    assert "stayed within 2e-05 of ln 2" in plateau.why
    moved = by_id(chapter.claims(SMOKE, GOOD_SR, one(history(0.60)),
                                 one(history([LN2] * 9 + [0.68]))))
    assert moved["d_loss_ln2"].leaning == REFUTED and "moved up to 0.013 away" in moved[
        "d_loss_ln2"].why


def test_three_frozen_discriminators_at_ln2_support_the_report():
    frozen = {s: history(LN2 + d) for s, d in ((0, 1e-5), (1, 2e-5), (2, 3e-5))}
    trained = {s: history(0.60) for s in frozen}
    found = by_id(chapter.claims(SMOKE, per_image({m: {s: [0.5, 0.5] for s in frozen}
                                                   for m in chapter.TRAINED}),
                                 trained, frozen))
    plateau = found["d_loss_ln2"]
    assert plateau.verdict == SUPPORTED and plateau.seed_ids == [0, 1, 2]
    assert plateau.value == pytest.approx(2e-5)
    assert plateau.high == pytest.approx(2e-5 + T2 * 1e-5 / math.sqrt(3), rel=1e-4)
    assert found["d_cannot_tell"].verdict == REFUTED and found["d_cannot_tell"].seeds == 3
    with pytest.raises(ValueError, match="same training seeds"):
        chapter.claims(SMOKE, GOOD_SR, trained, one(history(LN2)))


def test_a_discriminator_that_learns_leaves_ln2_against_the_head_start_reading():
    left = by_id(chapter.claims(SMOKE, GOOD_SR, one(history([0.69] * 5 + [0.60] * 5)),
                                one(history(LN2))))
    reading = left["d_cannot_tell"]
    assert reading.leaning == REFUTED and reading.value == pytest.approx(0.60)  # last epoch
    assert "fell to 0.6000" in reading.why and "content loss mse" in reading.measurement
    stayed = by_id(chapter.claims(SMOKE, GOOD_SR, one(history(LN2 - 0.005)), one(history(LN2))))
    assert stayed["d_cannot_tell"].leaning == SUPPORTED
    assert "could not tell" in stayed["d_cannot_tell"].why


def test_psnr_claims_pair_the_images_and_follow_the_papers_ordering():
    found = by_id(chapter.claims(SMOKE, GOOD_SR, one(history(0.6)), one(history(LN2))))
    assert found["srresnet_above_bicubic"].leaning == SUPPORTED
    assert found["clearer_than_input"].leaning == SUPPORTED
    assert found["srgan_below_srresnet"].leaning == SUPPORTED  # 0.3 dB below SRResNet
    assert found["srresnet_above_bicubic"].value == pytest.approx(0.704)
    assert all(c.verdict == INCONCLUSIVE and c.seeds == 1 and c.seed_ids == [0]
               for c in found.values())
    # Images of very different difficulty, every one improved by about 0.5 dB, on 3 seeds:
    # the paired differences lie above 0, though the unpaired means' spread is wide.
    varied = per_image({chapter.SRRESNET: {s: [0.5, 0.52, 0.48, 0.51] for s in (4, 5, 6)},
                        chapter.SRGAN: {s: [0.6 + s / 100] * 4 for s in (4, 5, 6)}},
                       base=[22.0, 35.0, 27.0, 31.0])
    three = {s: history(0.6) for s in (4, 5, 6)}
    paired = by_id(chapter.claims(SMOKE, varied, three, {s: history(LN2) for s in three}))
    assert paired["srresnet_above_bicubic"].verdict == SUPPORTED
    assert paired["srresnet_above_bicubic"].seed_ids == [4, 5, 6]
    assert paired["srgan_below_srresnet"].verdict == REFUTED  # SRGAN above SRResNet here


def test_the_psnr_interval_is_student_t_over_the_seeds_means_over_the_images():
    # Seed means of the per-image differences: 0.6, 0.4, 0.5 -> mean 0.5, sd 0.1. Over the
    # six (seed, image) values the interval would be narrower; over the images wider.
    diffs = {0: [0.5, 0.7], 1: [0.3, 0.5], 2: [0.6, 0.4]}
    rows = per_image({chapter.SRRESNET: diffs, chapter.SRGAN: diffs}, base=[25.0, 31.0])
    three = {s: history(0.6) for s in diffs}
    found = by_id(chapter.claims(SMOKE, rows, three, {s: history(LN2) for s in diffs}))
    claim = found["srresnet_above_bicubic"]
    half = T2 * 0.1 / math.sqrt(3)
    assert claim.value == pytest.approx(0.5) and claim.seeds == 3
    assert (claim.low, claim.high) == (pytest.approx(0.5 - half), pytest.approx(0.5 + half))
    assert claim.verdict == SUPPORTED and "seed 1: 0.4" in claim.why
    # SRGAN against SRResNet pairs seed with seed: identical per seed -> exactly 0
    assert found["srgan_below_srresnet"].value == pytest.approx(0.0)
    # Seeds that disagree: the interval straddles 0, whatever each seed's images say.
    mixed = per_image({chapter.SRRESNET: {0: [1.0, 1.0], 1: [-0.9, -0.9], 2: [0.2, 0.2]},
                       chapter.SRGAN: {s: [0.1, 0.1] for s in (0, 1, 2)}})
    unclear = by_id(chapter.claims(SMOKE, mixed, three, {s: history(LN2) for s in diffs}))
    assert unclear["srresnet_above_bicubic"].verdict == INCONCLUSIVE
    assert unclear["srresnet_above_bicubic"].leaning is None
    assert "straddles 0" in unclear["srresnet_above_bicubic"].why


def test_the_table_keeps_the_spread_over_images_apart_from_the_spread_over_seeds():
    diffs = {0: [0.5, 0.7], 1: [0.3, 0.5], 2: [0.6, 0.4]}
    rows = {r["method"]: r for r in chapter.summary_rows(
        per_image({chapter.SRRESNET: diffs}, base=[25.0, 31.0]))}
    bicubic, srresnet = rows[chapter.BICUBIC], rows[chapter.SRRESNET]
    assert bicubic["seeds"] == 0 and bicubic["psnr_seeds_low"] != bicubic["psnr_seeds_low"]  # NaN
    assert srresnet["images"] == 2 and srresnet["seeds"] == 3
    assert srresnet["psnr"] == pytest.approx(28.5)
    # over the seeds: the seeds' means 28.6, 28.4, 28.5
    half = T2 * 0.1 / math.sqrt(3)
    assert srresnet["psnr_seeds_low"] == pytest.approx(28.5 - half)
    # over the images: each image's mean over the seeds, 25.4667 and 31.5333 (t with 1 dof)
    images = [25.0 + 1.4 / 3, 31.0 + 1.6 / 3]
    half = 12.7062 * abs(images[1] - images[0]) / math.sqrt(2) / math.sqrt(2)
    assert srresnet["psnr_images_high"] == pytest.approx(np.mean(images) + half, rel=1e-4)
    assert (srresnet["psnr_min"], srresnet["psnr_max"]) == (pytest.approx(images[0]),
                                                            pytest.approx(images[1]))
    differences = chapter.difference_rows(per_image({chapter.SRRESNET: diffs,
                                                     chapter.SRGAN: diffs}))
    srresnet = [r for r in differences if r["method"] == chapter.SRRESNET]
    assert [r["seed"] for r in srresnet] == [0, 1, 2, "all"]
    assert [r["interval over"] for r in srresnet] == ["images"] * 3 + ["seeds"]
    assert srresnet[1]["psnr_difference"] == pytest.approx(0.4)
    assert srresnet[3]["psnr_low"] == pytest.approx(0.5 - T2 * 0.1 / math.sqrt(3))


# --------------------------------------------------------------------------- evaluation set


def test_the_offline_evaluation_set_is_every_photograph_training_does_not_use():
    from skimage import data

    from labkit.data.offline import PHOTOS, photo_files

    folder = Path(data.__file__).parent
    training = {f.name for f in photo_files("train")}
    assert training == {PHOTOS[n] for n in PHOTOS if n not in ("chelsea", "coffee")}
    listed = {f.stem for f in folder.iterdir() if f.suffix in (".png", ".jpg")
              and f.name not in training and f.name not in chapter.NOT_PHOTOGRAPHS}
    evaluation = chapter.load_evaluation(chapter.Config.resolve("cpu"))
    assert list(evaluation) == ["skimage"]
    assert set(evaluation["skimage"]) == listed and {"chelsea", "coffee", "camera"} <= listed
    assert not {Path(name).stem for name in training} & set(evaluation["skimage"])
    for image in evaluation["skimage"].values():
        assert image.dtype == torch.uint8 and image.shape[0] == 3
        assert image.shape[1] % 4 == 0 and image.shape[2] % 4 == 0  # modcropped
    # the held-out colour photographs first: smoke's eval_limit 2 scores the two it scored before
    assert list(chapter.load_evaluation(SMOKE)["skimage"]) == ["chelsea", "coffee"]


def test_an_evaluation_image_that_training_uses_stops_the_chapter(monkeypatch):
    from labkit.data import load_images

    training = load_images("photos", split="train")
    same = {"renamed": training["rocket"].clone(), "fine": torch.zeros(3, 8, 8, dtype=torch.uint8)}
    with pytest.raises(ValueError, match=r"skimage/renamed \(= training image 'rocket'\)"):
        chapter.assert_disjoint(training, {"skimage": same}, 4)
    with pytest.raises(ValueError, match="skimage/astronaut"):  # by name
        chapter.assert_disjoint(training, {"skimage": {"astronaut": same["fine"]}}, 4)
    chapter.assert_disjoint(training, {"skimage": {"fine": same["fine"]}}, 4)
    # the loading path checks it: a training photograph slipped into the evaluation files
    files = chapter.offline_evaluation_files()
    leaked = {**files, "astronaut": files["chelsea"].parent / "astronaut.png"}
    monkeypatch.setattr(chapter, "offline_evaluation_files", lambda: leaked)
    with pytest.raises(ValueError, match="evaluation images that training uses"):
        chapter.load_evaluation(chapter.Config.resolve("cpu"))


def test_seeds_name_their_child_runs_and_their_training_settings():
    cfg = chapter.Config.resolve("smoke", seed=3, seeds=3)
    assert chapter.seed_ids(cfg) == [3, 4, 5]
    assert [chapter.stage_name(cfg, "srgan", s) for s in (3, 4)] == ["srgan", "srgan-seed4"]
    assert chapter.stage_config(cfg, "srresnet", 5).seed == 5
    assert chapter.stage_config(cfg, "srresnet").seed == 3
    (_, d3), (_, d4) = chapter.build_models(cfg, 3), chapter.build_models(cfg, 4)
    assert not all(torch.equal(a, b) for a, b in zip(d3.state_dict().values(),
                                                     d4.state_dict().values()))


def scores(srresnet: float, srgan: float, torch_bicubic: float = 0.1) -> chapter.Scores:
    rows = [{"set": "photos", "images": 2, "method": m, "psnr": 28.0 + d, "ssim": 0.8 + d / 100}
            for m, d in ((chapter.BICUBIC, 0.0), (chapter.TORCH_BICUBIC, torch_bicubic),
                         (chapter.SRRESNET, srresnet), (chapter.SRGAN, srgan))]
    return chapter.Scores(rows, [], {}, "photos", "im0")  # comparisons read the means only


def test_comparisons_choose_their_words_by_the_numbers():
    lines = chapter.comparisons(scores(0.7, 0.5), SMOKE)
    assert lines[0] == ("photos: SRResNet is +0.70 dB above bicubic (SSIM +0.0070); SRGAN is "
                        "-0.20 dB below SRResNet")
    assert "+0.10 dB is the sharper PyTorch kernel" in lines[1]
    assert "training added +0.60 dB" in lines[1]
    worse = chapter.comparisons(scores(-0.3, 0.1), SMOKE.replace(residual="none"))
    assert worse == ["photos: SRResNet is -0.30 dB below bicubic (SSIM -0.0030); SRGAN is "
                     "+0.40 dB above SRResNet"]


def test_stall_statistics_put_the_engine_loss_on_the_lab_scale(tmp_path):
    trained = SimpleNamespace(history=history([0.69] * 5 + [0.6] * 5, d_x=0.7))
    frozen = SimpleNamespace(history=history([LN2 + 1e-4, LN2 - 2e-4] * 5, d_x=0.498))
    folder = chapter.RunDir(tmp_path)
    stats = chapter.stall_statistics(trained, frozen, folder)
    assert stats["frozen_ln2_distance"] == pytest.approx(2e-4)
    assert stats["trained_loss_d_half_last_epoch"] == pytest.approx(0.6)
    assert folder.read_metrics()["frozen_d_x"] == pytest.approx(0.498)
    lines = chapter.stall_report(stats)
    assert lines[0] == "ln 2 = 0.6931" and "never below ln 2: True" in lines[1]
    assert "Loss_D/2 0.6000 in its last epoch" in lines[3]


# --------------------------------------------------------------------------- figures


def png_size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        image.load()
        return image.size


def sr_history(steps: int = 10, with_d: bool = True) -> dict:
    """A super-resolution history in the engine's format."""
    rng = np.random.default_rng(0)
    h = {"step": list(range(1, steps + 1)), "epoch": [1 + 2 * i // steps for i in range(steps)],
         "loss_d": (1.4 - np.linspace(0, 0.8, steps)).tolist(),
         "d_x": rng.uniform(0.5, 0.9, steps).tolist(),
         "d_g_z1": rng.uniform(0.1, 0.5, steps).tolist(),
         "loss_content": np.linspace(0.02, 0.005, steps).tolist()}
    if not with_d:
        for key in ("loss_d", "d_x", "d_g_z1"):
            h[key] = [0.0] * steps
    return h


def test_sr_comparison_marks_the_box_and_enlarges_the_lr_input(tmp_path):
    hr = torch.rand(3, 32, 32) * 2 - 1
    lr = hr[:, ::4, ::4]
    fig = chapter.plot_sr_comparison({"LR": lr, "bicubic": hr, "HR": hr}, box=(4, 8, 12),
                                     scores={"bicubic": "25.00 dB"}, path=tmp_path / "sr.png")
    top, zoom = fig.axes[:3], fig.axes[3:]
    assert [ax.get_title() for ax in top] == ["LR", "bicubic\n25.00 dB", "HR"]
    assert all(ax.images[0].get_array().shape[:2] == (32, 32) for ax in top)  # LR enlarged ×4
    assert all(ax.images[0].get_array().shape[:2] == (12, 12) for ax in zoom)
    assert len(top[1].patches) == 1  # the red box
    assert png_size(tmp_path / "sr.png")[0] > 500
    with pytest.raises(ValueError):
        chapter.plot_sr_comparison({}, box=(0, 0, 4))


def test_sr_losses_puts_the_stages_one_after_the_other(tmp_path):
    fig = chapter.plot_sr_losses({"SRResNet": sr_history(10, with_d=False),
                                  "SRGAN": sr_history(10)}, smooth=None,
                                 path=tmp_path / "losses.png")
    content, adversarial = fig.axes
    lines = [line for line in content.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in lines] == ["SRResNet", "SRGAN"]
    assert lines[1].get_xdata()[0] == 11  # stage 2 continues the step axis
    labels = [t.get_text() for t in adversarial.get_legend().get_texts()]
    assert labels == ["Loss_D: SRGAN", "ln 4: D outputs 1/2"]  # stage 1 has no discriminator
    assert (tmp_path / "losses.png").is_file()


def test_discriminator_stall_shows_ln2_on_the_lab_scale(tmp_path):
    frozen = sr_history(10)
    frozen["loss_d"] = [2 * np.log(2)] * 10
    fig = chapter.plot_discriminator_stall({"trained": sr_history(10), "frozen": frozen},
                                           reference={"report": [0.6932, 0.6933, 0.6932]},
                                           path=tmp_path / "ln2.png")
    reported, loss, probability = fig.axes
    assert reported.get_lines()[0].get_ydata().tolist() == [0.6932, 0.6933, 0.6932]
    halved = [line for line in loss.get_lines() if line.get_label() == "frozen"][0]
    assert np.allclose(halved.get_ydata(), np.log(2))  # Loss_D / 2 on the report's scale
    assert len(probability.get_lines()) == 5  # D(x) and D(G(z)) per run, and 1/2
    assert png_size(tmp_path / "ln2.png")[0] > 800
    assert len(chapter.plot_discriminator_stall({"frozen": frozen}).axes) == 2


# --------------------------------------------------------------------------- labkit run srgan


@pytest.mark.slow
def test_labkit_run_srgan_writes_the_chapter_folder_and_resumes_it(tmp_path, monkeypatch,
                                                                   capsys):
    from labkit.cli import main

    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    args = ["run", "srgan", "--profile", "smoke", "-p", "steps_per_epoch=2", "-p",
            "frozen_steps=2", "-p", "log_every=1", "-p", f"out_dir={tmp_path / 'runs'}"]
    main(args)
    (folder,) = (tmp_path / "runs").iterdir()
    config = json.loads((folder / "config.json").read_text())
    assert config["chapter"] == "srgan" and config["parameters"]["steps_per_epoch"] == 2
    for stage in chapter.STAGES:
        assert (folder / stage / "checkpoints" / "last.pt").is_file(), stage
        assert json.loads((folder / stage / "config.json").read_text())["stage"] == stage
    claims = json.loads((folder / "claims.json").read_text())
    assert [c["id"] for c in claims] == ["d_loss_ln2", "d_cannot_tell", "clearer_than_input",
                                         "srresnet_above_bicubic", "srgan_below_srresnet"]
    assert all(c["verdict"] == "inconclusive" and c["seeds"] == 2 and c["seed_ids"] == [0, 1]
               for c in claims)
    for stage in chapter.STAGES:  # the second training seed's runs
        assert json.loads((folder / f"{stage}-seed1" / "config.json").read_text())["seed"] == 1
    out = capsys.readouterr().out
    assert f"run folder: {folder}" in out and "claim d_loss_ln2: inconclusive (2 seed(s))" in out

    main(args + ["-p", "resume=true"])  # continues the same folder; every stage is done
    assert list((tmp_path / "runs").iterdir()) == [folder]
    assert capsys.readouterr().out.count("already holds 1 epochs; nothing to train") == 6
    assert json.loads((folder / "claims.json").read_text()) == claims


def test_the_figures_show_the_largest_colour_image():
    grey = torch.randint(0, 256, (1, 64, 64), dtype=torch.uint8).expand(3, 64, 64).clone()
    colour = torch.randint(0, 256, (3, 32, 48), dtype=torch.uint8)
    found = chapter.evaluate(SMOKE, {"skimage": {"grey": grey, "colour": colour}},
                             {chapter.BICUBIC: None})
    assert (found.shown_set, found.shown_image) == ("skimage", "colour")
    assert found.shown["HR"] is colour and found.seeds == []
    only_grey = chapter.evaluate(SMOKE, {"skimage": {"small": grey[:, :32, :32], "big": grey}},
                                 {chapter.BICUBIC: None})
    assert only_grey.shown_image == "big"
