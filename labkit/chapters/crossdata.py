"""Chapter 3: one DCGAN, one budget, three datasets (seed report 001).

The seed report trained its 32×32 DCGAN on EMNIST characters, CelebA faces and the airplanes of
CIFAR-10, judged the samples by eye and the last log lines, and concluded that DCGAN works best
where the object contrasts with its background, that the EMNIST generator memorised its
training set, and that scenic backgrounds defeat it. This chapter repeats the comparison with
one network, one set of hyper-parameters and one training budget for all three datasets
(offline: digits, faces and photo crops play their parts), measures each generator's SWD in
units of a real-real floor, a memorisation test and each dataset's RMS contrast, and turns the
three conclusions into `Claim`s.

The notebook `03_cross_dataset.ipynb` calls these functions cell by cell; `run(config)` calls
them all, headless (`labkit run crossdata`). The chapter run folder holds one child run per
dataset, the cross-dataset table (`cross_dataset.json/.csv`), the figures, the headline numbers
(metrics.json) and the claims.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .. import claims as lkclaims
from .. import viz
from ..book import table
from ..claims import Claim
from ..data import ImageSet, available, load
from ..metrics import (
    InceptionWeightsUnavailable,
    MetricResult,
    fid,
    inception_weights_path,
    memorisation,
    nearest_neighbours,
    swd,
)
from ..models import count_parameters, dcgan
from ..pixels import to_signed
from ..profiles import ChapterConfig, knob
from ..stats import Interval, difference_interval, mean_interval
from ..train import Run, RunDir, TrainConfig, distributed, pick_device, train_gan
from .common import main_process, obtain

NUMBER, NAME, NOTEBOOK = 3, "crossdata", "03_cross_dataset.ipynb"
SEED_REPORT = "001"
TABLE = "cross_dataset"

# The three offline sets standing for the seed's three (grey sets in one channel, as the seed
# trained EMNIST); cpu and smoke differ only in budget. An entry: name, train and test split,
# channels, classes (None: all) and seed_row, the seed report's dataset it plays.
OFFLINE_SETS = [
    {"name": "digits", "train": "train", "test": "test", "channels": 1, "classes": None,
     "seed_row": "EMNIST"},
    {"name": "faces", "train": "train", "test": "test", "channels": 1, "classes": None,
     "seed_row": "CelebA"},
    {"name": "photos", "train": "train", "test": "test", "channels": 3, "classes": None,
     "seed_row": "CIFAR-10 airplanes"},
]
REAL_SETS = [
    {"name": "emnist", "train": "balanced", "test": "balanced-test", "channels": 1,
     "classes": None, "seed_row": "EMNIST"},
    {"name": "celeba", "train": "train", "test": "test", "channels": 3, "classes": None,
     "seed_row": "CelebA"},
    {"name": "cifar10", "train": "train", "test": "test", "channels": 3,
     "classes": ["airplane"], "seed_row": "CIFAR-10 airplanes"},
]
DATASET_KEYS = ("name", "train", "test", "channels")

# Seed report 001: the networks as it lists them, (in channels, out channels, kernel, stride,
# padding) per layer, and the last quoted log line per dataset (its figures 7, 10 and 13; the
# CelebA lines are also its figure 4) with the iterations per epoch those lines show.
SEED_GENERATOR = [(100, 512, 4, 1, 0), (512, 256, 4, 2, 1), (256, 128, 4, 2, 1), (128, 3, 4, 2, 1)]
SEED_DISCRIMINATOR = [(3, 128, 4, 2, 1), (128, 256, 4, 2, 1), (256, 512, 4, 2, 1),
                      (512, 1, 4, 1, 0)]
SEED = {
    "EMNIST": {"images": 112_800, "iters_per_epoch": 882, "epochs": 10,
               "line": "[10/10][850/882]", "loss_d": 0.0003, "loss_g": 9.1757, "d_x": 0.9998,
               "d_g_z1": 0.0001, "d_g_z2": 0.0001},
    "CelebA": {"images": 202_599, "iters_per_epoch": 3166, "epochs": 10,
               "line": "[9/10][3150/3166]", "loss_d": 0.0713, "loss_g": 5.1483, "d_x": 0.9479,
               "d_g_z1": 0.0121, "d_g_z2": 0.0186},
    "CIFAR-10 airplanes": {"images": 5_000, "iters_per_epoch": 79, "epochs": 10,
                           "line": "[7/10][0/79]", "loss_d": 0.3880, "loss_g": 2.0402,
                           "d_x": 0.8468, "d_g_z1": 0.1869, "d_g_z2": 0.1593},
}
SEED_WIDTH = 128
STATS = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2")

# The memorisation rule: a share of samples below the held-out 5th percentile above twice the
# 5 % that fresh data would give, and samples more than 10 % nearer to training images than to
# as many held-out ones.
EXPECTED_SHARE = 0.05
COPY_CONTROL = 0.9
SHIFTED = 1.5  # held-out split this many sampling floors from the training set: another scene


@dataclass
class Config(ChapterConfig):
    """Chapter 3's parameters. full: the seed's three datasets at its width 128, its length,
    three training seeds; cpu: the three offline stand-ins at width 64 (measured: 128 leaves
    about 120 iterations per dataset in five minutes on two cores), three training seeds of 200
    iterations each (the former profile, one seed of 400, ran the notebook in about 3 minutes
    on two cores, bench/bench.json; from the CPU time per iteration, the same on the three
    sets, three seeds of 200 come to about 4.5 minutes, three of 400 to about 8, over the
    chapter's 5.5); smoke: a tiny run for CI, two seeds. One budget (epochs × steps_per_epoch
    iterations of batch_size images) for every dataset and seed."""

    datasets: list[dict] = knob(smoke=OFFLINE_SETS, cpu=OFFLINE_SETS, full=REAL_SETS,
                                offline=OFFLINE_SETS,
                                doc="one dict per dataset: name, train, test, channels, "
                                    "classes, seed_row")
    download: bool = knob(smoke=False, cpu=False, full=True,
                          doc="fetch a missing dataset (checksummed) before falling back")
    image_size: int = knob(32, choices=(32,), doc="32: the layout the seed report lists")
    nz: int = knob(100, low=1, doc="latent size (100 in the seed report)")
    ngf: int = knob(smoke=16, cpu=64, full=128, low=1, doc="generator width (128 in the seed)")
    ndf: int = knob(smoke=16, cpu=64, full=128, low=1, doc="discriminator width")
    epochs: int = knob(smoke=2, cpu=4, full=10, low=1)
    steps_per_epoch: int = knob(smoke=4, cpu=50, full=880, low=1,
                                doc="iterations per epoch: the same for every dataset (cpu: 50, "
                                    "half of one seed's former 100, so three seeds fit)")
    batch_size: int = knob(smoke=16, cpu=64, full=128, offline=64, low=1,
                           doc="128 in the seed (64 offline: 80 training faces)")
    lr_d: float = knob(2e-4, low=0, high=1, doc="Adam learning rate of D")
    lr_g: float = knob(2e-4, low=0, high=1, doc="Adam learning rate of G")
    beta1: float = knob(0.5, low=0, high=1, doc="Adam beta1 of both networks")
    real_label: float = knob(1.0, low=0, high=1, doc="D's target for real images")
    fake_label: float = knob(0.0, low=0, high=1, doc="D's target for fakes")
    log_every: int = knob(smoke=2, cpu=25, full=220, low=1, doc="iterations between log lines")
    eval_samples: int = knob(smoke=64, cpu=500, full=10_000, offline=500, low=2,
                             doc="images per set for SWD and FID (at most)")
    memo_samples: int = knob(smoke=64, cpu=500, full=1000, offline=500, low=2,
                             doc="generated images for the memorisation test")
    swd_draws: int = knob(smoke=2, cpu=3, full=3, offline=3, low=1,
                          doc="independent draws each seed's SWD number is averaged over (the "
                              "intervals are over the training seeds)")
    quality: str = knob(smoke="swd", cpu="swd", full="fid", offline="swd", choices=("fid", "swd"),
                        doc='"fid" (also FID, needs Inception\'s weights) or "swd" alone')
    seeds: list[int] = knob([0, 1, 2], smoke=[0, 1], low=0,
                            doc="training seeds: every dataset is trained once per seed and the "
                                "claims' intervals are over them (a verdict needs 3); `seed` "
                                "keeps drawing the evaluation samples")

    def validate(self) -> None:
        """Each dataset entry names a known dataset, its splits and 1 or 3 channels; the
        training seeds are at least one, each listed once."""
        super().validate()
        known = available()
        if not self.datasets:
            raise ValueError("parameter datasets=[]: list at least one dataset")
        for spec in self.datasets:
            missing = [k for k in DATASET_KEYS if k not in spec]
            if missing:
                raise ValueError(f"parameter datasets: the entry {spec} lacks {missing} "
                                 f"(each needs {list(DATASET_KEYS)})")
            if spec["name"] not in known:
                raise ValueError(f"parameter datasets: unknown dataset {spec['name']!r}; "
                                 f"known: {sorted(known)}")
            if spec["channels"] not in (1, 3):
                raise ValueError(f"parameter datasets: {spec['name']} has channels="
                                 f"{spec['channels']!r}; allowed values are [1, 3]")
        names = [s["name"] for s in self.datasets]
        if len(set(names)) != len(names):
            raise ValueError(f"parameter datasets: a dataset is listed twice in {names}")
        if not self.seeds:
            raise ValueError("parameter seeds=[]: give at least one training seed (a verdict "
                             f"needs {lkclaims.MIN_SEEDS})")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"parameter seeds={self.seeds!r}: a seed is listed twice (each "
                             "seed is one more training run per dataset)")


def check_ready(cfg: Config) -> None:
    """Fail now, before any training, when the run could not finish (FID without Inception's
    weights: the error says how to get them, or to set quality="swd"). When `auto` chose full,
    the data cell may still fall back to the offline sets (SWD): `load_data` checks then."""
    TrainConfig.from_profile(cfg, name=NAME)
    if cfg.quality == "fid" and not cfg.fallback:
        _check_inception()


def _check_inception() -> None:
    try:
        inception_weights_path()
    except InceptionWeightsUnavailable as error:
        raise InceptionWeightsUnavailable(
            f"{error}\nOr run the chapter without FID: quality=\"swd\".") from None


# --------------------------------------------------------------------------- the seed report


def conv_layers(module: torch.nn.Module, kind: type) -> list[tuple[int, ...]]:
    """(in, out, kernel, stride, padding) of every layer of type `kind`, in order."""
    return [(m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0])
            for m in module.modules() if isinstance(m, kind)]


def seed_layout() -> list[dict]:
    """labkit's 32×32 DCGAN at the seed's width against the layers the seed report lists: one
    row per network (channels through the layers, same or not, parameters, output shape)."""
    generator, discriminator = dcgan(image_size=32, channels=3, nz=100, ngf=SEED_WIDTH,
                                     ndf=SEED_WIDTH)
    with torch.no_grad():
        shape = tuple(generator(torch.zeros(2, 100)).shape[1:])
    rows = []
    for network, module, kind, listed, output in (
            ("generator", generator, torch.nn.ConvTranspose2d, SEED_GENERATOR,
             "×".join(map(str, shape))),
            ("discriminator", discriminator, torch.nn.Conv2d, SEED_DISCRIMINATOR, "1 logit")):
        built = conv_layers(module, kind)
        rows.append({"network": network, "channels in the report": _channels(listed),
                     "channels in labkit": _channels(built), "same layers": built == listed,
                     "parameters": f"{count_parameters(module):,}", "output": output})
    return rows


def _channels(layers: list[tuple[int, ...]]) -> str:
    return " → ".join(str(c) for c in [layers[0][0]] + [layer[1] for layer in layers])


def seed_budgets() -> list[dict]:
    """Each seed run's budget read off its log lines: images per iteration (the batch size
    the report does not state), iterations and images seen in its 10 epochs."""
    return [{"seed dataset": name, "images": s["images"], "iterations per epoch":
             s["iters_per_epoch"], "images per iteration": round(s["images"] / s["iters_per_epoch"],
                                                                 1),
             "iterations": s["iters_per_epoch"] * s["epochs"],
             "images seen": s["images"] * s["epochs"]} for name, s in SEED.items()]


# --------------------------------------------------------------------------- data


@dataclass
class Dataset:
    """One dataset of the comparison: its entry in `datasets`, training and held-out splits."""

    spec: dict
    train: ImageSet
    test: ImageSet

    @property
    def name(self) -> str:
        """The labkit dataset name (e.g. "digits")."""
        return self.spec["name"]

    @property
    def plays(self) -> str | None:
        """The seed report's dataset this one stands for (e.g. "EMNIST")."""
        return self.spec.get("seed_row")


