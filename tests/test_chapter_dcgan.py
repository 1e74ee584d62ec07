"""Chapter 2 (labkit.chapters.dcgan) without the notebook: the full profile is seed 000's
regime, the reference set of the quality metric, the training seeds the claims rest on."""

from __future__ import annotations

import pytest
import torch

from labkit.chapters import dcgan
from labkit.data import load


@pytest.fixture(autouse=True)
def offline_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))


def test_the_full_profile_is_seed_000s_regime():
    """Seed 000: 4000 CelebA images at 64×64, batches of 128, 15 trainings of 10 epochs."""
    full = dcgan.Config.resolve("full")
    seed = dcgan.SEED_REGIME
    assert (full.dataset, full.subset, full.image_size, full.channels) == (
        "celeba", 4000, 64, 3)
    assert seed["subset"] == 4000 and seed["image_size"] == 64 and seed["batch_size"] == 128
    assert (seed["trainings"], seed["epochs_per_training"]) == (15, 10)
    assert full.subset == seed["subset"] and full.image_size == seed["image_size"]
    assert full.batch_size == seed["batch_size"]
    assert full.epochs == seed["trainings"] * seed["epochs_per_training"] == 150
    assert full.data_repeats == 1 and not full.flip  # one pass per epoch, no augmentation
    assert (full.nz, full.ngf, full.ndf, full.lr_d, full.lr_g, full.beta1) == (
        100, 64, 64, 2e-4, 2e-4, 0.5)
    # FID after each of the seed's 10-epoch trainings, against 10,000 real images (the subset
    # among them), on 10,000 generated
    assert full.eval_every == seed["epochs_per_training"]
    assert full.metric == "fid" and full.eval_samples == full.reference_images == 10_000
    assert full.reference_images > full.subset
    # gpu-offline trains on the offline faces: no CelebA subset, no larger reference set
    offline = dcgan.Config.resolve("gpu-offline")
    assert offline.subset is None and offline.reference_images is None


def test_the_reference_set_is_the_training_images_unless_a_larger_one_is_asked():
    cfg = dcgan.Config.resolve("smoke", eval_samples=40)
    cfg, data = dcgan.load_data(cfg)
    assert len(dcgan.reference_images(cfg, data)) == 40
    small = dcgan.Config.resolve("smoke", subset=20, reference_images=60)
    small, data = dcgan.load_data(small)
    assert len(data) == 20
    reference = dcgan.reference_images(small, data)
    assert reference.shape[0] == 60 and reference.dtype == torch.float32
    # the first 60 images of the split: the 20 training images are its first 20
    expected = load("faces", split="all", image_size=32, channels=1, subset=60)
    assert torch.equal(reference, expected.float_images())
    assert torch.equal(reference[:20], data.float_images())


def test_the_evaluator_keeps_a_best_checkpoint_only_from_the_images_the_rule_asks(recwarn):
    """The sample-size rule in the chapter: best.pt only from SELECTION_MIN_N images of each
    side; a quick run with fewer records the curve (and warns) instead of stopping."""
    cfg, data = dcgan.load_data(dcgan.Config.resolve("smoke"))
    least = dcgan.SELECTION_MIN_N["swd"]
    assert cfg.metric == "swd" and cfg.eval_samples >= least
    assert dcgan.evaluator(cfg, data).keep_best
    quick = cfg.replace(eval_samples=least - 1)
    with pytest.warns(UserWarning, match="no best checkpoint is chosen"):
        recorder = dcgan.evaluator(quick, data)
    assert not recorder.keep_best and recorder.min_samples == least
    assert not dcgan.keeps_best(cfg, real=least - 1)  # the real side counts too
    assert dcgan.SELECTION_MIN_N["fid"] >= 2048  # no fewer than Inception's dimensions


def study_of(shares: dict[int, float], name: str) -> dict[int, dcgan.SizeStudy]:
    """Per seed, a SizeStudy of two pools whose draws of 10 rank them right in `share` of 20
    draws and always from 50 on."""
    found = {}
    for seed, share in shares.items():
        right = round(20 * share)
        values = {"early": {10: [2.0] * 20, 50: [2.0] * 20},
                  "late": {10: [1.0] * right + [3.0] * (20 - right), 50: [1.0] * 20}}
        found[seed] = dcgan.SizeStudy(name, [10, 50], values, {"early": 1.5, "late": 0.5},
                                      {"early": 3000, "late": 3000}, 20, False)
    return found


