"""Chapter 7: what made GANs train — modern stabilisers measured on the course's own data.

The seed reports fought instability with learning rates and label smoothing. This chapter trains
the same small DCGAN with the stabilisers that came after them — spectral normalisation, the
hinge, Wasserstein (gradient penalty) and least-squares losses, the R1 penalty, an exponential
moving average (EMA) of G's weights and differentiable augmentation (DiffAugment) — each an
option of the one training engine (`labkit.train.TrainConfig`), and measures them side by side.

Every method gets the same training time in seconds, not the same number of steps: before the
grid, each method's time per step is measured once per dataset (`calibrate`: CPU time of this
process on a CPU, wall time on a GPU); the budget is the time the baseline takes for
`budget_steps` steps, and each setting trains for the budget over its own time per step
(`steps_for`). The tables show the seconds each run used by that clock, and its wall seconds.

Three experiments, each a named grid of `grids/stabilisers_<profile>.yaml`, each setting over
several seeds:

- `methods`: the methods side by side (the offline digits at cpu, judged by the Fréchet
  distance in the features of a classifier trained on real digits; CIFAR-10 with Inception FID
  at full);
- `few_shot`: DiffAugment against none on the 100 offline LFW faces (SWD);
- `unstable_lr`: spectral normalisation against none at chapter 6's seed learning rates (D 6.4e-3,
  G 1.28e-3) on the same faces.

The EMA is kept in every run and both generators are evaluated: the EMA claim compares them
within each run. The chapter folder (`stabilisers-<time>/`) holds config.json, calibration.json,
sweep.json and `points/<setting>-seed<k>/` (one training run each), then metrics.json,
methods.json/.csv, claims.json and the figures. `labkit sweep stabilisers --grid <yaml>` runs
the same points as `labkit run stabilisers -p single_run=True`, one process each (each point then
times its own steps).
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import importlib.resources
import io
import math
import statistics
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .. import claims as lkclaims
from .. import grid, viz
from ..atomic import read_json
from ..book import table
from ..claims import INCONCLUSIVE, REFUTED, SUPPORTED, Claim
from ..data import ImageSet, load
from ..metrics import Classifier, inception_weights_path, scorer, train_classifier
from ..models import dcgan
from ..profiles import ChapterConfig, knob
from ..stats import Interval, difference_interval, mean_interval
from ..train import RunDir, TrainConfig, TrainingDiverged, pick_device, runs_parent, train_gan
from ..train.ema import EMA
from .common import validate_grid_run

NUMBER, NAME, NOTEBOOK = 7, "stabilisers", "07_stabilisers.ipynb"
SEED_REPORT = "004"  # the learning rates and label smoothing the stabilisers replace (chapter 6)
RESERVED = ("single_run", "sweep_dir", "grid", "seeds")  # never grid parameters
SWEEP_PARAMETERS = {"single_run": True}  # what `labkit sweep` adds to every point
NOT_SETTINGS = (*grid.RESERVED, *RESERVED)
EXPERIMENTS = ("methods", "few_shot", "unstable_lr")  # the named grids, in the book's order
DATASETS = ("digits", "faces", "cifar10")
SWD_OPTIONS = {"directions": 128, "repeats": 2, "seed": 0}  # the same patches for every run
UNSTABLE = {"lr_d": 6.4e-3, "lr_g": 1.28e-3}  # chapter 6's seed pair (report 004)
TIMED = ("seconds_per_step", "ema_seconds_per_step", "budget_seconds")  # in metrics.json
SWD_IMAGES = 100  # images per side of the SWD that the critic claim compares with (digits)

# Each method is a few options of the engine (TrainConfig) and of D (`norm`). The baseline is
# the DCGAN of chapters 2-6: non-saturating loss, BatchNorm in D, Adam 2e-4, betas (0.5, 0.999).
METHODS: dict[str, dict] = {
    "baseline": {},
    "spectral_norm": {"spectral_norm": True},                         # Miyato et al. 2018
    "hinge_sn": {"loss": "hinge", "spectral_norm": True},             # SNGAN's loss and D
    "wgan_gp": {"loss": "wgan_gp", "norm": "layer", "lr_d": 1e-4, "lr_g": 1e-4,
                "betas": (0.0, 0.9)},                                 # Gulrajani et al. 2017
    "lsgan": {"loss": "lsgan"},                                       # Mao et al. 2017
    "r1": {"r1_gamma": 1.0, "r1_every": 16},                          # Mescheder et al. 2018
    "diffaugment": {"diffaugment": "color,translation,cutout"},       # Zhao et al. 2020
    "ttur": {"lr_d": 4e-4, "lr_g": 1e-4},                             # Heusel et al. 2017
}


def metric_of(dataset: str) -> str:
    """The quality metric of a dataset: the classifier's Fréchet distance on the digits,
    Inception FID on CIFAR-10, SWD on the faces (lower is better for all three)."""
    return {"digits": "classifier_fid", "cifar10": "fid"}.get(dataset, "swd")


def channels_of(dataset: str) -> int:
    """3 for CIFAR-10's colour images, 1 for the grayscale offline sets."""
    return 3 if dataset == "cifar10" else 1


# --------------------------------------------------------------------------- configuration


def grid_path(profile: str) -> Path:
    """The packaged grid of a profile: labkit/chapters/grids/stabilisers_<profile>.yaml
    (gpu-offline runs the cpu grid at full's scale)."""
    profile = "cpu" if profile == "gpu-offline" else profile
    return Path(str(importlib.resources.files(__package__) / "grids" / f"{NAME}_{profile}.yaml"))