def load_data(cfg: Config) -> tuple[Config, dict[str, Dataset]]:
    """Every dataset at `image_size`, its training split and its held-out split, and the
    configuration they were loaded with: on a GPU where one of the real sets cannot be had
    (download refused), the three offline stand-ins at gpu-offline (`obtain`)."""
    cfg, sets = obtain(cfg, _load_sets)
    if cfg.quality == "fid":
        _check_inception()  # before training: the error says how to get the weights
    return cfg, sets


def _load_sets(cfg: Config) -> dict[str, Dataset]:
    sets = {}
    for spec in cfg.datasets:
        common = {"root": cfg.data_root, "image_size": cfg.image_size, "download": cfg.download,
                  "channels": spec["channels"], "classes": spec.get("classes")}
        sets[spec["name"]] = Dataset(spec, load(spec["name"], split=spec["train"], **common),
                                     load(spec["name"], split=spec["test"], **common))
        if len(sets[spec["name"]].train) < cfg.batch_size:
            raise ValueError(f"{spec['name']} has {len(sets[spec['name']].train)} training "
                             f"images, fewer than batch_size={cfg.batch_size}")
    return sets


def rms_contrast(images: torch.Tensor) -> float:
    """Mean over images of the standard deviation of their grey levels, pixels in [0, 1]."""
    grey = images.float().div(255).mean(dim=1)
    return float(grey.flatten(1).std(dim=1).mean())


def data_rows(sets: Mapping[str, Dataset]) -> list[dict]:
    """One row per dataset: sizes of both splits, image shape, RMS contrast, the part it plays."""
    return [{"dataset": d.name, "plays": d.plays, "training images": len(d.train),
             "held-out images": len(d.test), "image": "×".join(map(str, d.train.images.shape[1:])),
             "RMS contrast": rms_contrast(d.train.images)} for d in sets.values()]


def plot_previews(sets: Mapping[str, Dataset], cfg: Config) -> Figure:
    """32 training images of each dataset (two grids of 16 per row)."""
    shown = {}
    for name, d in sets.items():
        images = d.train.float_images(32, generator=torch.Generator().manual_seed(cfg.seed))
        shown[name] = (images[:16], images[16:])
    return plot_real_vs_fake_rows(shown, nrow=4, titles=("training images", "more training "
                                                                           "images"))


