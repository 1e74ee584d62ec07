"""`labkit estimate`: FLOP counting, the full profile's arithmetic, the time model, the output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labkit import estimate
from labkit.chapters import ablations, cgan, crossdata, dcgan, srgan, stabilisers, theory
from labkit.chapters import names as chapter_names
from labkit.data import gaussian_mixture_1d
from labkit.models import mlp_gan, tiled_upscale
from labkit.train import TrainConfig, train_gan


def test_count_flops_of_a_tiny_conv_net_is_the_analytic_count():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(8 * 16 * 16, 10))
    x = torch.randn(2, 3, 16, 16)
    conv = 2 * 2 * 8 * 16 * 16 * (3 * 3 * 3)  # 2 FLOPs per multiply-add, per output value
    linear = 2 * 2 * (8 * 16 * 16) * 10
    assert estimate.count_flops(lambda: net(x)) == conv + linear


def test_iteration_flops_follow_the_engine_steps():
    """G: z -> Linear(nz, d); D: Linear(d, 1). D's step: forward on real and (detached) fake and
    D's weight gradients; G's step: D forward, D's input gradient (D frozen), G's weight
    gradient (z needs none): 4·B·nz·d + 12·B·d FLOPs."""
    b, nz, d = 8, 5, 7
    generator, discriminator = nn.Linear(nz, d), nn.Linear(d, 1)
    found = estimate.iteration_flops(generator, discriminator, torch.randn(b, d),
                                     (torch.randn(b, nz),))
    assert found == 4 * b * nz * d + 12 * b * d
    without_d = estimate.iteration_flops(generator, discriminator, torch.randn(b, d),
                                         (torch.randn(b, nz),), content=F.mse_loss,
                                         adversarial_weight=0.0)
    assert without_d == 4 * b * nz * d  # SRResNet pre-training: G forward and backward only


def test_meta_counts_equal_counts_on_real_tensors():
    cfg = dcgan.Config.resolve("smoke")
    on_cpu = dcgan.build_models(cfg, estimate.one_image_set(cfg.channels))
    on_meta = estimate.meta(lambda: dcgan.build_models(cfg, estimate.one_image_set(cfg.channels)))
    real = torch.randn(4, cfg.channels, cfg.image_size, cfg.image_size)
    z = torch.randn(4, cfg.nz)
    assert estimate.iteration_flops(*on_cpu, real, (z,)) == estimate.gan_iteration_flops(
        *on_meta, 4, cfg.channels, cfg.image_size)


def test_inception_v3_costs_its_published_5_7_billion_multiply_adds():
    assert 11.0e9 < estimate.inception_flops_per_image() < 12.0e9


def test_iterations_are_those_the_engine_runs(tmp_path):
    data = gaussian_mixture_1d(100, means=(0.0,), stds=1.0, seed=0)
    for extra in ({}, {"max_steps_per_epoch": 9}):
        config = TrainConfig(epochs=2, batch_size=16, data_repeats=2, device="cpu",
                             progress=False, log_every=100, out_dir=str(tmp_path), **extra)
        generator, discriminator = mlp_gan(dim=1, nz=2, hidden=8, layers=1)
        run = train_gan(generator, discriminator, data, config)
        done = sum(epoch["iterations"] for epoch in run.history["epochs"])
        assert done == estimate.iterations(len(data), config) == (18 if extra else 24)


def test_evaluations_follow_the_evaluator_schedule():
    assert estimate.evaluations(5, every=1) == 5
    assert estimate.evaluations(100, every=5) == 20
    assert estimate.evaluations(7, every=3) == 3  # epochs 3, 6 and the last
    assert estimate.evaluations(20, epochs={1, 5, 10, 20}) == 4


def test_tiled_area_is_what_tiled_upscale_feeds_the_network():
    class Recorder(nn.Module):
        scale = 2

        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(()))
            self.area = 0

        def forward(self, x):
            self.area += x.shape[-2] * x.shape[-1]
            return F.interpolate(x, scale_factor=2)

    model = Recorder()
    tiled_upscale(model, torch.zeros(3, 50, 70), tile=16, overlap=4)
    assert model.area == estimate.tiled_area(50, 70, 16, 4)


def test_full_profile_iterations_match_the_configs():
    full = {m.NAME: m.Config.resolve("full") for m in (dcgan, crossdata, cgan, srgan, ablations)}
    c = full["dcgan"]
    assert estimate.estimate_dcgan(c, 1).iterations == (
        c.replicates * min(estimate.CELEBA_TRAIN, c.subset) // c.batch_size * c.epochs)
    c = full["crossdata"]
    assert estimate.estimate_crossdata(c, 1, 1e9).iterations == (
        len(c.seeds) * len(c.datasets) * c.epochs * c.steps_per_epoch)
    c = full["cgan"]
    assert estimate.estimate_cgan(c).iterations == c.subset // c.batch_size * c.epochs
    c = full["srgan"]
    per_epoch = c.crops // c.batch_size
    assert c.seeds == 3 and estimate.estimate_srgan(c).iterations == c.seeds * (
        (c.pretrain_epochs + c.gan_epochs) * per_epoch + c.frozen_steps)
    c = full["ablations"]
    runs = len(ablations.grid_points(c))
    assert runs == len({p.setting for p in ablations.grid_points(c)}) * len(c.seeds)
    # The pre-scan's points train for fewer epochs than the table's: each point counts its own.
    each = [ablations.point_config(p, None) for p in ablations.grid_points(c)]
    assert len({r.epochs for r in each}) > 1
    assert estimate.estimate_ablations(c, 1).iterations == sum(
        r.subset // r.batch_size * r.epochs for r in each)


def test_chapter_1_counts_optimiser_steps():
    cfg = theory.Config.resolve("full")
    per_epoch = cfg.points // cfg.batch_size * cfg.data_repeats
    ring = sum(s.get("d_steps", 1) + 1 for s in cfg.ring_settings) * cfg.ring_epochs
    steps = cfg.dstar_steps * cfg.dstar_seeds + per_epoch * (
        2 * cfg.mixture_epochs + ring + 2 * cfg.explorer_epochs)
    found = estimate.estimate_theory(cfg, seconds_per_step=0.002)
    assert found.iterations == steps
    assert found.seconds(0.2) == found.seconds(1.0) == pytest.approx(steps * 0.002)
    assert found.train_flops == found.eval_flops == 0


def test_toy_step_time_is_measured():
    assert 1e-5 < estimate.toy_seconds_per_step(epochs=1) < 0.5


def test_time_scales_inversely_with_utilisation():
    one_second_each = estimate.Estimate("x", 1, train_flops=estimate.T4_PEAK_FLOPS,
                                        eval_flops=estimate.T4_FP32_FLOPS)
    assert one_second_each.seconds(1.0) == pytest.approx(2.0)
    assert one_second_each.seconds(0.25) == pytest.approx(8.0)
    with_cpu = estimate.Estimate("x", 1, train_flops=estimate.T4_PEAK_FLOPS, cpu_seconds=10)
    assert with_cpu.seconds(0.5) == pytest.approx(12.0)  # the CPU part does not scale


@pytest.fixture(scope="module")
def result():
    """The whole estimate, with the two rates measured here replaced by fixed values."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(estimate, "toy_seconds_per_step", lambda: 0.002)
        patch.setattr(estimate, "float64_cdist_rate", lambda: 3e10)
        return estimate.run_all((0.2, 0.4))