@dataclass
class Config(ChapterConfig):
    """Chapter 7's parameters. cpu: the offline digits and faces, 32 px grayscale, 4× narrower
    networks, each method trained for the same seconds; full: CIFAR-10 and Inception FID on
    10,000 samples against the training set; smoke: a tiny grid for CI."""

    dataset: str = knob("digits", choices=DATASETS,
                        doc='one run\'s data: "digits", "faces" (the 100 LFW faces), "cifar10"')
    method: str = knob("baseline", choices=tuple(METHODS), doc="one run's method (METHODS)")
    lr_d: float | None = knob(None, low=0, high=1, doc="D's learning rate (None: the method's)")
    lr_g: float | None = knob(None, low=0, high=1, doc="G's learning rate (None: the method's)")
    download: bool = knob(smoke=False, cpu=False, full=True,
                          doc="download CIFAR-10 when it is not on disk (full)")
    image_size: int = knob(32, choices=(32, 64), doc="32 px (CIFAR-10's size)")
    nz: int = knob(smoke=32, cpu=64, full=128, low=1, doc="latent size")
    ngf: int = knob(smoke=8, cpu=16, full=64, low=1, doc="generator width")
    ndf: int = knob(smoke=8, cpu=16, full=64, low=1, doc="discriminator width")
    batch_size: int = knob(smoke=16, cpu=32, full=64, low=1, doc="images per step")
    lr: float = knob(smoke=5e-4, cpu=5e-4, full=2e-4, low=0, high=1,
                     doc="Adam lr of D and G unless the method sets its own (the DCGAN's 2e-4)")
    budget_steps: int = knob(smoke=12, cpu=250, full=50_000, low=1,
                             doc="the budget: the seconds the baseline takes for this many steps")
    steps: int | None = knob(None, low=1, doc="training steps of every run (None: the budget's)")
    calibration_steps: int = knob(smoke=2, cpu=6, full=50, low=1,
                                  doc="steps timed (twice) per setting to set its steps")
    evals: int = knob(smoke=3, cpu=5, full=5, low=3,
                      doc="evaluations per run, evenly spaced in steps (the last at the end)")
    eval_samples: int = knob(smoke=64, cpu=360, full=10_000, low=2,
                             doc="generated images per evaluation (10,000 for FID at full)")
    real_samples: int | None = knob(smoke=64, cpu=360, full=None, low=2,
                                    doc="real images per evaluation (None: the whole set)")
    ema_decay: float = knob(0.999, low=0, high=0.9999, doc="β of the EMA of G's weights")
    classifier_epochs: int = knob(smoke=1, cpu=3, full=3, low=1,
                                  doc="training epochs of the real-digit classifier")
    seeds: list[int] = knob([0, 1, 2], smoke=[0, 1], low=0,
                            doc="the seeds every setting of the grid is trained with")
    grid: dict | None = knob(None, doc="the grid (a dict, as in a grid YAML); None: the "
                                       "profile's, grids/stabilisers_<profile>.yaml")
    single_run: bool = knob(False, doc="True trains only the setting given: one grid point")
    sweep_dir: str | None = knob(None, doc="a chapter folder to continue (done points skipped)")
    threads: int | None = knob(smoke=1, cpu=1, full=None, low=1,
                               doc="CPU threads (None leaves torch's default)")

    def validate(self) -> None:
        """The device, the grid, the seeds, and settings that cannot go together."""
        super().validate()
        grid_of(self)
        validate_grid_run(self)
        if self.dataset == "cifar10" and self.image_size != 32:
            raise ValueError(f"parameter image_size={self.image_size}: CIFAR-10 is 32 px")
        if metric_of(self.dataset) == "fid" and self.eval_samples < 2048:
            raise ValueError(f"parameter eval_samples={self.eval_samples}: Inception FID needs "
                             "at least 2,048 generated images (10,000 is the convention)")
        if metric_of(self.dataset) == "classifier_fid" and self.eval_samples < 64:
            raise ValueError(f"parameter eval_samples={self.eval_samples}: the classifier's "
                             "Fréchet distance needs at least 64 images (its feature size)")
        settings(self)  # the method's options on this configuration: a TrainConfig checks them


def grid_of(cfg: Config) -> dict:
    """The grid this configuration runs: `cfg.grid`, else the profile's packaged file; checked
    (a ValueError names what is wrong)."""
    if cfg.grid is not None:
        return grid.check_grid(cfg.grid, source="parameter grid", reserved=RESERVED)
    path = grid_path(cfg.profile)
    return grid.check_grid(grid.load_grid(path), source=str(path), reserved=RESERVED)


def method_options(cfg: Config) -> dict:
    """The method's options with this run's learning rates: `lr` unless the method sets its
    own, `lr_d` / `lr_g` over both."""
    options = {"lr_d": cfg.lr, "lr_g": cfg.lr, **METHODS[cfg.method]}
    for key in ("lr_d", "lr_g"):
        if getattr(cfg, key) is not None:
            options[key] = getattr(cfg, key)
    return options


def settings(cfg: Config, steps: int | None = None, batches: int | None = None) -> TrainConfig:
    """The engine's settings of one run: the method's options, `steps` steps cut into `evals`
    stages of equal length (one engine epoch each, so each ends with an evaluation)."""
    options = method_options(cfg)
    betas = options.pop("betas", (0.5, 0.999))
    options.pop("norm", None)
    steps = steps or cfg.steps or cfg.evals
    per_stage = max(1, math.ceil(steps / cfg.evals))
    repeats = max(1, math.ceil(per_stage / batches)) if batches else 1
    return TrainConfig(epochs=cfg.evals, batch_size=cfg.batch_size, betas_d=betas,
                       betas_g=betas, seed=cfg.seed, device=cfg.device, ema_decay=cfg.ema_decay,
                       max_steps_per_epoch=per_stage, data_repeats=repeats, progress=False,
                       log_every=10_000, checkpoint_every=cfg.evals, name=NAME, **options)


def check_ready(cfg: Config) -> None:
    """Fail now, before any training: every point's settings and, for FID, Inception's weights
    (the error says how to get them)."""
    points = [] if cfg.single_run else grid_points(cfg)
    for point in points:
        point_config(point, cfg.out_dir)
    if any(metric_of(c.dataset) == "fid" for c in [cfg, *(point_config(p, None)
                                                         for p in points)]):
        inception_weights_path()