# --------------------------------------------------------------------------- one budget


def budgets(cfg: Config, sets: Mapping[str, Dataset]) -> dict[str, dict]:
    """Per dataset, the engine's settings that give every dataset `steps_per_epoch` iterations
    per epoch: a small set is passed over several times, a large one cut short."""
    return {name: {"data_repeats": math.ceil(cfg.steps_per_epoch
                                             / d.train.num_batches(cfg.batch_size)),
                   "max_steps_per_epoch": cfg.steps_per_epoch} for name, d in sets.items()}


def budget_rows(cfg: Config, sets: Mapping[str, Dataset]) -> list[dict]:
    """One row per dataset: the shared budget and how many passes over its training set it is."""
    iterations = cfg.epochs * cfg.steps_per_epoch
    seen = iterations * cfg.batch_size
    return [{"dataset": name, "training images": len(d.train), "iterations": iterations,
             "batch": cfg.batch_size, "images seen": seen,
             "passes over the training set": round(seen / len(d.train), 1)}
            for name, d in sets.items()]


def width_speed(cfg: Config) -> dict[int, float]:
    """Images per second of a few training iterations at the seed's width 128 and at this
    configuration's width, on this machine (empty when the run uses the seed's width)."""
    if (cfg.ngf, cfg.ndf) == (SEED_WIDTH, SEED_WIDTH):
        return {}
    speed = {}
    blank = ImageSet(torch.zeros(cfg.batch_size, 1, cfg.image_size, cfg.image_size,
                                 dtype=torch.uint8), name="blank")
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        for width in (SEED_WIDTH, cfg.ngf):
            g, d = dcgan(image_size=cfg.image_size, channels=1, nz=cfg.nz, ngf=width, ndf=width)
            probe = TrainConfig.from_profile(cfg, name=f"width-{width}", out_dir=tmp,
                                             resume=False, epochs=2, progress=False)
            speed[width] = train_gan(g, d, blank, probe, data_repeats=3,
                                     max_steps_per_epoch=3).metrics["images_per_s"]
    return speed


# --------------------------------------------------------------------------- training


def chapter_folder(cfg: Config) -> RunDir:
    """The chapter's run folder: a fresh one, or with `resume` the latest (or the given) one,
    its config.json recording the parameters (and each resume's). Under torchrun, rank 0's."""
    processes = distributed.setup(cfg.device)
    return distributed.broadcast(_open_folder(cfg) if processes.main else None, processes)


def _open_folder(cfg: Config) -> RunDir:
    folder = None
    if cfg.resume is True:
        folder = RunDir.latest(NAME, cfg.out_dir, with_checkpoint=False)
    elif cfg.resume:
        folder = RunDir(cfg.resume)
    folder = folder or RunDir.create(NAME, cfg.out_dir)
    record = folder.read_config()
    if record:
        record.setdefault("resumes", []).append(cfg.to_dict())
    else:
        record = {"chapter": NAME, "parameters": cfg.to_dict()}
    folder.write_config(record)
    return folder


def build_models(cfg: Config, dataset: Dataset, seed: int | None = None
                 ) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The 32×32 DCGAN at this configuration's widths and the dataset's channels, its initial
    weights drawn from the training seed (`cfg.seed` when None): the same initial weights for
    every dataset of the same channels."""
    torch.manual_seed(cfg.seed if seed is None else seed)
    return dcgan(image_size=cfg.image_size, channels=dataset.train.images.shape[1], nz=cfg.nz,
                 ngf=cfg.ngf, ndf=cfg.ndf)


def run_name(dataset: str, seed: int) -> str:
    """The child run folder of one dataset and training seed, e.g. "digits-seed0"."""
    return f"{dataset}-seed{seed}"


def train(cfg: Config, dataset: Dataset, generator, discriminator, chapter_dir: RunDir,
          seed: int | None = None, callbacks=()) -> Run:
    """Train the pair on the dataset with the shared budget and this training seed (batch
    order and noise; `cfg.seed` when None), into the chapter folder's child run
    `<dataset>-seed<seed>` (which resumes its own checkpoint with `resume`)."""
    seed = cfg.seed if seed is None else seed
    (budget,) = budgets(cfg, {dataset.name: dataset}).values()
    settings = TrainConfig.from_profile(cfg, name=f"{NAME}-{run_name(dataset.name, seed)}",
                                        resume=bool(cfg.resume), seed=seed, **budget)
    return train_gan(generator, discriminator, dataset.train, settings,
                     callbacks=tuple(callbacks), run_dir=chapter_dir.child(run_name(dataset.name,
                                                                                   seed)),
                     record={"chapter": NAME, "parameters": cfg.to_dict(),
                             "dataset": dataset.spec, "training_seed": seed})


def train_all(cfg: Config, sets: Mapping[str, Dataset], chapter_dir: RunDir
              ) -> dict[str, dict[int, Run]]:
    """One training run per dataset and training seed (`runs[dataset][seed]`), seed by seed:
    a run stopped half-way leaves whole seeds behind."""
    runs: dict[str, dict[int, Run]] = {name: {} for name in sets}
    for seed in cfg.seeds:
        for name, dataset in sets.items():
            print(f"--- {name}, training seed {seed}")
            runs[name][seed] = train(cfg, dataset, *build_models(cfg, dataset, seed),
                                     chapter_dir, seed)
    return runs


def first_seed(runs: Mapping[str, Mapping[int, Run]]) -> dict[str, Run]:
    """Each dataset's run of its first training seed (the one the figures show)."""
    return {name: next(iter(by_seed.values())) for name, by_seed in runs.items()}


# --------------------------------------------------------------------------- figures


def plot_samples(runs: Mapping[str, Run], sets: Mapping[str, Dataset], cfg: Config,
                 chapter_dir: RunDir) -> Figure:
    """32 real images beside the 32 first fixed-noise samples, one row per dataset."""
    shown = {name: (sets[name].train.float_images(
        32, generator=torch.Generator().manual_seed(cfg.seed)), run.generate(32))
        for name, run in runs.items()}
    return plot_real_vs_fake_rows(shown, nrow=4, path=chapter_dir.figure("real_vs_fake"))