def test_every_chapter_gets_a_row_and_the_markdown_says_estimate(result):
    rows = result["chapters"]
    assert [row["chapter"] for row in rows] == chapter_names()
    for row in rows:
        assert row["seconds_lower_bound"] <= row["seconds_high_utilisation"] <= (
            row["seconds_low_utilisation"])
        assert row["iterations"] > 0
    gpu = [row for row in rows if row["chapter"] != "theory"]
    assert all(row["train_flops"] > 0 for row in gpu)
    text = estimate.markdown(result)
    assert "Estimates, not measurements" in text and "estimate" in text.lower()
    assert "No run on a T4 has measured" in text and "ASSUMED 20%–40%" in text
    table = [line for line in text.splitlines() if line.startswith("| ")][1:]
    assert [line.split(" | ")[0].strip("| ") for line in table] == chapter_names()


def test_cli_writes_json_and_markdown(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(estimate, "run_all", lambda utilisation: {
        **_stub_result(), "utilisation": list(utilisation)})
    from labkit.cli import main

    main(["estimate", "--out", str(tmp_path), "--utilisation", "0.4", "0.1"])
    saved = json.loads((tmp_path / "t4_estimate.json").read_text())
    assert saved["utilisation"] == [0.1, 0.4]
    assert "ASSUMED 10%–40%" in (tmp_path / "t4_estimate.md").read_text()
    with pytest.raises(SystemExit) as stopped:
        main(["estimate", "--out", str(tmp_path), "--utilisation", "0", "0.4"])
    assert stopped.value.code == 2


def _stub_result() -> dict:
    row = {**estimate.asdict(estimate.Estimate("dcgan", 10, 1e15, 1e14, notes=["n"])),
           "seconds_low_utilisation": 600.0, "seconds_high_utilisation": 300.0,
           "seconds_lower_bound": 100.0}
    return {"t4_peak_flops": 65e12, "t4_fp32_flops": 8.1e12, "torch": "x", "made_at": "now",
            "chapters": [row]}


def test_the_books_estimate_is_the_one_the_code_computes_now(result):
    """book/setup.md includes bench/t4_estimate.md: `markdown()` of bench/t4_estimate.json,
    whose iterations and FLOPs are those the code counts now (run `labkit estimate` after
    changing a chapter's full profile or its networks)."""
    root = Path(__file__).resolve().parents[1]
    assert "{include} ../bench/t4_estimate.md" in (root / "book" / "setup.md").read_text()
    saved = json.loads((root / "bench" / "t4_estimate.json").read_text())
    assert (root / "bench" / "t4_estimate.md").read_text() == estimate.markdown(saved)
    for now, then in zip(result["chapters"], saved["chapters"], strict=True):
        assert (now["chapter"], now["iterations"]) == (then["chapter"], then["iterations"])
        assert now["train_flops"] == then["train_flops"]
        assert now["eval_flops"] == then["eval_flops"]


def test_chapter_2_counts_the_model_selection_studys_inception_images():
    """Every evaluation's generated and real images, plus the study's two pools per training
    seed and its reference set (Inception FID on full; the offline study needs no Inception)."""
    c = dcgan.Config.resolve("full")
    evaluated = (c.epochs // c.eval_every + 2 * (c.replicates - 1)) * (
        c.eval_samples + c.reference_images)
    study = 2 * c.selection_pool * c.replicates + c.reference_images
    assert estimate.estimate_dcgan(c, 1).eval_flops == evaluated + study
    assert f"{study:,} of them for the model selection study" in estimate.estimate_dcgan(
        c, 1).notes[0]
    offline = c.replace(metric="swd")
    assert estimate.estimate_dcgan(offline, 1).eval_flops == evaluated


def test_chapter_7_gives_each_method_the_baselines_flops_and_counts_fid_on_cifar10():
    """Chapter 7's runs share one budget: the FLOPs of `budget_steps` baseline steps (a costlier
    step, fewer steps); FID scores EMA and G on 10,000 samples against CIFAR-10's training set."""
    c = stabilisers.Config.resolve("full")
    points = stabilisers.grid_points(c)
    found = estimate.estimate_stabilisers(c, inception=1)
    configs = [stabilisers.point_config(p, None) for p in points]
    wgan = next(r for r in configs if r.method == "wgan_gp")
    per_step = estimate._stabiliser_step_flops(wgan)
    base = estimate._stabiliser_step_flops(wgan.replace(method="baseline"))
    assert 3 < per_step / base < 5  # four extra critic steps, each cheaper than an iteration
    budget = sum(c.budget_steps * estimate._stabiliser_step_flops(r.replace(method="baseline"))
                 for r in configs)
    assert found.train_flops == pytest.approx(budget, rel=0.01)
    fid_runs = sum(stabilisers.metric_of(r.dataset) == "fid" for r in configs)
    assert fid_runs == 7 * len(c.seeds)
    assert found.eval_flops == fid_runs * c.evals * 2 * (c.eval_samples + 50_000)