def set_threads(cfg: Config) -> None:
    """Use `cfg.threads` CPU threads (one at cpu and smoke: the small networks gain nothing
    from a second thread that other work on the machine needs)."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)


# --------------------------------------------------------------------------- data and models


@dataclass
class Data:
    """One dataset's training images, the real images every evaluation compares with, and (for
    the digits) the real-digit classifier that judges the samples."""

    name: str
    train: ImageSet
    real: torch.Tensor
    classifier: Classifier | None = None


def load_data(cfg: Config, dataset: str, cache: dict | None = None) -> Data:
    """A dataset as the chapter uses it (cached in `cache` by name): the digits' training split
    with its held-out split as the real reference and a classifier trained on the first; the
    faces (all 100, few-shot: the real reference is the training set); CIFAR-10's training
    set (the reference of the FID convention: 10,000 generated against the training set)."""
    if cache is not None and dataset in cache:
        return cache[dataset]
    options = {"root": cfg.data_root, "image_size": cfg.image_size,
               "channels": channels_of(dataset)}
    if dataset == "digits":
        train = load("digits", split="train", **options)
        test = load("digits", split="test", **options)
        classifier = train_classifier(train, test_set=test, epochs=cfg.classifier_epochs,
                                      seed=0, device="cpu" if cfg.device == "cpu" else None)
        found = Data(dataset, train, _real(test, cfg), classifier)
    else:
        train = load(dataset, split="all" if dataset == "faces" else "train",
                     download=cfg.download and dataset == "cifar10", **options)
        found = Data(dataset, train, _real(train, cfg))
    if cache is not None:
        cache[dataset] = found
    return found


def _real(images: ImageSet, cfg: Config) -> torch.Tensor:
    return images.float_images(cfg.real_samples, generator=torch.Generator().manual_seed(0))


def build_models(cfg: Config, channels: int):
    """The DCGAN pair at the configured sizes, D as the method needs it (spectral
    normalisation, or layer normalisation for WGAN-GP's per-sample penalty), seeded."""
    torch.manual_seed(cfg.seed)
    options = METHODS[cfg.method]
    return dcgan(image_size=cfg.image_size, channels=channels, nz=cfg.nz, ngf=cfg.ngf,
                 ndf=cfg.ndf, spectral_norm=bool(options.get("spectral_norm")),
                 norm=options.get("norm", "batch"))


# --------------------------------------------------------------------------- the same seconds


class StepClock:
    """A callback that reads a clock at every log line: with log lines every k steps of
    stages of 2k steps, the time between a stage's two readings is k training steps alone (the
    end-of-stage work falls between stages)."""

    def __init__(self, clock):
        self.clock, self.readings = clock, []

    def on_log(self, run) -> None:
        """A log line: read the clock."""
        self.readings.append(self.clock())

    def __call__(self, run, epoch: int) -> None:
        """Nothing at the end of a stage."""


def clock_for(device: str):
    """The clock a step is timed with: this process's CPU time on the CPU (the work itself,
    not the time it waited for a core another program held: one thread, so it equals the
    time alone on the machine), wall time on a GPU (the engine synchronises at log lines)."""
    return time.perf_counter if pick_device(device).type != "cpu" else time.process_time


def calibrate(cfg: Config, data: Data) -> dict:
    """Seconds per training step of this setting, measured in a throwaway run of three stages
    of 2 × `calibration_steps` steps: `calibration_steps` steps timed in each of the last two
    (the first warms up), the faster taken; and an EMA update's seconds."""
    k = cfg.calibration_steps
    timed = dataclasses.replace(cfg, evals=3, steps=3 * 2 * k)
    generator, discriminator = build_models(timed, data.train.images.shape[1])
    train_settings = settings(timed, batches=data.train.num_batches(cfg.batch_size))
    clock = StepClock(clock_for(cfg.device))
    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_gan(generator, discriminator, data.train,
                  train_settings.replace(out_dir=folder, log_every=k), callbacks=(clock,))
    r = clock.readings  # two per stage: after k and after 2k steps
    per_step = min(r[3] - r[2], r[5] - r[4]) / k
    return {"seconds_per_step": per_step,
            "ema_seconds_per_step": ema_seconds(generator, clock=clock.clock)}


def budget_seconds(cfg: Config, baseline_seconds_per_step: float) -> float:
    """The training seconds every run of a dataset gets: the baseline's `budget_steps` steps."""
    return cfg.budget_steps * baseline_seconds_per_step


def steps_for(cfg: Config, seconds_per_step: float, budget: float) -> int:
    """The steps that fill `budget` seconds at `seconds_per_step` (at least one per stage), or
    `cfg.steps` when given (the same steps for every method instead of the same seconds)."""
    return cfg.steps or max(cfg.evals, round(budget / seconds_per_step))


def timing(cfg: Config, data: Data, baseline: float | None = None) -> dict:
    """This setting's time per step, the budget of its dataset (from the baseline's time per
    step, measured here unless given) and its steps."""
    measured = calibrate(cfg, data)
    if baseline is None:
        baseline = (measured["seconds_per_step"] if cfg.method == "baseline" else
                    calibrate(cfg.replace(method="baseline"), data)["seconds_per_step"])
    budget = budget_seconds(cfg, baseline)
    return {**measured, "budget_seconds": budget,
            "steps": steps_for(cfg, measured["seconds_per_step"], budget)}


def ema_seconds(generator: torch.nn.Module, updates: int = 20, clock=time.perf_counter
                ) -> float:
    """Seconds one EMA update of G's weights takes (the EMA's whole training cost)."""
    average = EMA(generator, 0.999)
    started = clock()
    for _ in range(updates):
        average.update(generator)
    return (clock() - started) / updates


# --------------------------------------------------------------------------- one run


class Quality:
    """After each stage: the dataset's metric of the EMA's samples and of the trained G's on the
    same latent vectors, recorded in the history as "<metric>" (EMA) and "<metric>_raw" (G);
    where the metric is not SWD, also G's SWD on `SWD_IMAGES` images ("swd_raw", for the
    critic claim)."""

    def __init__(self, cfg: Config, data: Data, clock=time.perf_counter):
        self.cfg, self.data, self.clock = cfg, data, clock
        self.seconds = 0.0  # the evaluations' time, by `clock`
        self.metric = metric_of(data.name)
        options = ({"classifier": data.classifier} if self.metric == "classifier_fid"
                   else SWD_OPTIONS if self.metric == "swd" else {})
        self.score = scorer(self.metric, **options)
        self.swd = scorer("swd", **SWD_OPTIONS)

    def __call__(self, run, epoch: int) -> None:
        """Evaluate both generators after the stage `epoch`."""
        started = self.clock()
        real = self.data.real
        n = len(real) if self.metric == "swd" else self.cfg.eval_samples  # SWD: equal sets
        for suffix, use_ema in (("", True), ("_raw", False)):
            fake = run.generate(n, seed=self.cfg.seed + 1, ema=use_ema)
            self._record(run, epoch, self.metric + suffix, self.score(real, fake))
            if self.metric != "swd" and not use_ema:
                k = min(SWD_IMAGES, len(real), len(fake))
                self._record(run, epoch, "swd_raw", self.swd(real[:k], fake[:k]))
        self.seconds += self.clock() - started

    @staticmethod
    def _record(run, epoch: int, name: str, result) -> None:
        value = float(result)
        run.history.setdefault("metrics", {}).setdefault(name, []).append(
            {"epoch": epoch, "value": value})
        run.metrics[f"metric_{name}"] = value


def train_point(cfg: Config, data: Data, timed: Mapping | None = None) -> dict:
    """Train one setting (a grid point) into a fresh run folder under `cfg.out_dir` for the
    steps of `timed` (its `timing`; measured here when not given, as a `labkit sweep` point
    does), or `cfg.steps`; returns {"status", "run_dir", "error"}. A NaN loss ends the run as
    "diverged" (recorded, not raised)."""
    timed = dict(timed) if timed is not None else timing(cfg, data)
    steps = cfg.steps or timed["steps"]
    generator, discriminator = build_models(cfg, data.train.images.shape[1])
    train_settings = settings(cfg, steps, data.train.num_batches(cfg.batch_size))
    run_dir = RunDir.create(NAME, cfg.out_dir)
    about = {"method": cfg.method, "dataset": cfg.dataset, "metric": metric_of(cfg.dataset),
             "curve_metric": metric_of(cfg.dataset), "steps": steps,
             **{k: timed[k] for k in TIMED if k in timed}}
    record = {"chapter": NAME, "parameters": cfg.to_dict()}
    clock = clock_for(cfg.device)
    quality = Quality(cfg, data, clock)
    started = clock()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # BatchNorm-penalty and health notes: in the log
            run = train_gan(generator, discriminator, data.train, train_settings,
                            callbacks=(quality,), run_dir=run_dir, record=record)
    except TrainingDiverged as error:
        run_dir.update_metrics(**about)
        return {"status": "diverged", "run_dir": str(run_dir), "error": str(error)}
    seconds = sum(e["seconds"] for e in run.history["epochs"])
    extra = {"classifier_accuracy": data.classifier.accuracy} if data.classifier else {}
    extra["clock_seconds"] = clock() - started - quality.seconds  # by the budget's clock
    run.metrics = run_dir.update_metrics(**about, training_seconds=seconds, **extra)
    return {"status": run.metrics.get("status", "finished"), "run_dir": str(run_dir),
            "error": None}


# --------------------------------------------------------------------------- the grid


def grid_points(cfg: Config) -> list[grid.Point]:
    """Every point of the grid, once per seed: the grid's baseline, the parameters set here
    (the profile and any knob changed from the profile's value), then the grid's values."""
    fixed = {"profile": cfg.profile,
             **{k: v for k, v in cfg.changed().items() if k not in NOT_SETTINGS}}
    return grid.expand(grid_of(cfg), fixed=fixed, seeds=cfg.seeds, reserved=RESERVED)


def point_config(point: grid.Point, out_dir) -> Config:
    """The configuration of one point, as `labkit sweep` runs it (`SWEEP_PARAMETERS` added)."""
    params = {**point.parameters, **SWEEP_PARAMETERS, "out_dir": str(out_dir) if out_dir else None}
    return Config.resolve(params.pop("profile", "auto"), **params)


def describe_grid(points: Sequence[grid.Point], cfg: Config) -> str:
    """'30 runs: 10 settings x 3 seeds [0, 1, 2]' and each experiment's settings."""
    lines = [f"{len(points)} runs: {len({p.setting for p in points})} settings x "
             f"{len(cfg.seeds)} seeds {cfg.seeds}"]
    for name in grid.named_grids(grid_of(cfg)):
        shown = {p.setting: p for p in points if name in p.grids}
        labels = ", ".join(f"{p.params.get('method')} on {p.params.get('dataset')}"
                           for p in shown.values())
        lines.append(f"  {name}: {labels}")
    return "\n".join(lines)


def chapter_folder(cfg: Config) -> RunDir:
    """The chapter's folder: `sweep_dir`, else (resume) the latest chapter folder, else a
    fresh one; its config.json records the parameters it started with."""
    folder = None
    if cfg.sweep_dir:
        folder = RunDir(cfg.sweep_dir)
    elif isinstance(cfg.resume, str):
        folder = RunDir(cfg.resume)
    elif cfg.resume:
        folder = latest_chapter_folder(cfg.out_dir)
    folder = folder or RunDir.create(NAME, cfg.out_dir)
    if not folder.read_config():
        folder.write_config({"chapter": NAME, "parameters": cfg.to_dict()})
    return folder


def latest_chapter_folder(out_dir=None) -> RunDir | None:
    """The newest `stabilisers-*` folder under `out_dir` that holds a grid."""
    parent = runs_parent(out_dir)
    found = [RunDir(p) for p in parent.glob(f"{NAME}-*") if p.is_dir()] if parent.is_dir() else []
    found = [r for r in found if r.read_config().get("chapter") == NAME
             and "train" not in r.read_config()]
    return max(found, key=lambda r: r.path.stat().st_mtime, default=None)


def run_grid(cfg: Config, folder: RunDir, points: Sequence[grid.Point] | None = None
             ) -> list[dict]:
    """Time each method once per dataset (calibration.json), then train every point not done
    yet, one after the other in this process, each for its setting's steps."""
    points = list(points) if points is not None else grid_points(cfg)
    cache: dict = {}
    saved = folder.path / "calibration.json"
    timings = {r["setting"]: r for r in folder.read_table("calibration")["rows"]} \
        if saved.is_file() else {}
    baselines: dict[str, float] = {}  # dataset -> the baseline's seconds per step
    measured: dict[tuple, dict] = {}  # (method, dataset) -> its timing: the learning rates
    for row in timings.values():      # change no step's cost, so one timing serves both
        measured.setdefault((row["method"], row["dataset"]), {
            k: row[k] for k in ("seconds_per_step", "ema_seconds_per_step")})
    for point in points:  # each method timed once per dataset, before any run
        config = point_config(point, None)
        data = load_data(config, config.dataset, cache)
        key = (config.method, config.dataset)
        if key not in measured:
            measured[key] = calibrate(config, data)
        if point.setting not in timings:
            timings[point.setting] = {"setting": point.setting, "method": config.method,
                                      "dataset": config.dataset, **_rates(config),
                                      **measured[key]}
        if config.method == "baseline":
            baselines.setdefault(config.dataset, timings[point.setting]["seconds_per_step"])
    for point in points:  # the budget of each dataset, then each setting's steps
        config = point_config(point, None)
        if config.dataset not in baselines:  # no baseline in the grid: time one
            data = load_data(config, config.dataset, cache)
            baselines[config.dataset] = calibrate(config.replace(method="baseline"),
                                                  data)["seconds_per_step"]
        row = timings[point.setting]
        row["budget_seconds"] = budget_seconds(config, baselines[config.dataset])
        row["steps"] = steps_for(config, row["seconds_per_step"], row["budget_seconds"])
    folder.write_table("calibration", list(timings.values()), budget_steps=cfg.budget_steps)
    started = time.perf_counter()

    def execute(point: grid.Point, where: Path) -> dict:
        config = point_config(point, where)
        with open(Path(where) / "run.log", "w") as log, contextlib.redirect_stdout(log):
            return train_point(config, load_data(config, config.dataset, cache),
                               timings[point.setting])

    records = grid.run_points(points, folder.path, execute, grid=grid_of(cfg), chapter=NAME)
    counts = ", ".join(f"{sum(r['status'] == s for r in records)} {s}"
                       for s in ("finished", "diverged", "failed"))
    print(f"{len(records)} runs in {time.perf_counter() - started:.0f} s: {counts}")
    return records


def _rates(cfg: Config) -> dict:
    """The learning rates a configuration trains with."""
    options = method_options(cfg)
    return {"lr_d": options["lr_d"], "lr_g": options["lr_g"]}


def calibration_rows(folder: RunDir) -> list[dict]:
    """The timing of each setting (calibration.json) as table rows: seconds per step, the
    steps of the budget, an EMA update's share of a step."""
    path = Path(folder) / "calibration.json"
    if not path.is_file():
        return []
    return [{"method": t["method"], "data": t["dataset"],
             "lr D / G": f"{t['lr_d']:g} / {t['lr_g']:g}",
             "ms / step": f"{1000 * t['seconds_per_step']:.1f}",
             "budget s": f"{t['budget_seconds']:.1f}", "steps": t["steps"],
             "EMA update, % of a step":
                 f"{100 * t['ema_seconds_per_step'] / t['seconds_per_step']:.2g}"}
            for t in read_json(path)["rows"]]


# --------------------------------------------------------------------------- the study


@dataclass
class Study:
    """The runs of the chapter folder as rows (one per run: experiment(s), method, dataset,
    seed, status, steps, training seconds, the metric's curves of the EMA and of G, the critic's
    estimate per stage) and the metric of each dataset."""

    rows: list[dict]

    def runs(self, experiment: str, method: str | None = None,
             finished: bool = True) -> list[dict]:
        """The rows of an experiment (and method), finished ones only unless asked."""
        return [r for r in self.rows if experiment in r["grids"]
                and (method is None or r["method"] == method)
                and (not finished or r["status"] == "finished")]

    def methods(self, experiment: str) -> list[str]:
        """The methods of an experiment, in the grid's order."""
        return list(dict.fromkeys(r["method"] for r in self.rows if experiment in r["grids"]))


def gather(folder: RunDir | str) -> Study:
    """Every point of the chapter folder as a row."""
    folder = Path(folder)
    sweep = folder / "sweep.json"
    order = [p["id"] for p in read_json(sweep).get("points", [])] if sweep.is_file() else []
    rows = []
    for point_json in sorted(folder.glob("points/*/point.json"),
                             key=lambda p: (order.index(p.parent.name)
                                            if p.parent.name in order else len(order))):
        record = grid.read_point(point_json.parent)
        run = RunDir(point_json.parent / record["run_dir"]) if record.get("run_dir") else None
        rows.append(run_row(record, run))
    return Study(rows)


def run_row(record: Mapping, run: RunDir | None) -> dict:
    """One run's numbers, from its point.json and run folder."""
    params = record["params"]
    metrics = run.read_metrics() if run else {}
    history = run.read_history() if run else {}
    metric = metric_of(params.get("dataset", "digits"))
    curves = {name: {int(e["epoch"]): e["value"] for e in entries}
              for name, entries in history.get("metrics", {}).items()}
    return {"id": record["id"], "setting": record["setting"], "seed": record["seed"],
            "grids": record.get("grids", []), "method": params.get("method", "baseline"),
            "dataset": params.get("dataset", "digits"), "params": params,
            "status": record["status"], "run_dir": str(run) if run else None, "metric": metric,
            "steps": metrics.get("steps"), "seconds": metrics.get("training_seconds"),
            "budget_seconds": metrics.get("budget_seconds"),
            "clock_seconds": metrics.get("clock_seconds"),
            "seconds_per_step": metrics.get("seconds_per_step"),
            "ema_seconds_per_step": metrics.get("ema_seconds_per_step"),
            "classifier_accuracy": metrics.get("classifier_accuracy"),
            "curves": curves, "critic": critic_estimates(history),
            "stage_seconds": stage_seconds(history, metrics.get("clock_seconds"))}


def critic_estimates(history: Mapping) -> dict[int, float]:
    """{stage: the mean of −loss_d over its steps}: for WGAN-GP, the critic's estimate of the
    Wasserstein distance E[D(x)] − E[D(G(z))] (the penalty is logged apart)."""
    found: dict[int, list[float]] = {}
    for epoch, loss in zip(history.get("epoch", []), history.get("loss_d", [])):
        found.setdefault(int(epoch), []).append(-float(loss))
    return {e: statistics.fmean(v) for e, v in found.items()}


def stage_seconds(history: Mapping, clock_seconds: float | None = None) -> dict[int, float]:
    """{stage: training seconds from the start to its end} (evaluations not included): by the
    budget's clock (`clock_seconds` of the run, shared evenly by its equal stages) when given,
    else the wall seconds each stage took."""
    stages = [int(r["epoch"]) for r in history.get("epochs", [])]
    if clock_seconds and stages:
        return {e: clock_seconds * e / max(stages) for e in stages}
    total, out = 0.0, {}
    for record in history.get("epochs", []):
        total += float(record["seconds"])
        out[int(record["epoch"])] = total
    return out


def final(row: Mapping, name: str) -> float | None:
    """A run's last value of a recorded curve ("classifier_fid", "swd_raw", ...)."""
    curve = row["curves"].get(name) or {}
    return curve[max(curve)] if curve else None


def _values(rows: Sequence[dict], name: str) -> list[float]:
    return [v for r in rows if (v := final(r, name)) is not None and math.isfinite(v)]


def _seeds(rows: Sequence[dict]) -> list[int]:
    return sorted({r["seed"] for r in rows})


def _mean_text(values: Sequence[float | None]) -> str:
    values = [v for v in values if v is not None]
    return f"{statistics.fmean(values):.1f}" if values else "—"


def _cell(interval: Interval) -> str:
    if interval.n == 0:
        return "—"
    return str(interval)


def method_rows(study: Study) -> list[dict]:
    """One row per experiment and method: seeds, steps, training seconds, the metric of the
    EMA's samples and of G's at the end (mean [95 % t-interval] over seeds), diverged runs."""
    rows = []
    for experiment in EXPERIMENTS:
        for method in study.methods(experiment):
            every = study.runs(experiment, method, finished=False)
            done = study.runs(experiment, method)
            if not every:
                continue
            metric = every[0]["metric"]
            seconds = [r["seconds"] for r in done if r["seconds"] is not None]
            steps = [r["steps"] for r in every if r["steps"]]
            row = {"experiment": experiment, "method": method, "data": every[0]["dataset"],
                   "seeds": ", ".join(map(str, _seeds(done))) or "–",
                   "steps": f"{statistics.fmean(steps):.0f}" if steps else "—",
                   "budget s": _mean_text([r["budget_seconds"] for r in every]),
                   "used s": _mean_text([r["clock_seconds"] for r in done]),
                   "wall s": f"{statistics.fmean(seconds):.1f}" if seconds else "—",
                   f"{metric} (EMA)": _cell(mean_interval(_values(done, metric))),
                   f"{metric} (G)": _cell(mean_interval(_values(done, metric + "_raw")))}
            row["diverged"] = sum(r["status"] == "diverged" for r in every)
            rows.append(row)
    return rows


def method_table(study: Study, cfg: Config):
    """The methods table as HTML, its caption saying what the numbers are."""
    return table(method_rows(study), caption=(
        f"Profile {cfg.profile}: every method of a dataset trained for the same budget, the "
        f"seconds the baseline takes for {cfg.budget_steps:,} steps (each method's steps set "
        "from its measured time per step); the metric at the end, lower is better, mean "
        "[95 % t-interval] over seeds"))


def summary(study: Study, cfg: Config):
    """The chapter's table for the results page."""
    from IPython.display import HTML

    note = (f"Profile {cfg.profile}: every run of a dataset trained for the seconds the "
            f"baseline takes for {cfg.budget_steps:,} steps, seeds "
            f"{', '.join(map(str, cfg.seeds))}; mean [95 % t-interval] over the seeds")
    return HTML(f"<p><em>{html.escape(note)}.</em></p>" + method_table(study, cfg).data)


# --------------------------------------------------------------------------- figures


def figures(study: Study, folder: RunDir) -> dict[str, Figure]:
    """Every figure of the chapter, each written to `folder`: the metric against training
    seconds per experiment, the critic's estimate against SWD, and the samples."""
    made = {"metric_vs_time": time_figure(study, folder),
            "critic_vs_swd": critic_figure(study, folder),
            "samples": samples_figure(study, folder)}
    return {k: v for k, v in made.items() if v is not None}


def time_curves(rows: Sequence[dict], name: str) -> dict:
    """Mean training seconds and the metric's mean with its t-interval at each stage."""
    stages = sorted({e for r in rows for e in r["curves"].get(name, {})})
    out = {"seconds": [], "mean": [], "low": [], "high": []}
    for e in stages:
        values = [r["curves"][name][e] for r in rows if e in r["curves"].get(name, {})]
        times = [r["stage_seconds"][e] for r in rows if e in r["stage_seconds"]]
        interval = mean_interval(values)
        out["seconds"].append(statistics.fmean(times) if times else math.nan)
        out["mean"].append(interval.mean)
        out["low"].append(interval.low)
        out["high"].append(interval.high)
    return out


def time_figure(study: Study, folder: RunDir | None = None) -> Figure | None:
    """Each experiment's metric (EMA) against training seconds, one line per method: the mean
    over seeds with its 95 % t-interval as a band (metric_vs_time.png)."""
    panels = [e for e in EXPERIMENTS if study.runs(e)]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4.8 * len(panels), 3.8), squeeze=False)
    for ax, experiment in zip(axes[0], panels):
        metric = study.runs(experiment)[0]["metric"]
        for method in study.methods(experiment):
            curve = time_curves(study.runs(experiment, method), metric)
            if not curve["mean"]:
                continue
            x, mean = np.asarray(curve["seconds"]), np.asarray(curve["mean"])
            low, high = np.asarray(curve["low"]), np.asarray(curve["high"])
            (line,) = ax.plot(x, mean, marker="o", label=method)
            ax.fill_between(x, np.where(np.isnan(low), mean, low),
                            np.where(np.isnan(high), mean, high), color=line.get_color(),
                            alpha=0.2, linewidth=0)
        ax.set_title(f"{experiment} ({study.runs(experiment)[0]['dataset']})")
        ax.set_xlabel("training seconds (the budget's clock)")
        ax.set_ylabel(f"{metric} of the EMA (lower is better)")
        ax.legend(fontsize="small")
    fig.suptitle("Quality against training time: mean over seeds, 95 % t-interval shaded")
    return viz.finish(fig, folder.figure("metric_vs_time") if folder else None)