def plot_training(runs: Mapping[str, Run], cfg: Config, chapter_dir: RunDir) -> dict[str, Figure]:
    """The three runs' losses and D's outputs on shared axes (smoothed over a quarter epoch)."""
    histories = {name: run.history for name, run in runs.items()}
    smooth = max(1, cfg.steps_per_epoch // 4)
    return {
        "losses": plot_history_comparison(histories, smooth=smooth,
                                          path=chapter_dir.figure("losses")),
        "probabilities": plot_history_comparison(
            histories, keys={"d_x": "D(x)", "d_g_z1": "D(G(z)) before the D update"},
            smooth=smooth, path=chapter_dir.figure("probabilities")),
    }


PROBABILITY_KEYS = ("d_x", "d_g_z1", "d_g_z2")


def plot_history_comparison(histories: Mapping[str, Mapping], *,
                            keys: Mapping[str, str] | None = None, smooth: int | None = 25,
                            path: str | Path | None = None) -> Figure:
    """Curves of several runs on shared axes: one panel per history key, one colour per run.

    `histories` maps a run's label (e.g. a dataset name) to its engine history; `keys` maps a
    history key to its panel title (default Loss_D and Loss_G). A Loss_D panel marks ln 4 (D
    outputs 1/2 for every image); a panel of D's outputs marks 1/2 and spans 0..1.
    """
    if not histories:
        raise ValueError("no histories to plot")
    keys = dict(keys or {"loss_d": "Loss_D", "loss_g": "Loss_G"})
    fig, axes = plt.subplots(1, len(keys), figsize=(6 * len(keys), 4.2), squeeze=False)
    shortest = min(len(viz.iterations(h)) for h in histories.values())
    for ax, (key, title) in zip(axes[0], keys.items(), strict=True):
        for label, history in histories.items():
            viz.plot_raw_and_smoothed(ax, viz.iterations(history), history[key], label, smooth)
        if key == "loss_d":
            ax.axhline(np.log(4), color="black", linestyle="--", linewidth=1,
                       label="ln 4: D outputs 1/2")
        elif key in PROBABILITY_KEYS:
            ax.axhline(0.5, color="black", linestyle="--", linewidth=1, label="1/2")
            ax.set_ylim(0, 1)
        ax.set_title(title)
        ax.set_xlabel("iterations")
        title = (f"thin: per iteration; thick: mean of last {min(smooth, shortest)}"
                 if smooth and smooth > 1 else None)
        ax.legend(title=title, title_fontsize="small", fontsize="small")
    return viz.finish(fig, path)


def plot_real_vs_fake_rows(pairs: Mapping[str, tuple[torch.Tensor, torch.Tensor]], *,
                           nrow: int = 8, titles: tuple[str, str] = ("real", "generated"),
                           path: str | Path | None = None) -> Figure:
    """One row per dataset: a grid of its real images (left) beside generated ones (right).

    `pairs` maps a row label to (left, right), images in [-1, 1] of shape (N, C, H, W); rows may
    differ in channels and size. `titles` name the two columns.
    """
    if not pairs:
        raise ValueError("no image pairs to plot")
    fig, axes = plt.subplots(len(pairs), 2, figsize=(9, 4.6 * len(pairs)), squeeze=False)
    for (label, images), row in zip(pairs.items(), axes, strict=True):
        for ax, grid, title in zip(row, images, titles, strict=True):
            pixels = viz.image_grid(grid, nrow=nrow)
            if pixels.shape[-1] == 1:
                pixels = pixels[..., 0]
            gray = {"cmap": "gray", "vmin": 0, "vmax": 255} if pixels.ndim == 2 else {}
            ax.imshow(pixels, **gray, interpolation="nearest")
            ax.set_axis_off()
            ax.set_title(f"{label}: {title}")
    return viz.finish(fig, path)


# --------------------------------------------------------------------------- measurements


def draw(images: torch.Tensor, n: int, seed: int, offset: int = 0) -> torch.Tensor:
    """Images offset..offset+n of a seeded random order of `images` (uint8 or float), as float
    in [-1, 1]; the same seed with offsets 0 and n gives two disjoint samples."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    chosen = images[order[offset:offset + n]]
    return to_signed(chosen) if chosen.dtype == torch.uint8 else chosen


def swd_samples(cfg: Config, sets: Mapping[str, Dataset]) -> int:
    """Images per set for every SWD: the same for all datasets (the floor shrinks as samples
    grow), so the smallest training set, which must give two disjoint real samples, sets it."""
    return min([cfg.eval_samples] + [len(d.train) // 2 for d in sets.values()])


def swd_floor(dataset: Dataset, n: int, draw_index: int, seed: int,
              device: torch.device | str = "cpu") -> float:
    """One draw of the real-real floor: SWD(real A, real B), A and B disjoint samples of n
    training images (the same for every training seed: it measures the data, not a run)."""
    real_a = draw(dataset.train.images, n, seed + draw_index).to(device)
    real_b = draw(dataset.train.images, n, seed + draw_index, offset=n).to(device)
    return swd(real_b, real_a, seed=draw_index).value


def swd_generated(run: Run, dataset: Dataset, n: int, draw_index: int, seed: int,
                  device: torch.device | str = "cpu") -> float:
    """One draw: SWD(generated, real B), n generated images against the floor's sample B."""
    real_b = draw(dataset.train.images, n, seed + draw_index, offset=n).to(device)
    generated = run.generate(n, seed=seed + 1000 + draw_index).to(device)
    return swd(real_b, generated, seed=draw_index).value


def swd_ratio(run: Run, dataset: Dataset, n: int, draw_index: int, seed: int,
              device: torch.device | str = "cpu") -> tuple[float, float]:
    """One draw: SWD(generated, real B) and the real-real floor SWD(real A, real B), with A and
    B disjoint samples of n training images; their ratio is the generator's distance in units
    of the sampling floor (1: as close as a second real sample)."""
    return (swd_generated(run, dataset, n, draw_index, seed, device),
            swd_floor(dataset, n, draw_index, seed, device))


def held_out_shift(cfg: Config, dataset: Dataset, device: torch.device | str = "cpu") -> float:
    """SWD(held-out, real B) over the real-real floor, on as many images as the splits allow:
    about 1 when the held-out images come from the training distribution, more when not."""
    train, test = dataset.train.images, dataset.test.images
    m = min(cfg.eval_samples, len(train) // 2, len(test))
    real_a = draw(train, m, cfg.seed).to(device)
    real_b = draw(train, m, cfg.seed, offset=m).to(device)
    held_out = draw(test, m, cfg.seed + 2000).to(device)
    return swd(real_b, held_out).value / swd(real_b, real_a).value


def measure_quality(cfg: Config, runs: Mapping[str, Mapping[int, Run]],
                    sets: Mapping[str, Dataset], device: torch.device | str = "cpu"
                    ) -> dict[str, dict]:
    """Per dataset: for every training seed, SWD and its ratio to the real-real floor, each
    averaged over `swd_draws` draws of the evaluation samples (`per_seed`); over the seeds,
    their means and the SWD ratio's 95 % Student-t interval (`swd_ratio_low`, `_high`); and
    the held-out shift. The floors are drawn once per dataset (they do not depend on a run)."""
    n = swd_samples(cfg, sets)
    quality = {}
    for name, by_seed in runs.items():
        floors = [swd_floor(sets[name], n, k, cfg.seed, device) for k in range(cfg.swd_draws)]
        per_seed = {}
        for seed, run in by_seed.items():
            fakes = [swd_generated(run, sets[name], n, k, cfg.seed, device)
                     for k in range(cfg.swd_draws)]
            ratios = [f / r for f, r in zip(fakes, floors, strict=True)]
            per_seed[seed] = {"swd": float(np.mean(fakes)), "swd_floor": float(np.mean(floors)),
                              "swd_ratio": float(np.mean(ratios)), "swd_ratio_draws": ratios}
        interval = mean_interval([q["swd_ratio"] for q in per_seed.values()])
        quality[name] = {"swd_n": n, "seeds": list(per_seed),
                         "swd": float(np.mean([q["swd"] for q in per_seed.values()])),
                         "swd_floor": float(np.mean(floors)), "swd_ratio": interval.mean,
                         **{f"swd_ratio_{k}": v for k, v in _bounds(interval).items()},
                         "swd_ratio_seeds": [q["swd_ratio"] for q in per_seed.values()],
                         "per_seed": per_seed,
                         "held_out_shift": held_out_shift(cfg, sets[name], device)}
    return quality


def quality_rows(quality: Mapping[str, dict]) -> list[dict]:
    """One row per dataset: SWD and its floor (means), the SWD ratio's mean over the training
    seeds with its 95 % Student-t interval over them, each seed's ratio, the held-out shift."""
    return [{"dataset": name, "images per set": q["swd_n"], "training seeds": len(q["seeds"]),
             "SWD": q["swd"], "real-real SWD": q["swd_floor"], "SWD ratio": q["swd_ratio"],
             "95 % t low": q["swd_ratio_low"], "95 % t high": q["swd_ratio_high"],
             "per seed": ", ".join(f"{v:.3g}" for v in q["swd_ratio_seeds"]),
             "held-out shift": q["held_out_shift"]} for name, q in quality.items()]


def measure_fid(cfg: Config, runs: Mapping[str, Mapping[int, Run]],
                sets: Mapping[str, Dataset]) -> dict[str, dict]:
    """Per dataset (quality="fid" only): FID of generated against real images, its mean over
    the training seeds (and each seed's), and the real-real FID floor, on as many images as the
    training set gives two disjoint samples of."""
    found = {}
    if cfg.quality != "fid":
        return found
    for name, by_seed in runs.items():
        train = sets[name].train.images
        n = min(cfg.eval_samples, len(train) // 2)
        real_a, real_b = draw(train, n, cfg.seed), draw(train, n, cfg.seed, offset=n)
        per_seed = {seed: fid(real_b, run.generate(n, seed=cfg.seed + 1000)).value
                    for seed, run in by_seed.items()}
        found[name] = {"fid": float(np.mean(list(per_seed.values()))), "fid_seeds": per_seed,
                       "fid_floor": fid(real_b, real_a).value, "fid_n": n}
    return found


@dataclass
class Memorisation:
    """A dataset's memorisation test: the metric, the samples tested and the training set."""

    result: MetricResult
    generated: torch.Tensor
    train: torch.Tensor

    @property
    def ratio(self) -> float:
        """Median nearest-training distance of samples over that of held-out images."""
        return self.result.value

    @property
    def share(self) -> float:
        """Share of samples nearer the training set than the held-out 5th percentile."""
        return self.result.extra["share_closer_than_held_out_p5"]

    @property
    def control(self) -> float:
        """Median distance of samples to as many training as held-out images, train over
        held-out: about 1 unless the samples copy training images."""
        return self.result.extra["train_vs_held_out"]


def memorisation_test(cfg: Config, run: Run, dataset: Dataset) -> Memorisation:
    """`memo_samples` samples against the whole training set and the held-out split (pixel L2),
    with the copy control: nearest of a random training subset against nearest held-out image,
    two reference sets of the same size."""
    train = dataset.train.float_images()
    test = dataset.test.images
    held_out = draw(test, min(cfg.memo_samples, len(test)), cfg.seed)
    generated = run.generate(cfg.memo_samples, seed=cfg.seed + 3000)
    result = memorisation(generated, train, held_out)
    seen = draw(train, len(held_out), cfg.seed + 1)
    to_seen, _ = nearest_neighbours(generated.flatten(1), seen.flatten(1))
    to_unseen, _ = nearest_neighbours(generated.flatten(1), held_out.flatten(1))
    result.extra["train_vs_held_out"] = float(to_seen.median() / to_unseen.median())
    return Memorisation(result, generated, train)


def memorisation_tests(cfg: Config, runs: Mapping[str, Mapping[int, Run]],
                       sets: Mapping[str, Dataset]) -> dict[str, dict[int, Memorisation]]:
    """The memorisation test of every dataset's generator, per training seed."""
    return {name: {seed: memorisation_test(cfg, run, sets[name]) for seed, run in by_seed.items()}
            for name, by_seed in runs.items()}


def memorisation_rows(memo: Mapping[str, Mapping[int, Memorisation]]) -> list[dict]:
    """One row per dataset: the memorisation test's numbers, each the mean over the training
    seeds [its 95 % Student-t interval over them]."""
    rows = []
    for name, by_seed in memo.items():
        tests = list(by_seed.values())
        first = tests[0]

        def over(values: list[float]) -> str:
            return _text(mean_interval(values))

        rows.append({
            "dataset": name, "training seeds": len(tests), "samples": len(first.generated),
            "training images": len(first.train),
            "held-out images": first.result.extra["n_held_out"],
            "median to training: samples": over([m.result.extra["median_fake_to_train"]
                                                 for m in tests]),
            "median to training: held-out": first.result.extra["median_held_out_to_train"],
            "memorisation ratio": over([m.ratio for m in tests]),
            "share < held-out p5": over([m.share for m in tests]),
            "train / held-out": over([m.control for m in tests])})
    return rows


def suspect(cfg: Config) -> str:
    """The dataset the seed suspected of memorisation: the one playing EMNIST (else the first)."""
    return next((s["name"] for s in cfg.datasets if s.get("seed_row") == "EMNIST"),
                cfg.datasets[0]["name"])


def scenic(cfg: Config) -> str:
    """The dataset with scenic backgrounds: the one playing CIFAR-10's airplanes (else the last)."""
    return next((s["name"] for s in cfg.datasets if s.get("seed_row") == "CIFAR-10 airplanes"),
                cfg.datasets[-1]["name"])


def plot_closest(memo: Mapping[str, Mapping[int, Memorisation]], cfg: Config,
                 chapter_dir: RunDir) -> Figure:
    """The suspect's eight samples closest to any training image above that image (the run of
    its first training seed)."""
    name = suspect(cfg)
    m = next(iter(memo[name].values()))
    return viz.plot_closest_pairs(m.generated, m.train, m.result, n=8,
                                  path=chapter_dir.figure(f"closest_pairs_{name}"))


# --------------------------------------------------------------------------- the table

# Per training seed, measured on each run; over the seeds, a mean with its t-interval.
PER_SEED = (*STATS, "swd", "swd_ratio", "fid", "memorisation_ratio",
            "share_closer_than_held_out_p5", "copy_control", "seconds_per_epoch", "images_per_s")


def table_rows(cfg: Config, sets: Mapping[str, Dataset], runs: Mapping[str, Mapping[int, Run]],
               quality: Mapping[str, dict], fids: Mapping[str, dict],
               memo: Mapping[str, Mapping[int, Memorisation]]) -> list[dict]:
    """One row per dataset and training seed: the seed report's quoted log line, this run's
    last-epoch means, budget, SWD (and FID), memorisation test, RMS contrast and speed."""
    rows = []
    for name, by_seed in runs.items():
        seed_row = SEED.get(sets[name].plays, {})
        q, f = quality[name], fids.get(name, {})
        for seed, run in by_seed.items():
            m, mem = run.metrics, memo[name][seed]
            rows.append({
                "dataset": name, "training_seed": seed, "seed_dataset": sets[name].plays,
                **{f"seed_{k}": seed_row.get(k) for k in STATS},
                "seed_iterations": (seed_row["iters_per_epoch"] * seed_row["epochs"]
                                    if seed_row else None),
                **{k: m[f"final_{k}"] for k in STATS},
                "iterations": m["steps"], "images_seen": m["steps"] * cfg.batch_size,
                "train_images": len(sets[name].train), "swd_n": q["swd_n"],
                **q["per_seed"][seed], "held_out_shift": q["held_out_shift"],
                "fid": f.get("fid_seeds", {}).get(seed), "fid_floor": f.get("fid_floor"),
                "memorisation_ratio": mem.ratio, "share_closer_than_held_out_p5": mem.share,
                "copy_control": mem.control, "rms_contrast": rms_contrast(sets[name].train.images),
                "seconds_per_epoch": m["seconds_per_epoch"], "images_per_s": m["images_per_s"],
                "run_dir": str(run.dir),
            })
    return rows


def datasets_of(rows: list[dict]) -> list[str]:
    """The datasets of the rows, in order of first appearance."""
    return list(dict.fromkeys(r["dataset"] for r in rows))


def training_seeds(rows: list[dict]) -> list[int]:
    """The training seeds the rows rest on, sorted: the same for every dataset, each once (a
    ValueError otherwise: an interval over seeds needs comparable runs)."""
    found = {}
    for r in rows:
        found.setdefault(r["dataset"], []).append(int(r["training_seed"]))
    if not found:
        raise ValueError("no rows: train at least one seed per dataset")
    for name, seeds in found.items():
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"{name}: a training seed appears twice in {sorted(seeds)}")
    distinct = {tuple(sorted(seeds)) for seeds in found.values()}
    if len(distinct) > 1:
        raise ValueError("the datasets were trained with different seeds: "
                         + "; ".join(f"{n} {sorted(s)}" for n, s in found.items()))
    return list(distinct.pop())


def seed_values(rows: list[dict], dataset: str, key: str) -> list[float]:
    """`key` of each of `dataset`'s rows, in the order of the training seeds."""
    mine = sorted((r for r in rows if r["dataset"] == dataset), key=lambda r: r["training_seed"])
    if not mine:
        raise ValueError(f"no row of the dataset {dataset!r}; rows of {datasets_of(rows)}")
    return [r[key] for r in mine]


def over_seeds(rows: list[dict], key: str) -> dict[str, Interval]:
    """Per dataset: the mean of `key` over its training seeds with its 95 % Student-t interval
    over them (NaN bounds with one seed)."""
    training_seeds(rows)
    return {name: mean_interval(seed_values(rows, name, key)) for name in datasets_of(rows)}


def dataset_rows(rows: list[dict]) -> list[dict]:
    """One row per dataset from the rows of its training seeds: what they share (the dataset,
    the seed report's numbers, the budget, contrast, held-out shift), the seeds, and for every
    per-seed measurement its mean over the seeds (`<key>`), its 95 % Student-t interval over
    them (`<key>_low`, `<key>_high`) and the values (`<key>_seeds`)."""
    seeds, summed = training_seeds(rows), []
    for name in datasets_of(rows):
        first = next(r for r in rows if r["dataset"] == name)
        row = {k: v for k, v in first.items()
               if k not in (*PER_SEED, "training_seed", "run_dir", "swd_ratio_draws")}
        row["training_seeds"] = seeds
        for key in PER_SEED:
            values = seed_values(rows, name, key)
            if any(v is None for v in values):
                row.update({key: None, f"{key}_low": None, f"{key}_high": None,
                            f"{key}_seeds": values})
                continue
            interval = mean_interval(values)
            row.update({key: interval.mean, **{f"{key}_{k}": v
                                               for k, v in _bounds(interval).items()},
                        f"{key}_seeds": values})
        summed.append(row)
    return summed


def record_table(chapter_dir: RunDir, rows: list[dict], cfg: Config,
                 speed: Mapping[int, float] | None = None) -> dict:
    """Write the table (cross_dataset.json/.csv: one row per dataset, means over the training
    seeds with their t-intervals; cross_dataset_seeds: one row per dataset and seed) and the
    headline numbers to metrics.json: per dataset the SWD ratio with its interval over the
    seeds, FID, memorisation ratio and copy control."""
    summed = dataset_rows(rows)
    chapter_dir.write_table(TABLE, summed, profile=cfg.profile, config=cfg.to_dict(),
                            seed_report=SEED, training_seeds=training_seeds(rows))
    chapter_dir.write_table(f"{TABLE}_seeds", rows, profile=cfg.profile, config=cfg.to_dict())
    headline = {"profile": cfg.profile, "datasets": [r["dataset"] for r in summed],
                "training_seeds": training_seeds(rows), "swd_draws": cfg.swd_draws}
    for r in summed:  # e.g. swd_ratio_digits, swd_ratio_digits_low, memorisation_ratio_digits
        name = r["dataset"]
        for key in ("swd_ratio", "fid", "memorisation_ratio", "copy_control", "loss_d",
                    "held_out_shift", "rms_contrast"):
            if r.get(key) is not None:
                headline[f"{key}_{name}"] = r[key]
        headline[f"swd_ratio_{name}_low"] = r["swd_ratio_low"]
        headline[f"swd_ratio_{name}_high"] = r["swd_ratio_high"]
    headline.update({f"images_per_s_width_{w}": v for w, v in (speed or {}).items()})
    return chapter_dir.update_metrics(**headline)


def _pair(a: float | None, b: float | None, digits: int = 3) -> str | None:
    return None if a is None else f"{a:.{digits}g} / {b:.{digits}g}"


def _text(interval: Interval, digits: int = 3) -> str:
    """'1.23 [1.01, 1.45]', or the mean alone with one value."""
    if math.isnan(interval.low):
        return f"{interval.mean:.{digits}g}"
    return f"{interval.mean:.{digits}g} [{interval.low:.{digits}g}, {interval.high:.{digits}g}]"


def _cell(row: dict, key: str, digits: int = 3) -> str | None:
    """A dataset row's mean of `key` over the seeds with its interval, as text."""
    if row.get(key) is None:
        return None
    low, high = row[f"{key}_low"], row[f"{key}_high"]
    return (f"{row[key]:.{digits}g}" if low is None
            else f"{row[key]:.{digits}g} [{low:.{digits}g}, {high:.{digits}g}]")


def _seeds_caption(rows: list[dict]) -> str:
    seeds = training_seeds(rows)
    return (f"{len(seeds)} training seed{'s' * (len(seeds) != 1)} per dataset "
            f"({', '.join(map(str, seeds))})")


def main_table(rows: list[dict], cfg: Config):
    """The cross-dataset table beside the seed report's quoted numbers (HTML): this run's
    numbers are means over the training seeds, the main ones with their 95 % t-interval."""
    shown = [{
        "dataset": r["dataset"], "seed": r["seed_dataset"], "seed Loss_D": r["seed_loss_d"],
        "seed Loss_G": r["seed_loss_g"], "seed D(x)": r["seed_d_x"],
        "seed D(G(z))": _pair(r["seed_d_g_z1"], r["seed_d_g_z2"], 4),
        "Loss_D": _cell(r, "loss_d"), "Loss_G": r["loss_g"], "D(x)": _cell(r, "d_x"),
        "D(G(z))": _pair(r["d_g_z1"], r["d_g_z2"]), "SWD": r["swd"],
        "real-real SWD": r["swd_floor"], "SWD ratio [95 % t]": _cell(r, "swd_ratio"),
        "FID": _cell(r, "fid"), "memorisation ratio [95 % t]": _cell(r, "memorisation_ratio"),
        "share < held-out p5 [95 % t]": _cell(r, "share_closer_than_held_out_p5", 2),
        "train / held-out [95 % t]": _cell(r, "copy_control"),
        "held-out shift": r["held_out_shift"], "s / epoch": r["seconds_per_epoch"]}
        for r in dataset_rows(rows)]
    return table(shown, caption=(
        f"One DCGAN, three datasets ({cfg.profile} profile, {_seeds_caption(rows)}): "
        "this run's last-epoch means, averaged over the training seeds, beside the seed's last "
        "quoted log line. [95 % t]: the Student-t interval over the training seeds (each "
        f"seed's SWD ratio itself a mean of {cfg.swd_draws} draws of the evaluation samples)"))


def summary(rows: list[dict], cfg: Config):
    """The chapter's table for the results page (one row per dataset, means over the training
    seeds [95 % Student-t interval over them])."""
    return table([{
        "profile": cfg.profile, "dataset": r["dataset"], "plays": r["seed_dataset"],
        "training seeds": len(r["training_seeds"]), "iterations": r["iterations"],
        "Loss_D": _cell(r, "loss_d"), "D(x)": _cell(r, "d_x"), "D(G(z))": r["d_g_z1"],
        "SWD ratio [95 % t]": _cell(r, "swd_ratio"), "FID": _cell(r, "fid"),
        "memorisation ratio [95 % t]": _cell(r, "memorisation_ratio"),
        "train / held-out [95 % t]": _cell(r, "copy_control"),
        "s/epoch": round(r["seconds_per_epoch"], 1),
    } for r in dataset_rows(rows)], caption=(
        f"Chapter 3: one DCGAN, three datasets, last-epoch means over "
        f"{_seeds_caption(rows)}; [95 % t]: Student-t interval over the training seeds"))


# --------------------------------------------------------------------------- claims

# Said in every interval rule: what the interval is over.
OVER_SEEDS = ("Welch 95 % t-interval over the training seeds (each seed's SWD ratio the mean of "
              "its draws of the evaluation samples)")


def _side(interval: Interval, threshold: float = 0.0) -> str:
    """"below" or "above" the threshold when the whole interval is; "straddles" otherwise (with
    one value: the side of the mean, "straddles" when it equals the threshold)."""
    if math.isnan(interval.low):
        return ("below" if interval.mean < threshold else "above" if interval.mean > threshold
                else "straddles")
    return ("below" if interval.below(threshold) else "above" if interval.above(threshold)
            else "straddles")


def _seed_fields(rows: list[dict]) -> dict:
    """`seeds` and `seed_ids` of a claim on these rows: the training seeds every dataset has."""
    seeds = training_seeds(rows)
    return {"seeds": len(seeds), "seed_ids": seeds}


def _listing(values: Mapping[str, float], reverse: bool = False, digits: int = 3) -> str:
    order = sorted(values, key=values.get, reverse=reverse)
    return ", ".join(f"{n} {values[n]:.{digits}g}" for n in order)


def _bounds(interval: Interval) -> dict:
    """low and high of an interval, None where there is none (one value)."""
    return {"low": None if math.isnan(interval.low) else interval.low,
            "high": None if math.isnan(interval.high) else interval.high}


def _interval(interval: Interval) -> dict:
    return {"value": interval.mean, **_bounds(interval)}


def ratio_gap(rows: list[dict], first: str, second: str) -> Interval:
    """The SWD ratio of `first` minus that of `second`: the difference of their means over the
    training seeds, with Welch's 95 % t-interval over the seeds (each seed one training run of
    each dataset, the runs independent: an unpaired comparison)."""
    training_seeds(rows)
    return difference_interval(seed_values(rows, first, "swd_ratio"),
                               seed_values(rows, second, "swd_ratio"))


def _ratios(rows: list[dict]) -> dict[str, float]:
    """Each dataset's SWD ratio, the mean over its training seeds."""
    return {name: interval.mean for name, interval in over_seeds(rows, "swd_ratio").items()}


def _seeds_said(rows: list[dict]) -> str:
    seeds = training_seeds(rows)
    return f"{len(seeds)} training seed{'s' * (len(seeds) != 1)} ({', '.join(map(str, seeds))})"


def contrast_claim(rows: list[dict], cfg: Config) -> Claim:
    """Claim 1: DCGAN works best where the object contrasts with the background. `rows`: one
    per dataset and training seed. The highest-contrast set's SWD ratio minus the lowest ratio
    among the others (by their means over the seeds), Welch interval over the training seeds:
    below 0 supports, above 0 refutes, else inconclusive."""
    by_name = {r["dataset"]: r for r in dataset_rows(rows)}
    contrast = {n: r["rms_contrast"] for n, r in by_name.items()}
    ratio = _ratios(rows)
    top = max(contrast, key=contrast.get)
    rival = min((n for n in ratio if n != top), key=ratio.get)
    gap = ratio_gap(rows, top, rival)
    side = _side(gap)
    verdict = {"below": lkclaims.SUPPORTED, "above": lkclaims.REFUTED}.get(side,
                                                                         lkclaims.INCONCLUSIVE)
    why = {"below": f"the highest-contrast set, {top}, is learned best: its SWD ratio is below "
                    f"that of {rival}, the best of the others: the difference is {gap}",
           "above": f"{rival} is learned better than the highest-contrast set, {top}: the SWD "
                    f"ratio of {top} minus that of {rival} is {gap}, above 0",
           "straddles": f"the SWD ratio of the highest-contrast set, {top}, minus that of "
                        f"{rival}, the best of the others, is {gap}, which includes 0"}[side]
    order_q, order_c = sorted(ratio, key=ratio.get), sorted(contrast, key=contrast.get,
                                                            reverse=True)
    why += (f". RMS contrast, highest first: {_listing(contrast, reverse=True)}; SWD ratio, "
            f"best first: {_listing(ratio)} ({'' if order_q == order_c else 'not '}the contrast "
            f"order); the interval is over {_seeds_said(rows)}")
    best = order_q[0]
    if best == min(by_name, key=lambda n: by_name[n]["train_images"]):
        size = by_name[best]["train_images"]
        why += (f". {best}, learned best, also has the smallest training set ({size:,} images, "
                f"each seen about {by_name[best]['images_seen'] / size:.0f} times): a small set "
                "is easier to fit, which this comparison cannot separate from contrast")
    return Claim(
        id="contrast", seed_report=SEED_REPORT, chapter=NAME, profile=cfg.profile,
        **_seed_fields(rows),
        claim="DCGAN performs best on datasets where the object contrasts clearly with its "
              "background (the EMNIST characters)",
        measurement="SWD ratio (generated over real-real SWD) of the highest-RMS-contrast set "
                    "minus the lowest mean SWD ratio among the other sets, equal budgets, means "
                    "over the training seeds",
        rule=f"supported if the {OVER_SEEDS} lies below 0, refuted if above 0 (another set "
             "learned better), else inconclusive",
        verdict=verdict, why=why, **_interval(gap))


def _percent(interval: Interval) -> str:
    """'12% [8%, 16%]' (or the mean alone with one value)."""
    if math.isnan(interval.low):
        return f"{interval.mean:.1%}"
    return f"{interval.mean:.1%} [{interval.low:.1%}, {interval.high:.1%}]"


def memorisation_claim(rows: list[dict], cfg: Config) -> Claim:
    """Claim 2: the EMNIST generator memorised its training set. Per training seed the share of
    samples below the held-out 5th percentile and the copy control; over the seeds their means
    with 95 % Student-t intervals. Supported when the share's interval lies above twice the
    expected 5 % and the control's below 0.9 (samples more than 10 % nearer to training than to
    held-out images); refuted when either interval lies on the other side; else
    inconclusive."""
    name = suspect(cfg)
    r = next(row for row in dataset_rows(rows) if row["dataset"] == name)
    share = mean_interval(seed_values(rows, name, "share_closer_than_held_out_p5"))
    control = mean_interval(seed_values(rows, name, "copy_control"))
    ratio = mean_interval(seed_values(rows, name, "memorisation_ratio"))
    near, copies = _side(share, 2 * EXPECTED_SHARE), _side(control, COPY_CONTROL)
    twice = (f"twice the {EXPECTED_SHARE:.0%} expected of samples as novel as unseen data "
             f"would be {2 * EXPECTED_SHARE:.0%}")
    if near == "above" and copies == "below":
        verdict = lkclaims.SUPPORTED
        why = (f"{_percent(share)} of the samples lie nearer to the training set than almost "
               f"all held-out images ({twice}), and they are nearer to training images than to "
               f"held-out ones (train / held-out {_text(control)}): near-copies")
    elif near == "below":
        verdict = lkclaims.REFUTED
        closer = "closer to" if ratio.mean < 1 else "no closer to"
        why = (f"the samples are {closer} the training set than held-out images are "
               f"(memorisation ratio {_text(ratio)}), only {_percent(share)} fall below the "
               f"held-out 5th percentile ({twice}), and train / held-out is {_text(control)}")
    elif copies == "above":
        verdict = lkclaims.REFUTED
        why = (f"{_percent(share)} of the samples lie close to the training set, but as close to "
               f"unseen images (train / held-out {_text(control)}, above {COPY_CONTROL}): "
               f"{'blurry averages, ' if near == 'above' else ''}not copies")
    else:
        verdict = lkclaims.INCONCLUSIVE
        why = (f"the share below the held-out 5th percentile, {_percent(share)} ({twice}), "
               f"and train / held-out, {_text(control)} (copies: below {COPY_CONTROL}), do not "
               "both lie clearly on one side of their thresholds")
    why += f"; means over {_seeds_said(rows)} with 95 % Student-t intervals over them"
    seed_iterations = r.get("seed_iterations")
    why += (f". This run made {r['iterations']:,} iterations per seed"
            + (f", the seed's {r['seed_dataset']} run {seed_iterations:,}; longer training can "
               "move samples closer to the training set" if seed_iterations else ""))
    why += _shift_note(r)
    return Claim(
        id="memorised", seed_report=SEED_REPORT, chapter=NAME, profile=cfg.profile,
        **_seed_fields(rows),
        claim=f"the EMNIST generator ({name} here) may have memorised its training set",
        measurement="copy control: median distance of samples to their nearest of as many "
                    "training as held-out images, train over held-out (pixel L2); and the share "
                    "of samples nearer the training set than the held-out 5th percentile; each "
                    "per training seed, then their means over the seeds",
        rule=f"supported if the 95 % Student-t interval over the training seeds of the share "
             f"lies above {2 * EXPECTED_SHARE:.0%} and that of the control below "
             f"{COPY_CONTROL}; refuted if the share's lies below {2 * EXPECTED_SHARE:.0%} or "
             f"the control's above {COPY_CONTROL}; else inconclusive",
        verdict=verdict, why=why, **_interval(control))


def scenic_claim(rows: list[dict], cfg: Config) -> Claim:
    """Claim 3: scenic backgrounds defeat DCGAN. `rows`: one per dataset and training seed. The
    scenic set's SWD ratio minus the highest ratio among the others (by their means over the
    seeds), Welch interval over the training seeds: above 0 supports, below 0 refutes (another
    set is learned worse), else inconclusive."""
    name = scenic(cfg)
    by_name = {r["dataset"]: r for r in dataset_rows(rows)}
    ratio = _ratios(rows)
    worst = max((n for n in ratio if n != name), key=ratio.get)
    gap = ratio_gap(rows, name, worst)
    side = _side(gap)
    verdict = {"above": lkclaims.SUPPORTED, "below": lkclaims.REFUTED}.get(side,
                                                                         lkclaims.INCONCLUSIVE)
    why = {"above": f"with equal budgets, {name} is the furthest from its real images in units "
                    f"of its own sampling floor: its SWD ratio exceeds that of {worst}, the "
                    f"worst of the others, by {gap}",
           "below": f"with equal budgets, {name} ({ratio[name]:.3g}) is learned better than "
                    f"{worst} ({ratio[worst]:.3g}): the difference {gap} lies below 0",
           "straddles": f"with equal budgets, the SWD ratio of {name} ({ratio[name]:.3g}) minus "
                        f"that of {worst} ({ratio[worst]:.3g}), the worst of the others, is "
                        f"{gap}, which includes 0"}[side]
    easier = [n for n in ratio if n != name and _side(ratio_gap(rows, n, name)) == "below"]
    if easier and side != "below":
        verb = "is" if len(easier) == 1 else "are"
        why += f"; {' and '.join(easier)} {verb} learned clearly better"
    why += f"; the interval is over {_seeds_said(rows)}"
    seed_iterations = {r["seed_dataset"]: r["seed_iterations"] for r in by_name.values()
                       if r.get("seed_iterations")}
    why += (f". All ran {by_name[name]['iterations']:,} iterations per seed"
            + (f"; in the seed the airplane run had {seed_iterations['CIFAR-10 airplanes']:,}, "
               f"the CelebA run {seed_iterations['CelebA']:,}"
               if {"CIFAR-10 airplanes", "CelebA"} <= set(seed_iterations) else ""))
    why += _shift_note(by_name[name])
    return Claim(
        id="scenic", seed_report=SEED_REPORT, chapter=NAME, profile=cfg.profile,
        **_seed_fields(rows),
        claim=f"images with a scenic background (CIFAR-10 airplanes; {name} here) defeat DCGAN",
        measurement="SWD ratio of the scenic set minus the highest mean SWD ratio among the "
                    "other sets, equal budgets, means over the training seeds",
        rule=f"supported if the {OVER_SEEDS} lies above 0, refuted if below 0 (another set "
             "learned worse), else inconclusive",
        verdict=verdict, why=why, **_interval(gap))


def _shift_note(row: dict) -> str:
    """A sentence when the held-out split lies far from the training set (another scene)."""
    shift = row["held_out_shift"]
    if shift <= SHIFTED:
        return ""
    return (f". The held-out {row['dataset']} images are {shift:.1f} sampling floors from the "
            "training set (other scenes), so this row's memorisation ratio compares against "
            "unusually distant images and reads low for that reason")


def claims(rows: list[dict], cfg: Config) -> list[Claim]:
    """The seed report's three conclusions, checked on the table's rows (one per dataset and
    training seed): each claim rests on the training seeds of the rows and lists them."""
    return [contrast_claim(rows, cfg), memorisation_claim(rows, cfg), scenic_claim(rows, cfg)]


def check_claims(chapter_dir: RunDir, rows: list[dict], cfg: Config) -> list[Claim]:
    """The claims of this run, written to the chapter folder's claims.json."""
    return lkclaims.record(chapter_dir, claims(rows, cfg), chapter=NAME)


# --------------------------------------------------------------------------- headless


@dataclass
class Result:
    """What `run` produced: the chapter folder, the runs, the table's rows, figures, claims."""

    dir: RunDir
    runs: dict[str, dict[int, Run]] = field(default_factory=dict)  # runs[dataset][seed]
    rows: list[dict] = field(default_factory=list)
    figures: dict[str, Figure] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)


def run(cfg: Config) -> Result:
    """The whole chapter, headless, as the notebook runs it: data, width probe, one training
    per dataset and training seed, figures (first seed), SWD ratios (and FID), memorisation
    tests, table and claims over the seeds."""
    check_ready(cfg)
    cfg, sets = load_data(cfg)
    speed = width_speed(cfg)
    chapter_dir = chapter_folder(cfg)
    result = Result(chapter_dir, runs=train_all(cfg, sets, chapter_dir))
    if not main_process():
        return result
    runs, device = result.runs, pick_device(cfg.device)
    result.figures = {"real_vs_fake": plot_samples(first_seed(runs), sets, cfg, chapter_dir),
                      **plot_training(first_seed(runs), cfg, chapter_dir)}
    quality = measure_quality(cfg, runs, sets, device)
    fids = measure_fid(cfg, runs, sets)
    memo = memorisation_tests(cfg, runs, sets)
    result.figures["closest_pairs"] = plot_closest(memo, cfg, chapter_dir)
    result.rows = table_rows(cfg, sets, runs, quality, fids, memo)
    record_table(chapter_dir, result.rows, cfg, speed)
    result.claims = check_claims(chapter_dir, result.rows, cfg)
    return result