def test_report_002s_selection_claim_follows_the_study():
    cfg = dcgan.Config.resolve("cpu")
    assert cfg.replicates == 3
    reliable = {"fid": study_of({0: 1.0, 1: 1.0, 2: 1.0}, "fid")}
    claim = dcgan.selection_claim(reliable, cfg)
    assert claim.id == "select_on_10" and claim.seed_report == "002"
    assert claim.verdict == "supported" and claim.seed_ids == [0, 1, 2]
    assert "from n = 10" in claim.why
    # one seed at 0.95 widens the t-interval of three (t = 4.30) across the level
    nearly = dcgan.selection_claim({"fid": study_of({0: 1.0, 1: 0.95, 2: 1.0}, "fid")}, cfg)
    assert nearly.verdict == "inconclusive" and nearly.low < dcgan.SELECTION_LEVEL
    chance = {"fid": study_of({0: 0.5, 1: 0.4, 2: 0.6}, "fid")}
    claim = dcgan.selection_claim(chance, cfg)
    assert claim.verdict == "refuted" and "from n = 50" in claim.why
    assert claim.value == pytest.approx(0.5)
    # offline (pixels, not Inception's features): no verdict, the leaning kept
    offline = dcgan.selection_claim({"fd_pixels": study_of({0: 0.5, 1: 0.4, 2: 0.6},
                                                           "fd_pixels")}, cfg)
    assert offline.verdict == "inconclusive" and offline.leaning == "refuted"
    assert "pooled pixels" in offline.why
    # one checkpoint (the first evaluation is the last epoch): nothing to rank
    single = cfg.replace(epochs=cfg.eval_every)
    assert dcgan.EarlyPool(single).epoch is None
    claim = dcgan.selection_claim({}, single)
    assert claim.verdict == "inconclusive" and "nothing to rank" in claim.why
    assert claim.seed_ids == [0, 1, 2]


def test_report_002s_pipeline_feeds_d_other_real_ranges_from_the_same_seed():
    cfg = dcgan.Config.resolve("smoke").replace(pipeline_steps=2, pipeline_width=8,
                                                pipeline_batch=4, pipeline_evals=1)
    assert dcgan.Config.resolve("cpu").pipeline_seeds == 1
    assert dcgan.Config.resolve("full").pipeline_seeds == 3
    assert dcgan.Config.resolve("full").pipeline_width == 1024  # the report's model
    faces = dcgan.pipeline_faces(cfg)
    assert faces.images.shape[1:] == (1, 64, 64) and faces.images.dtype == torch.uint8
    assert "center crop" in dcgan.PIPELINE_CROP and "no face detector" in dcgan.PIPELINE_CROP
    real = {name: dcgan.real_pixels(faces.images, name) for name in dcgan.PIPELINES}
    assert (real["report"].min(), real["report"].max()) == (0.0, 1.0)
    assert (real["matched"].min(), real["matched"].max()) == (-1.0, 1.0)
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    found = dcgan.compare_pipelines(cfg, faces)
    assert torch.equal(torch.rand(3), before)  # the chapter's own random streams untouched
    (seed,) = found
    report, matched = found[seed]["report"], found[seed]["matched"]
    # what D saw: real pixels in [0, 1] vs [-1, 1]; the same first fakes (same weights, noise)
    assert min(report["real_min"]) >= 0 and max(report["real_max"]) <= 1
    assert min(matched["real_min"]) < 0
    assert report["fake_min"][0] == matched["fake_min"][0]
    assert report["fake_max"][0] == matched["fake_max"][0]
    assert report["eval_step"] == matched["eval_step"] == [2]
    assert matched["outside"] == [0.0]  # Tanh cannot leave [-1, 1]
    assert 0 < report["outside"][0] <= 1  # a fresh Tanh generator puts pixels below 0
    rows = dcgan.pipeline_rows(found)
    assert [r["real pixels"] for r in rows] == ["[0, 1]", "[-1, 1]"]
    # the signed reading: the report's pipeline reads G's output as [0, 1] pixels, clipped
    fake = torch.tensor([-0.5, 0.0, 0.5, 1.0])
    assert dcgan.as_signed(fake, "report").tolist() == [-1.0, -1.0, 0.0, 1.0]
    assert dcgan.as_signed(fake, "matched").tolist() == fake.tolist()
    assert dcgan.outside_share(fake, "report") == 0.25


def test_report_002s_pipeline_claim_needs_three_seeds_either_way():
    one = dcgan.pipeline_claim({0: 900.0}, {0: 500.0}, "cpu")
    assert one.verdict == "inconclusive" and one.leaning == "supported"
    assert one.seeds == 1 and one.seed_ids == [0] and one.seed_report == "002"
    assert "no face detector" in one.measurement
    seeds = [0, 1, 2]
    better = dcgan.pipeline_claim(dict(zip(seeds, [900.0, 950.0, 920.0])),
                                  dict(zip(seeds, [500.0, 520.0, 540.0])), "full")
    assert better.verdict == "supported" and better.seed_ids == seeds
    assert better.value == pytest.approx((400 + 430 + 380) / 3)
    worse = dcgan.pipeline_claim(dict(zip(seeds, [500.0, 520.0, 540.0])),
                                 dict(zip(seeds, [900.0, 950.0, 920.0])), "full")
    assert worse.verdict == "refuted" and worse.high < 0
    mixed = dcgan.pipeline_claim(dict(zip(seeds, [500.0, 950.0, 700.0])),
                                 dict(zip(seeds, [900.0, 520.0, 700.0])), "full")
    assert mixed.verdict == "inconclusive" and mixed.low < 0 < mixed.high
