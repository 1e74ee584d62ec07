"""`labkit estimate`: each chapter's wall time on a Colab T4 at `full`, ESTIMATED (not measured).

No run on a T4 has measured these times yet. Every number comes from code, none is typed in:

- training: the FLOPs of one training iteration of the chapter's own full-size models (built by
  the chapter module's `build_models` at `Config.resolve("full")`), counted by PyTorch's
  `FlopCounterMode` while the engine's own step functions (`discriminator_step`,
  `generator_step`: D on a real and a fake batch, then G through D, forward and backward) run on
  meta tensors at the full batch size (shapes only, no arithmetic: exact counts in milliseconds),
  times the iterations the full profile runs (epochs × iterations per epoch, as the engine counts
  them);
- evaluation: Inception-v3's FLOPs per image (torchvision's architecture, random weights, meta
  tensors) × the images every FID reads; chapter 4's judging classifier; chapter 5's
  super-resolution of DIV2K's validation images (its VGG19 content loss is inside its training
  iteration); chapter 6 adds up the runs of its grid (grid points × seeds);
- time: FLOPs ÷ (the T4's published peak × an assumed utilisation), as a range, and the hard
  lower bound at 100 % of the peak. Training runs under the engine's autocast: the 65 TFLOPS
  FP16 tensor-core peak. The evaluations run without autocast, in float32 (torchmetrics'
  Inception, tiled super-resolution, the classifier): the 8.1 TFLOPS FP32 peak.

Two parts are not GPU arithmetic and are timed from rates measured on this machine instead:
chapter 1 trains its toy MLPs on the CPU at every profile (per-step overhead, not FLOPs, sets its
time: optimiser steps × the seconds per step of a short run here), and chapter 3's memorisation
test compares images in float64 on the CPU (its FLOPs ÷ the float64 `cdist` rate measured here).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .chapters import ablations, cgan, crossdata, dcgan, srgan, stabilisers, theory
from .chapters import names as chapter_names
from .data import ImageSet
from .data.registry import REGISTRY
from .metrics import Classifier
from .models import FrozenDiscriminator, PerceptualLoss
from .models.tiling import tile_starts
from .train import Evaluator, Labels, RunDir, TrainConfig, discriminator_step, generator_step

T4_PEAK_FLOPS = 65e12  # NVIDIA T4 datasheet: 65 TFLOPS mixed precision (FP16/FP32), tensor cores
T4_FP32_FLOPS = 8.1e12  # the same datasheet: 8.1 TFLOPS single precision
UTILISATION = (0.2, 0.4)  # ASSUMED share of each peak the chapters reach (no T4 measured it)
INCEPTION_SIZE = 299  # torchmetrics resizes every image to 299×299 for Inception-v3

# Training-set sizes at `full` that no chapter configuration states (sources in the comments).
CELEBA_TRAIN = 162_770  # CelebA's list_eval_partition.txt: images 000001-162770 are partition 0,
#                        the train split (Liu et al. 2015); labkit.data.celeba.SPLITS["train"] = 0
EMNIST_BALANCED_TRAIN = crossdata.SEED["EMNIST"]["images"]  # 112,800 (Cohen et al. 2017)
CIFAR10_TRAIN_PER_CLASS = crossdata.SEED["CIFAR-10 airplanes"]["images"]  # 5,000 per class
ANIME_IMAGES = 63_000  # "about 63,000 images" (labkit.data's registry); chapter 6 takes 10,000
DIV2K_VALID = (100, 2040, 1356)  # DIV2K's validation split: 100 images (Agustsson & Timofte
#                                  2017), width × height about 2040×1356 (labkit.models.tiling)


def training_images(dataset: str, split: str, classes: list[str] | None = None,
                    subset: int | None = None) -> int:
    """Images in a full-profile training split (the first `subset` of them when given)."""
    sizes = {("celeba", "train"): CELEBA_TRAIN, ("emnist", "balanced"): EMNIST_BALANCED_TRAIN,
             ("cifar10", "train"): CIFAR10_TRAIN_PER_CLASS * (len(classes) if classes else 10),
             ("anime", "all"): ANIME_IMAGES}
    images = sizes[(dataset, split)]
    return min(images, subset) if subset else images


def iterations(images: int, config: TrainConfig) -> int:
    """Training iterations `train_gan` runs: epochs × (full batches × data_repeats per epoch,
    capped at max_steps_per_epoch), as labkit.train.engine counts them."""
    per_epoch = images // config.batch_size * config.data_repeats
    if config.max_steps_per_epoch:
        per_epoch = min(per_epoch, config.max_steps_per_epoch)
    return config.epochs * per_epoch


def evaluations(last_epoch: int, **schedule) -> int:
    """How many times an `Evaluator` with this schedule (`every=` or `epochs=`) scores a run
    of `last_epoch` epochs (the engine's own rule, `Evaluator.due`)."""
    probe = Evaluator(lambda real, fake: 0.0, torch.empty(0), name="probe", n_samples=1,
                      verbose=False, **schedule)
    return sum(probe.due(epoch, last_epoch) for epoch in range(1, last_epoch + 1))


# --------------------------------------------------------------------------- counting FLOPs


class _NoStep:
    """An optimiser that changes nothing (its elementwise update is no FLOP the counter sees)."""

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Nothing to clear."""

    def step(self) -> None:
        """Nothing to update."""


def count_flops(work: Callable[[], object]) -> int:
    """FLOPs of `work()` as PyTorch's FlopCounterMode counts them (matmuls, convolutions)."""
    with FlopCounterMode(display=False) as counter:
        work()
    return counter.get_total_flops()


def meta(build: Callable[[], object]):
    """`build()` with every tensor it creates on the meta device (shapes, no storage)."""
    with torch.device("meta"):
        return build()


def iteration_flops(generator: nn.Module, discriminator: nn.Module, real: torch.Tensor,
                    inputs: tuple, cond: tuple = (), *, content: Callable | None = None,
                    adversarial_weight: float = 1.0) -> int:
    """FLOPs of one engine iteration: G's forward, D's step on the real and the fake batch (none
    when `adversarial_weight` is 0), then G's step through D plus the `content` loss."""
    scaler = torch.amp.GradScaler("cpu", enabled=False)

    def iteration() -> None:
        fake = generator(*inputs, *cond)
        if adversarial_weight:
            discriminator_step(discriminator, real, fake, _NoStep(), scaler, Labels(),
                               contextlib.nullcontext, cond)
        loss = content(fake, real) if content is not None else None
        generator_step(discriminator, fake, _NoStep(), scaler, contextlib.nullcontext,
                       cond=cond, content=loss, adversarial_weight=adversarial_weight)

    return count_flops(iteration)


def gan_iteration_flops(generator: nn.Module, discriminator: nn.Module, batch: int,
                        channels: int, size: int, cond: tuple = ()) -> int:
    """FLOPs of one iteration of an unconditional (or, with `cond`, conditional) GAN, meta."""
    real = torch.empty(batch, channels, size, size, device="meta")
    z = torch.empty(batch, generator.nz, device="meta")
    return iteration_flops(generator, discriminator, real, (z,), cond)


def inception_flops_per_image() -> int:
    """FLOPs of one Inception-v3 forward pass at 299×299 (torchvision's architecture)."""
    from torchvision.models import inception_v3

    network = meta(lambda: inception_v3(weights=None, aux_logits=True, init_weights=False))
    image = torch.empty(1, 3, INCEPTION_SIZE, INCEPTION_SIZE, device="meta")
    return count_flops(lambda: network.eval()(image))


def classifier_flops_per_image(channels: int, size: int, classes: int) -> tuple[int, int]:
    """(training, forward) FLOPs per image of labkit's judging `Classifier`."""
    model = meta(lambda: Classifier(channels, [str(c) for c in range(classes)]))
    images = torch.empty(64, channels, size, size, device="meta")
    training = count_flops(lambda: model(images).sum().backward())
    return training // 64, count_flops(lambda: model(images)) // 64


def tiled_area(height: int, width: int, tile: int, overlap: int) -> int:
    """LR pixels a network computes when `tiled_upscale` cuts an height×width image into tiles,
    each with `overlap` pixels of context (cut at the image's borders)."""
    def covered(length: int) -> int:
        return sum(min(start + tile + overlap, length) - max(start - overlap, 0)
                   for start in tile_starts(length, tile))

    return covered(height) * covered(width)


def one_image_set(channels: int, classes: list[str] | None = None) -> ImageSet:
    """A one-image stand-in for a dataset: what a chapter's `build_models` reads of its data."""
    return ImageSet(torch.zeros(1, channels, 1, 1, dtype=torch.uint8), classes=classes or [])


# --------------------------------------------------------------------------- the chapters


@dataclass
class Estimate:
    """One chapter's arithmetic at `full` and where its time goes."""

    chapter: str
    iterations: int  # training iterations (chapter 1: optimiser steps)
    train_flops: float = 0.0  # GPU arithmetic of training (under autocast: FP16)
    eval_flops: float = 0.0  # GPU arithmetic of the evaluations (float32)
    cpu_seconds: float = 0.0  # work on the CPU, timed from a rate measured on this machine
    notes: list[str] = field(default_factory=list)

    def seconds(self, utilisation: float) -> float:
        """Wall time: training at `utilisation` of the T4's FP16 peak, evaluation at the same
        share of its FP32 peak, plus the CPU part."""
        return (self.train_flops / (T4_PEAK_FLOPS * utilisation)
                + self.eval_flops / (T4_FP32_FLOPS * utilisation) + self.cpu_seconds)


def estimate_theory(cfg: theory.Config, seconds_per_step: float) -> Estimate:
    """Chapter 1: optimiser steps (D*, once per training seed of `dstar_seeds`; the 1-D GAN,
    every ring setting, the explorer's static run: an iteration is d_steps D steps and one G
    step) × the seconds per step measured here."""
    explorer = theory.explorer_defaults(cfg)
    runs = [(theory.mixture_setting(cfg), cfg.mixture_epochs),
            *((s, cfg.ring_epochs) for s in theory.ring_settings(cfg)),
            ({"label": "explorer", **explorer}, explorer["epochs"])]
    steps = cfg.dstar_steps * cfg.dstar_seeds + sum(
        iterations(cfg.points, theory.toy_train_config(cfg, s, epochs)) * (s["d_steps"] + 1)
        for s, epochs in runs)
    return Estimate("theory", steps, cpu_seconds=steps * seconds_per_step, notes=[
        f"trains on the CPU at every profile (device={cfg.device!r}): {steps:,} optimiser steps "
        f"× {seconds_per_step * 1e3:.2f} ms per step measured here (per-step overhead, not "
        "FLOPs, sets the time of these tiny MLPs); the T4 is not used"])


def estimate_dcgan(cfg: dcgan.Config, inception: int) -> Estimate:
    """Chapter 2: the seed's DCGAN on CelebA's train split (its subset), once per training seed;
    FID on `eval_samples` generated images against `reference_images` real ones after every
    `eval_every` epochs of the run shown and twice in each further seed's run; the model
    selection study's Inception features (two pools of `selection_pool` images per seed and
    the reference set, once)."""
    one = one_image_set(cfg.channels)
    generator, discriminator = meta(lambda: dcgan.build_models(cfg, one))
    train = TrainConfig.from_profile(cfg, name=dcgan.NAME)
    per_run = iterations(training_images(cfg.dataset, cfg.split, subset=cfg.subset), train)
    n = per_run * cfg.replicates
    per_iteration = gan_iteration_flops(generator, discriminator, cfg.batch_size, cfg.channels,
                                        cfg.image_size)
    scored_runs = evaluations(cfg.epochs, every=cfg.eval_every) + 2 * (cfg.replicates - 1)
    scored = scored_runs * (cfg.eval_samples + (cfg.reference_images or cfg.eval_samples))
    study = (2 * cfg.selection_pool * cfg.replicates + (cfg.reference_images or cfg.eval_samples)
             if cfg.metric == "fid" else 0)
    scored += study
    return Estimate("dcgan", n, n * per_iteration, scored * inception, notes=[
        f"{cfg.replicates} training seeds × {per_run:,} iterations of batch {cfg.batch_size} "
        f"at {cfg.image_size} px; FID: {scored:,} Inception-v3 images ({study:,} of them for "
        "the model selection study)"])


def estimate_crossdata(cfg: crossdata.Config, inception: int, float64_rate: float) -> Estimate:
    """Chapter 3: one DCGAN budget on each of three datasets, once per training seed; FID of
    each seed's generated images and one real-real floor (2n + 2n per seed images per dataset);
    the memorisation test per seed (pixel L2 nearest neighbours in float64 on the CPU:
    memo_samples fakes and as many held-out images against the whole training set)."""
    total = train_flops = scored = cpu_flops = 0
    seeds = len(cfg.seeds)
    for spec in cfg.datasets:
        images = training_images(spec["name"], spec["train"], spec.get("classes"))
        one = one_image_set(spec["channels"])
        stand_in = crossdata.Dataset(spec, one, one)
        generator, discriminator = meta(lambda s=stand_in: crossdata.build_models(cfg, s))
        repeats = math.ceil(cfg.steps_per_epoch / (images // cfg.batch_size))
        train = TrainConfig.from_profile(cfg, name=crossdata.NAME, data_repeats=repeats,
                                         max_steps_per_epoch=cfg.steps_per_epoch)
        n = iterations(images, train) * seeds
        total += n
        train_flops += n * gan_iteration_flops(generator, discriminator, cfg.batch_size,
                                               spec["channels"], cfg.image_size)
        if cfg.quality == "fid":
            scored += 2 * min(cfg.eval_samples, images // 2) * (1 + seeds)
        # every test split holds at least memo_samples (1,000) images: as many held-out queries
        dims = spec["channels"] * cfg.image_size ** 2
        queries, held_out = 2 * cfg.memo_samples, cfg.memo_samples
        cpu_flops += seeds * 2 * dims * (queries * images + 2 * cfg.memo_samples * held_out)
    cpu_seconds = cpu_flops / float64_rate
    return Estimate("crossdata", total, train_flops, scored * inception, cpu_seconds, notes=[
        f"{seeds} training seeds × {total // seeds:,} iterations ({len(cfg.datasets)} datasets); "
        f"FID: {scored:,} Inception-v3 images (the SWD ratios are not counted)",
        f"memorisation test, once per seed: {cpu_flops:.2e} float64 FLOPs on the CPU "
        f"(torch.cdist) at {float64_rate / 1e9:.0f} GFLOP/s measured here: "
        f"{duration(cpu_seconds)} of the estimate, the same on any GPU"])


def estimate_cgan(cfg: cgan.Config) -> Estimate:
    """Chapter 4: the report's conditional GAN on the first 12,800 EMNIST-balanced images; the
    judging classifier trained on the whole training split and its class-accuracy checks."""
    classes = REGISTRY[cfg.dataset].classes(cfg.split)
    data = cgan.Characters(one_image_set(1, classes), one_image_set(1, classes))
    models = meta(lambda: cgan.build_models(cfg, data))
    train = TrainConfig.from_profile(cfg, name=cgan.NAME)
    n = iterations(training_images(cfg.dataset, cfg.split, subset=cfg.subset), train)
    labels = torch.empty(cfg.batch_size, dtype=torch.long, device="meta")
    per_iteration = gan_iteration_flops(models.generator, models.discriminator, cfg.batch_size,
                                        1, cfg.image_size, (labels,))
    judge_train, judge_read = classifier_flops_per_image(1, cfg.image_size, len(classes))
    read = evaluations(cfg.epochs, every=cfg.eval_every) * cfg.eval_per_class * len(classes)
    judge = (cfg.classifier_epochs * training_images(cfg.dataset, cfg.split) * judge_train
             + read * judge_read)
    return Estimate("cgan", n, n * per_iteration, judge, notes=[
        f"{n:,} iterations of batch {cfg.batch_size}; small networks: per-iteration overhead "
        "on the GPU may exceed this FLOP-based time"])


def estimate_srgan(cfg: srgan.Config) -> Estimate:
    """Chapter 5: SRResNet pre-training (MSE, no D), SRGAN (D step, VGG19 content loss) and the
    frozen-D run, once per training seed of `seeds`; then every seed's SRResNet and SRGAN upscale
    DIV2K's validation images in tiles."""
    generator, discriminator = meta(lambda: srgan.build_models(cfg))
    frozen = meta(lambda: FrozenDiscriminator(srgan.build_models(cfg)[1]))
    vgg = meta(lambda: PerceptualLoss(cfg.content, pretrained=False))
    hr = torch.empty(cfg.batch_size, 3, cfg.hr_size, cfg.hr_size, device="meta")
    lr = torch.empty(cfg.batch_size, 3, cfg.hr_size // cfg.scale, cfg.hr_size // cfg.scale,
                     device="meta")
    stages = {"srresnet": iteration_flops(generator, discriminator, hr, (lr,),
                                          content=F.mse_loss, adversarial_weight=0.0),
              "srgan": iteration_flops(generator, discriminator, hr, (lr,), content=vgg,
                                       adversarial_weight=cfg.adversarial_weight),
              "frozen-d": iteration_flops(generator, frozen, hr, (lr,), content=vgg,
                                          adversarial_weight=cfg.adversarial_weight)}
    counts = {stage: cfg.seeds * iterations(cfg.crops, srgan.stage_config(cfg, stage))
              for stage in stages}
    count, width, height = DIV2K_VALID
    side = cfg.tile + 2 * cfg.overlap
    piece = torch.empty(1, 3, side, side, device="meta")
    per_pixel = count_flops(lambda: generator.eval()(piece)) / side ** 2
    area = tiled_area(height // cfg.scale, width // cfg.scale, cfg.tile, cfg.overlap)
    upscale = 2 * cfg.seeds * count * area * per_pixel  # SRResNet and SRGAN of every seed
    return Estimate("srgan", sum(counts.values()),
                    sum(counts[s] * stages[s] for s in stages), upscale, notes=[
        f"iterations per stage ({cfg.seeds} training seeds): "
        + ", ".join(f"{s} {n:,}" for s, n in counts.items())
        + f"; batch {cfg.batch_size} of {cfg.hr_size} px crops, content loss {cfg.content}",
        f"evaluation: two generators per seed on {count} DIV2K validation images of about "
        f"{width}×{height} (Set5 and Set14 are too small to count; PSNR/SSIM on the CPU not "
        "counted)"])


def estimate_ablations(cfg: ablations.Config, inception: int) -> Estimate:
    """Chapter 6: every grid point × seed, each with FID at its `eval_epochs`."""
    total = train_flops = scored = 0
    points = ablations.grid_points(cfg)
    for point in points:
        run = ablations.point_config(point, None)
        generator, discriminator = meta(
            lambda r=run: ablations.build_models(r, r.channels))
        train = TrainConfig.from_profile(run, name=ablations.NAME)
        n = iterations(training_images(run.dataset, run.split, subset=run.subset), train)
        total += n
        train_flops += n * gan_iteration_flops(generator, discriminator, run.batch_size,
                                               run.channels, run.image_size)
        scored += evaluations(run.epochs, epochs=set(run.eval_epochs)) * 2 * run.eval_samples
    return Estimate("ablations", total, train_flops, scored * inception, notes=[
        f"{len(points)} runs (grid points × seeds), {total // len(points):,} iterations each; "
        f"FID: {scored:,} Inception-v3 images"])


def estimate_stabilisers(cfg: stabilisers.Config, inception: int) -> Estimate:
    """Chapter 7: every grid point × seed. Each method trains for the time the baseline takes
    for `budget_steps` steps, counted here in FLOPs (a method twice as costly per step trains
    half the steps; the gradient penalties' second backward pass is not counted); the metric
    after each of `evals` stages on the EMA's and on G's samples: Inception FID on CIFAR-10
    against the whole training set (SWD on the offline faces: CPU work, not counted)."""
    total = train_flops = scored = 0
    points = stabilisers.grid_points(cfg)
    for point in points:
        run = stabilisers.point_config(point, None)
        per_step = _stabiliser_step_flops(run)
        base = _stabiliser_step_flops(run.replace(method="baseline"))
        steps = run.steps or max(run.evals, round(run.budget_steps * base / per_step))
        total += steps
        train_flops += steps * per_step
        if stabilisers.metric_of(run.dataset) == "fid":
            real = run.real_samples or training_images(run.dataset, "train")
            scored += run.evals * 2 * (run.eval_samples + real)
    return Estimate("stabilisers", total, train_flops, scored * inception, notes=[
        f"{len(points)} runs (grid points × seeds), each the FLOPs of {cfg.budget_steps:,} "
        f"baseline steps of batch {cfg.batch_size}; FID: {scored:,} Inception-v3 images "
        "(the real features recomputed at every evaluation)"])


_STEP_FLOPS: dict[tuple, int] = {}  # chapter 7's step FLOPs by (method, sizes)


def _stabiliser_step_flops(run: stabilisers.Config) -> int:
    """FLOPs of one of chapter 7's steps: the engine's iteration, plus n_critic − 1 more D
    steps on fresh fakes (G's forward and D's step each) for WGAN-GP."""
    key = (run.method, run.dataset, run.image_size, run.nz, run.ngf, run.ndf, run.batch_size)
    if key not in _STEP_FLOPS:
        _STEP_FLOPS[key] = _count_stabiliser_step(run)
    return _STEP_FLOPS[key]


def _count_stabiliser_step(run: stabilisers.Config) -> int:
    channels = stabilisers.channels_of(run.dataset)
    with torch.device("meta"):
        generator, discriminator = stabilisers.dcgan(
            image_size=run.image_size, channels=channels, nz=run.nz, ngf=run.ngf, ndf=run.ndf,
            norm=stabilisers.METHODS[run.method].get("norm", "batch"))
    one = gan_iteration_flops(generator, discriminator, run.batch_size, channels,
                              run.image_size)
    extra = stabilisers.settings(run).d_steps - 1
    if not extra:
        return one
    real = torch.empty(run.batch_size, channels, run.image_size, run.image_size, device="meta")
    z = torch.empty(run.batch_size, generator.nz, device="meta")
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    d_step = count_flops(lambda: discriminator_step(
        discriminator, real, generator(z), _NoStep(), scaler, Labels(), contextlib.nullcontext))
    return one + extra * d_step


# --------------------------------------------------------------------------- rates measured here


def toy_seconds_per_step(epochs: int = 2) -> float:
    """Seconds per optimiser step of chapter 1's ring GAN at `full`, measured here: a short run
    of the chapter's own `train_toy` (one CPU thread, epoch ends included)."""
    cfg = theory.Config.resolve("full")
    setting = theory.ring_settings(cfg)[0]
    with tempfile.TemporaryDirectory() as tmp:
        toy = theory.train_toy(cfg, theory.ring_data(cfg), setting,
                               RunDir.create("estimate", tmp).child("probe"), epochs, quiet=True)
    return toy.seconds / (epochs * toy.iterations_per_epoch * (setting["d_steps"] + 1))


def float64_cdist_rate(queries: int = 256, references: int = 20_000, dims: int = 3072) -> float:
    """FLOP/s of float64 `torch.cdist` on this CPU, the memorisation test's kernel (2·m·n·d)."""
    a = torch.randn(queries, dims, dtype=torch.float64)
    b = torch.randn(references, dims, dtype=torch.float64)
    torch.cdist(a[:32], b[:1000])  # warm-up
    started = time.perf_counter()
    torch.cdist(a, b).min(dim=1)
    return 2 * queries * references * dims / (time.perf_counter() - started)


def run_all(utilisation: tuple[float, float] = UTILISATION) -> dict:
    """Every chapter's estimate, the assumptions and the rates measured here, JSON-ready."""
    started = time.perf_counter()
    inception = inception_flops_per_image()
    per_step, rate = toy_seconds_per_step(), float64_cdist_rate()
    estimators = {
        "theory": lambda: estimate_theory(theory.Config.resolve("full"), per_step),
        "dcgan": lambda: estimate_dcgan(dcgan.Config.resolve("full"), inception),
        "crossdata": lambda: estimate_crossdata(crossdata.Config.resolve("full"), inception,
                                                rate),
        "cgan": lambda: estimate_cgan(cgan.Config.resolve("full")),
        "srgan": lambda: estimate_srgan(srgan.Config.resolve("full")),
        "ablations": lambda: estimate_ablations(ablations.Config.resolve("full"),
                                                inception),
        "stabilisers": lambda: estimate_stabilisers(stabilisers.Config.resolve("full"),
                                                    inception)}
    found = [estimators[name]() for name in chapter_names()]  # a new chapter: a KeyError here
    low, high = utilisation
    return {
        "what": "estimate: FLOPs counted by `labkit estimate`, divided by an assumed share of "
                "the T4's peak; no run on a T4 has measured these times",
        "t4_peak_flops": T4_PEAK_FLOPS, "t4_fp32_flops": T4_FP32_FLOPS,
        "utilisation": [low, high],
        "inception_flops_per_image": inception, "toy_seconds_per_step": per_step,
        "float64_cdist_flops_per_s": rate, "torch": torch.__version__,
        "threads": torch.get_num_threads(), "made_at": time.strftime("%Y-%m-%d %H:%M %Z"),
        "chapters": [{**asdict(e), "seconds_low_utilisation": e.seconds(low),
                      "seconds_high_utilisation": e.seconds(high),
                      "seconds_lower_bound": e.seconds(1.0)} for e in found],
        "estimate_seconds": time.perf_counter() - started,
    }


# --------------------------------------------------------------------------- output


def duration(seconds: float) -> str:
    """A wall time in whole minutes (hours beyond two hours)."""
    minutes = seconds / 60
    if minutes < 1:
        return "< 1 min"
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def flops_text(flops: float) -> str:
    """FLOPs in PFLOP (10^15) or, below 0.01 PFLOP, TFLOP (10^12); "—" for none."""
    if not flops:
        return "—"
    return f"{flops / 1e15:.2f} PFLOP" if flops >= 1e13 else f"{flops / 1e12:.1f} TFLOP"


def markdown(result: dict) -> str:
    """The estimate as a Markdown table, with its assumptions and a note per chapter."""
    low, high = result["utilisation"]
    lines = [
        f"**Estimates, not measurements.** FLOPs counted by `labkit estimate` (PyTorch "
        f"{result['torch']}, {result['made_at']}), divided by an ASSUMED {low:.0%}–{high:.0%} "
        f"of the T4's peak: {result['t4_peak_flops'] / 1e12:.0f} TFLOPS FP16 (tensor cores) "
        "for training, which runs under the engine's autocast (float16 assumed), and "
        f"{result['t4_fp32_flops'] / 1e12:.1f} TFLOPS FP32 for the evaluations, which run in "
        "float32. The lower bound is 100 % of those peaks. No run on a T4 has measured these "
        "times. Not counted: downloads, decoding the datasets into labkit's cache, and CPU-side "
        "metrics other than those noted below.", "",
        f"| chapter | training FLOPs | evaluation FLOPs | iterations | estimated T4 wall time "
        f"({low:.0%}–{high:.0%} of peak) | lower bound (100 % of peak) |",
        "|---|---|---|---|---|---|"]
    for row in result["chapters"]:
        gpu = row["train_flops"] + row["eval_flops"]
        bound = duration(row["seconds_lower_bound"]) if gpu else "— (CPU)"
        fast, slow = (duration(row[f"seconds_{k}_utilisation"]) for k in ("high", "low"))
        lines.append(f"| {row['chapter']} | {flops_text(row['train_flops'])} | "
                     f"{flops_text(row['eval_flops'])} | {row['iterations']:,} | "
                     f"{fast if fast == slow else f'{fast} – {slow}'} | {bound} |")
    lines += ["", "Notes (each a part of the estimate):", ""]
    lines += [f"- {row['chapter']}: {note}" for row in result["chapters"] for note in row["notes"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """`labkit estimate`: count, estimate, print the table, write JSON and Markdown."""
    parser = argparse.ArgumentParser(prog="labkit estimate", description=__doc__.splitlines()[0])
    parser.add_argument("--utilisation", type=float, nargs=2, default=UTILISATION,
                        metavar=("LOW", "HIGH"), help="assumed share of the T4's peak "
                                                      "(default: 0.2 0.4)")
    parser.add_argument("--out", type=Path, default=Path("bench"),
                        help="folder for t4_estimate.json and t4_estimate.md (default: ./bench)")
    args = parser.parse_args(argv)
    low, high = sorted(args.utilisation)
    if not 0 < low <= high <= 1:
        parser.error(f"--utilisation must lie in (0, 1], got {args.utilisation}")
    result = run_all((low, high))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "t4_estimate.json").write_text(json.dumps(result, indent=2))
    table = markdown(result)
    (args.out / "t4_estimate.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