def critic_figure(study: Study, folder: RunDir | None = None) -> Figure | None:
    """WGAN-GP's critic estimate (−loss_D) against G's SWD at each stage, one line per seed,
    its correlation in the legend (critic_vs_swd.png)."""
    runs = [r for r in study.runs("methods", "wgan_gp") if critic_pairs(r)]
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    for r in runs:
        pairs = critic_pairs(r)
        ax.plot([p[0] for p in pairs], [p[1] for p in pairs], marker="o",
                label=f"seed {r['seed']} (r = {correlation(pairs):.2f})")
    ax.set_xlabel("critic's estimate −loss_D = E[D(x)] − E[D(G(z))], mean over the stage")
    ax.set_ylabel("SWD of G's samples (lower is better)")
    ax.set_title("WGAN-GP: does the critic's loss track sample quality?")
    ax.legend(fontsize="small")
    return viz.finish(fig, folder.figure("critic_vs_swd") if folder else None)


def samples_figure(study: Study, folder: RunDir | None = None) -> Figure | None:
    """The EMA's last fixed-noise grid of every method of every experiment (first seed)."""
    shown = []
    for experiment in EXPERIMENTS:
        for method in study.methods(experiment):
            runs = study.runs(experiment, method)
            if runs and runs[0]["run_dir"]:
                saved = RunDir(runs[0]["run_dir"]).sample_paths()
                if saved:
                    shown.append((f"{experiment}: {method}\n(seed {runs[0]['seed']})",
                                  saved[max(saved)]))
    if not shown:
        return None
    columns = min(4, len(shown))
    rows = math.ceil(len(shown) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (label, path) in zip(axes.flat, shown):
        ax.imshow(plt.imread(path), cmap="gray")
        ax.set_title(label, fontsize="small")
    fig.suptitle("Samples of the EMA generator at the end (the same latent vectors)")
    return viz.finish(fig, folder.figure("samples") if folder else None)


# --------------------------------------------------------------------------- claims


def correlation(pairs: Sequence[tuple[float, float]]) -> float:
    """Pearson's r of the pairs (NaN with fewer than 3 or a constant side)."""
    if len(pairs) < 3:
        return math.nan
    x, y = np.asarray(pairs, dtype=float).T
    if x.std() == 0 or y.std() == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def critic_pairs(row: Mapping) -> list[tuple[float, float]]:
    """(critic's estimate, G's SWD) at each evaluated stage of a run."""
    swd = row["curves"].get("swd_raw", {})
    return [(row["critic"][e], swd[e]) for e in sorted(swd) if e in row["critic"]
            and math.isfinite(swd[e]) and math.isfinite(row["critic"][e])]


def _seed_fields(seeds: Sequence[int]) -> dict:
    ids = sorted(set(seeds))
    return {"seeds": max(1, len(ids)), "seed_ids": ids or None}


def _difference_claim(claim_id: str, text: str, a: list[dict], b: list[dict], metric: str,
                      measurement: str, cfg: Config, names: tuple[str, str]) -> Claim:
    """A claim that A's final metric is lower than B's: Welch's 95 % interval of
    mean(A) − mean(B) below 0 supports it, above 0 refutes it."""
    va, vb = _values(a, metric), _values(b, metric)
    diff = difference_interval(va, vb)
    scored = [{r["seed"] for r in side if final(r, metric) is not None} for side in (a, b)]
    seeds = sorted(scored[0] & scored[1])  # the seeds measured on both sides
    count = [sum(r["status"] == "diverged" for r in side) for side in (a, b)]
    diverged = f"; diverged runs (no value): {names[0]} {count[0]}, {names[1]} {count[1]}"
    if min(len(va), len(vb)) < 2 or math.isnan(diff.low):
        verdict = INCONCLUSIVE
        why = f"fewer than two finished runs a side ({len(va)} and {len(vb)}){diverged}"
    elif diff.below(0):
        verdict, why = SUPPORTED, f"{names[0]} − {names[1]} = {diff}, below 0{diverged}"
    elif diff.above(0):
        verdict, why = REFUTED, f"{names[0]} − {names[1]} = {diff}, above 0{diverged}"
    else:
        verdict, why = INCONCLUSIVE, (f"{names[0]} − {names[1]} = {diff}: the interval holds 0 "
                                      f"(within the seed noise){diverged}")
    return Claim(id=claim_id, seed_report=SEED_REPORT, claim=text, measurement=measurement,
                 rule="supported when the 95 % Welch t-interval of mean(A) − mean(B) lies below "
                      "0 (A better), refuted when above 0, inconclusive otherwise",
                 verdict=verdict, why=why, profile=cfg.profile, value=_number(diff.mean),
                 low=_number(diff.low), high=_number(diff.high), **_seed_fields(seeds))


def spectral_norm_claim(study: Study, cfg: Config) -> Claim:
    """SN against none at chapter 6's seed learning rates (faces): the final SWD."""
    a, b = (study.runs("unstable_lr", m, finished=False) for m in ("spectral_norm", "baseline"))
    metric = (a or b or [{"metric": "swd"}])[0]["metric"]
    return _difference_claim(
        "spectral_norm", "spectral normalisation stabilises training at the seed's unstable "
        "learning rates (D 0.0064, G 0.00128)", a, b, metric,
        f"{metric} of the EMA at the end, D with spectral normalisation (A) − without (B), both "
        "at D 0.0064 / G 0.00128 and the same training seconds; runs that diverged counted",
        cfg, ("SN", "no SN"))


def diffaugment_claim(study: Study, cfg: Config) -> Claim:
    """DiffAugment against none on the 100 faces: the final SWD."""
    a, b = (study.runs("few_shot", m, finished=False) for m in ("diffaugment", "baseline"))
    metric = (a or b or [{"metric": "swd"}])[0]["metric"]
    return _difference_claim(
        "diffaugment", "DiffAugment improves few-shot generation (100 faces)", a, b, metric,
        f"{metric} of the EMA at the end against the 100 training faces, DiffAugment (colour, "
        "translation, cutout) (A) − none (B), the same training seconds", cfg,
        ("DiffAugment", "none"))


def wgan_claim(study: Study, cfg: Config) -> Claim:
    """Pearson's r of the critic's estimate with G's SWD over the stages of each WGAN-GP run;
    the claim holds when the t-interval of r over seeds lies above 0."""
    runs = study.runs("methods", "wgan_gp")
    per_seed = {r["seed"]: correlation(critic_pairs(r)) for r in runs}
    per_seed = {s: r for s, r in per_seed.items() if math.isfinite(r)}
    interval = mean_interval(list(per_seed.values()))
    fields = dict(id="wgan_critic", seed_report=SEED_REPORT,
                  claim="WGAN-GP's critic loss tracks sample quality",
                  measurement="per seed, Pearson's r between the critic's estimate −loss_D "
                              "(mean over each stage) and the SWD of G's samples at the stage's "
                              "end, over the run's evaluated stages; mean r over seeds",
                  rule="supported when the 95 % t-interval of the mean r lies above 0 (a lower "
                       "critic estimate goes with lower SWD), refuted when below 0, "
                       "inconclusive otherwise", profile=cfg.profile)
    if not per_seed:
        return Claim(**fields, verdict=INCONCLUSIVE, **_seed_fields(_seeds(runs)),
                     why="no WGAN-GP run has three evaluated stages with finite values")
    return _r_claim(interval, per_seed, fields)


def _r_claim(interval: Interval, per_seed: Mapping[int, float], fields: dict) -> Claim:
    listed = ", ".join(f"seed {s}: {r:.2f}" for s, r in sorted(per_seed.items()))
    claim = lkclaims.against_threshold(interval, 0.0, claimed="above", seed_ids=sorted(per_seed),
                                       seeds=len(per_seed), **fields)
    claim.why = f"{claim.why} ({listed})"
    return claim


def ema_claim(study: Study, cfg: Config) -> Claim:
    """The EMA's final metric minus G's in the same run, averaged per seed over the methods
    experiment's methods; the t-interval over seeds below 0 supports it."""
    runs = study.runs("methods")
    metric = runs[0]["metric"] if runs else "classifier_fid"
    by_seed: dict[int, list[float]] = {}
    for r in runs:
        ema, raw = final(r, metric), final(r, metric + "_raw")
        if ema is not None and raw is not None and math.isfinite(ema) and math.isfinite(raw):
            by_seed.setdefault(r["seed"], []).append(ema - raw)
    per_seed = {s: statistics.fmean(v) for s, v in by_seed.items()}
    interval = mean_interval(list(per_seed.values()))
    cost = [r["ema_seconds_per_step"] / r["seconds_per_step"] for r in runs
            if r["ema_seconds_per_step"] and r["seconds_per_step"]]
    cost_text = (f"an EMA update took {100 * statistics.fmean(cost):.2g} % of a training step"
                 if cost else "the EMA update was not timed")
    fields = dict(id="ema", seed_report=SEED_REPORT,
                  claim="an EMA of G's weights improves the evaluated generator at no training "
                        "cost",
                  measurement=f"{metric} of the EMA's samples − G's (same run, same latent "
                              "vectors) at the end, averaged per seed over the methods "
                              f"experiment's methods; {cost_text}",
                  profile=cfg.profile)
    if not per_seed:
        return Claim(**fields, verdict=INCONCLUSIVE, seeds=1, rule="", why="no finished run")
    claim = lkclaims.against_threshold(
        interval, 0.0, claimed="below", seed_ids=sorted(per_seed), seeds=len(per_seed),
        rule="supported when the 95 % t-interval over seeds of the mean paired difference lies "
             "below 0 (the EMA better), refuted when above 0, inconclusive otherwise", **fields)
    claim.why = f"{claim.why}; {cost_text}"
    return claim


def _number(x) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def claims(study: Study, cfg: Config) -> list[Claim]:
    """The chapter's four claims, judged on this study."""
    return [spectral_norm_claim(study, cfg), wgan_claim(study, cfg),
            diffaugment_claim(study, cfg), ema_claim(study, cfg)]


def check_claims(study: Study, cfg: Config, folder: RunDir) -> list[Claim]:
    """The claims of this study, written to the chapter folder's claims.json (none for a
    single run: the claims compare settings)."""
    if cfg.single_run:
        return []
    return lkclaims.record(folder, claims(study, cfg), chapter=NAME)


def record(study: Study, cfg: Config, folder: RunDir) -> dict:
    """methods.json/.csv and the headline numbers (metrics.json) of the chapter folder
    (nothing for a single run)."""
    if cfg.single_run:
        return {}
    folder.write_table("methods", method_rows(study), profile=cfg.profile, seeds=cfg.seeds,
                       budget_steps=cfg.budget_steps)
    counts = {s: sum(r["status"] == s for r in study.rows)
              for s in ("finished", "diverged", "failed")}
    seconds = [r["seconds"] for r in study.rows if r["seconds"] is not None]
    return folder.update_metrics(status="finished", runs=len(study.rows), **counts,
                                 budget_steps=cfg.budget_steps,
                                 training_seconds_total=sum(seconds),
                                 training_seconds_max=max(seconds, default=None),
                                 training_seconds_min=min(seconds, default=None))


# --------------------------------------------------------------------------- the chapter


@dataclass
class Result:
    """What `run` produced: the chapter folder (a run folder with single_run), the points'
    records, the study, figures and claims."""

    dir: RunDir
    records: list[dict] = field(default_factory=list)
    study: Study | None = None
    figures: dict[str, Figure] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)


def train_all(cfg: Config, points: Sequence[grid.Point] | None = None
              ) -> tuple[RunDir, list[dict]]:
    """Train the grid's points not done yet into the chapter folder (or, with single_run, the
    one setting given into a run folder of its own); returns that folder and the records."""
    if cfg.single_run:
        outcome = train_point(cfg, load_data(cfg, cfg.dataset))
        print(f"{outcome['status']}: {outcome['run_dir']}")
        return RunDir(outcome["run_dir"]), [outcome]
    folder = chapter_folder(cfg)
    return folder, run_grid(cfg, folder, points)


def run(cfg: Config) -> Result:
    """The whole chapter, headless: each setting timed, the grid trained point by point (or one
    point with single_run), then tables, figures and claims in the chapter folder."""
    check_ready(cfg)
    set_threads(cfg)
    folder, records = train_all(cfg)
    if cfg.single_run:
        return Result(folder, records)
    study = gather(folder)
    result = Result(folder, records, study, figures(study, folder))
    record(study, cfg, folder)
    result.claims = check_claims(study, cfg, folder)
    return result
