"""Chapter 6: the improved DCGAN's ablations (seed report 004), a grid of training runs over seeds.

The seed (Xin, anime faces at 96×96) chose two learning rates and label smoothing from the shape
of loss curves and judged a modified, residual generator by eye, one run per setting. This
chapter reruns its Tables 1–3 as a measured ablation: every setting over several seeds, a quality
metric at the seed's epochs 1, 5, 10 and 20, the time per epoch, diverged and collapsed runs
counted; `claims` judges the seed's three claims on those measurements.

One grid point is one training run (`train_point`). The grid is a YAML file shipped with the
package (`grids/ablations_<profile>.yaml`, `grid_path`); the notebook `06_improved_dcgan.ipynb`
and `labkit run ablations` run every point in this process (`run_grid`) into the chapter's
folder, then gather, table, plot and judge them. `labkit sweep ablations --grid <yaml>` runs the
same points as `labkit run ablations -p single_run=True`, one process (or Slurm job) each.

The chapter folder (`ablations-<time>/`) holds config.json, the grid's sweep.json and
`points/<setting>-seed<k>/` (point.json, run.log and the point's training run folder), then
metrics.json (the headline numbers), settings.json/.csv, findings.json/.csv, claims.json and the
figures.
"""

from __future__ import annotations

import contextlib
import html
import importlib.resources
import math
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .. import claims as lkclaims
from .. import compare, grid, viz
from ..book import table
from ..claims import INCONCLUSIVE, REFUTED, SUPPORTED, Claim
from ..data import ImageSet, load
from ..metrics import inception_weights_path, scorer
from ..models import count_parameters, dcgan, resdcgan
from ..profiles import ChapterConfig, knob
from ..stats import Interval, difference_interval, holm, mean_interval, welch_p_value
from ..train import Evaluator, Run, RunDir, TrainConfig, TrainingDiverged, runs_parent, train_gan
from .common import obtain, validate_grid_run

NUMBER, NAME, NOTEBOOK = 6, "ablations", "06_improved_dcgan.ipynb"
SEED_REPORT = "004"
MODELS = ("dcgan", "resdcgan")
METRICS = ("swd", "fid")
SWD_OPTIONS = {"directions": 128, "repeats": 2, "seed": 0}  # the same patches for every run
COLLAPSE_BELOW = 0.25  # samples' spread / real images' spread under this: mode collapse
RESERVED = ("single_run", "sweep_dir", "grid", "seeds")  # never grid parameters
SWEEP_PARAMETERS = {"single_run": True}  # what `labkit sweep` adds to every point
NOT_SETTINGS = (*grid.RESERVED, *RESERVED)  # knobs that never name a setting
FACTORS = ("learning_rate", "label_smoothing", "model", "table_3")  # the tables, in this order
SCAN = "lr_scan"  # the named grid of the learning-rate pre-scan (short runs: not a factor table)
FACTOR_KEYS = ("model", "lr_d", "lr_g", "real_label", "fake_label")
PAPER = {"image_size": 96, "channels": 3, "nz": 100, "ngf": 64, "ndf": 64}  # the seed's sizes
FAST = {"lr_d": 6.4e-3, "lr_g": 1.28e-3}  # the seed's chosen learning rates (D / G)
SMOOTH = {"real_label": 0.9, "fake_label": 0.1}  # the seed's chosen label targets
ONE_SIDED = {"real_label": 0.9, "fake_label": 0.0}  # Salimans et al. (2016): real side only
ALPHA = 0.05  # the family-wise error rate of the confirmatory comparisons (Holm)
REFERENCES = {"learning_rate": {}, "label_smoothing": FAST, "model": {**FAST, **SMOOTH}}
# each factor's settings are compared with this one (over the grid's baseline parameters)


# --------------------------------------------------------------------------- configuration


def grid_path(profile: str) -> Path:
    """The packaged grid file of a profile: labkit/chapters/grids/ablations_<profile>.yaml
    (gpu-offline runs full's grid, on the offline faces)."""
    profile = "full" if profile == "gpu-offline" else profile
    return Path(str(importlib.resources.files(__package__) / "grids" / f"{NAME}_{profile}.yaml"))


@dataclass
class Config(ChapterConfig):
    """Chapter 6's parameters. full: the seed's setting (anime faces, 96 px, FID); cpu: the 100
    offline LFW faces, grayscale 32×32, 4× narrower networks, SWD; smoke: a tiny grid for CI."""

    dataset: str = knob(smoke="faces", cpu="faces", full="anime", offline="faces",
                        doc='"anime" on full (Kaggle anime faces); the offline "faces" otherwise')
    split: str = knob("all", doc='"all"')
    image_size: int = knob(smoke=32, cpu=32, full=96, offline=64, choices=(32, 64, 96),
                           doc="96 as in the seed")
    channels: int = knob(smoke=1, cpu=1, full=3, offline=1, choices=(1, 3),
                         doc="3 colour, 1 grayscale")
    subset: int | None = knob(smoke=None, cpu=None, full=10_000, offline=None, low=1,
                              doc="10000 images as in the seed (None takes all)")
    epochs: int = knob(20, smoke=2, low=1, doc="the seed shows epochs 1, 5, 10 and 20")
    batch_size: int = knob(smoke=16, cpu=20, full=128, offline=20, low=1, doc="128 in the seed")
    data_repeats: int = knob(smoke=1, cpu=2, full=1, offline=5, low=1,
                             doc="passes over the data per epoch")
    model: str = knob("dcgan", choices=MODELS, doc='"dcgan" or "resdcgan" (the modified pair)')
    blocks: int = knob(9, low=1, doc="residual blocks of the modified generator (9 in the seed)")
    nz: int = knob(smoke=32, cpu=100, full=100, low=1, doc="latent size (100 in the seed)")
    ngf: int = knob(smoke=8, cpu=16, full=64, low=1, doc="generator width (64 in the seed)")
    ndf: int = knob(smoke=8, cpu=16, full=64, low=1, doc="discriminator width")
    lr_d: float = knob(2e-4, low=0, high=1, doc="Adam learning rate of D (baseline 2e-4)")
    lr_g: float = knob(2e-4, low=0, high=1, doc="Adam learning rate of G")
    beta1: float = knob(0.5, low=0, high=1, doc="Adam beta1 (0.5 in the seed)")
    real_label: float = knob(1.0, low=0, high=1, doc="D's target for real images")
    fake_label: float = knob(0.0, low=0, high=1, doc="D's target for fakes")
    flip: bool = knob(smoke=True, cpu=True, full=False, offline=True,
                      doc="random horizontal flips")
    log_every: int = knob(smoke=6, cpu=10, full=20, low=1, doc="iterations between log lines")
    metric: str = knob(smoke="swd", cpu="swd", full="fid", offline="swd", choices=METRICS,
                       doc='"fid" (Inception, full) or "swd" (offline)')
    eval_epochs: list[int] = knob([1, 5, 10, 20], smoke=[1, 2], low=1,
                                  doc="epochs at which the metric is measured (and the last)")
    eval_samples: int = knob(smoke=64, cpu=100, full=5000, offline=100, low=2,
                             doc="generated (and real) images per evaluation")
    seeds: list[int] = knob([0, 1, 2], smoke=[0, 1], low=0,
                            doc="the seeds every setting of the grid is trained with")
    grid: dict | None = knob(None, doc="the grid (a dict, as in a grid YAML); None: the "
                                       "profile's, grids/ablations_<profile>.yaml")
    single_run: bool = knob(False, doc="True trains only the setting given: one grid point")
    sweep_dir: str | None = knob(None, doc="a chapter folder to continue (done points skipped)")
    threads: int | None = knob(smoke=1, cpu=1, full=None, low=1,
                               doc="CPU threads (None leaves torch's default)")

    def validate(self) -> None:
        """The device, the grid (well formed, no reserved parameter) and the seeds."""
        super().validate()
        grid_of(self)
        validate_grid_run(self)


def grid_of(cfg: Config) -> dict:
    """The grid this configuration runs: `cfg.grid`, else the profile's packaged file; checked
    (a ValueError names the parameter and what is wrong)."""
    if cfg.grid is not None:
        return grid.check_grid(cfg.grid, source="parameter grid", reserved=RESERVED)
    path = grid_path(cfg.profile)
    checked = grid.load_grid(path)
    return grid.check_grid(checked, source=str(path), reserved=RESERVED)


def check_ready(cfg: Config) -> None:
    """Fail now, before any training: each point's settings (the grid's values included) and,
    for FID, Inception's weights (the error says the two ways to get them)."""
    TrainConfig.from_profile(cfg, name=NAME)
    if not cfg.single_run:
        for point in grid_points(cfg):
            TrainConfig.from_profile(point_config(point, cfg.out_dir), name=NAME)
    if cfg.metric == "fid" and not cfg.fallback:  # else load_data checks, after a fallback
        inception_weights_path()


def set_threads(cfg: Config) -> None:
    """Use `cfg.threads` CPU threads (one on cpu and smoke: see the notebook for why)."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)


def differences_from_paper(cfg: Config) -> list[dict]:
    """The settings in which this profile departs from `full` (the seed's experiment)."""
    paper = Config.resolve("full")
    ignored = {"profile", "grid", "out_dir", "data_root", "sweep_dir", "single_run",
               "log_every", "resume", "threads", "device"}
    return [{"setting": k, "full (the paper)": repr(getattr(paper, k)),
             f"{cfg.profile} (this run)": repr(getattr(cfg, k))}
            for k in Config.names() if k not in ignored and getattr(paper, k) != getattr(cfg, k)]


# --------------------------------------------------------------------------- data and models


def load_data(cfg: Config) -> tuple[Config, ImageSet]:
    """The training images as a uint8 cache, and the configuration they were loaded with: on a
    GPU without the anime faces (no automatic download), the offline faces at gpu-offline."""
    cfg, images = obtain(cfg, _load_images)
    if cfg.metric == "fid":
        inception_weights_path()  # before training: the error says how to get the weights
    return cfg, images


def _load_images(cfg: Config) -> ImageSet:
    return load(cfg.dataset, root=cfg.data_root, split=cfg.split, image_size=cfg.image_size,
                channels=cfg.channels, subset=cfg.subset)


def iterations_per_epoch(cfg: Config, images: int) -> int:
    """Training iterations in one epoch over `images` images."""
    return images // cfg.batch_size * cfg.data_repeats


def build_models(cfg: Config, channels: int, model: str | None = None):
    """The generator and discriminator named by `model` (default `cfg.model`) at the configured
    sizes, seeded by `cfg.seed`."""
    torch.manual_seed(cfg.seed)
    sizes = {"image_size": cfg.image_size, "channels": channels, "nz": cfg.nz, "ngf": cfg.ngf,
             "ndf": cfg.ndf}
    if (model or cfg.model) == "resdcgan":
        return resdcgan(**sizes, blocks=cfg.blocks)
    return dcgan(**sizes)


def parameter_counts(cfg: Config, channels: int) -> list[dict]:
    """Trainable parameters of both pairs at this run's sizes and at the seed's (96 px, RGB,
    64 channels; built on the meta device: shapes only), and the modified pair over the DCGAN."""
    rows = {}
    for name, build in (("dcgan", dcgan), ("resdcgan", resdcgan)):
        here = build_models(cfg, channels, model=name)
        with torch.device("meta"):
            there = build(**PAPER)
        rows[name] = [count_parameters(m) for m in (*here, *there)]
    columns = ("G (this run)", "D (this run)", "G (96 px, RGB)", "D (96 px, RGB)")
    ratio = [r / d for r, d in zip(rows["resdcgan"], rows["dcgan"])]
    return ([{"trainable parameters": n, **{c: f"{v:,}" for c, v in zip(columns, row)}}
             for n, row in rows.items()]
            + [{"trainable parameters": "resdcgan / dcgan",
                **{c: f"{v:.2f}" for c, v in zip(columns, ratio)}}])


# --------------------------------------------------------------------------- one grid point


def evaluator(cfg: Config, data: ImageSet) -> Evaluator:
    """The metric at `eval_epochs` (and the last) on the same latent vectors against the same
    real images in every run (SWD with fixed options, or Inception FID); no best.pt."""
    real = data.float_images(cfg.eval_samples, generator=torch.Generator().manual_seed(0))
    options = SWD_OPTIONS if cfg.metric == "swd" else {}
    return Evaluator(scorer(cfg.metric, **options), real, epochs=set(cfg.eval_epochs),
                     keep_best=False)


def sample_spread(fake: torch.Tensor, real: torch.Tensor) -> float:
    """The samples' mean per-pixel standard deviation over the real images': ~1 when they vary
    as much as the data, near 0 when the generator makes (nearly) one image for every z."""
    return float(fake.float().std(dim=0).mean() / real.float().std(dim=0).mean())


def train(cfg: Config, data: ImageSet, generator, discriminator, callbacks=(),
          run_dir: RunDir | None = None) -> Run:
    """Train one setting with the course's engine (a checkpoint at the end only; no bar)."""
    settings = TrainConfig.from_profile(cfg, name=NAME, progress=False, resume=False,
                                        checkpoint_every=cfg.epochs)
    return train_gan(generator, discriminator, data, settings, callbacks=tuple(callbacks),
                     run_dir=run_dir, record={"chapter": NAME, "parameters": cfg.to_dict()})


def train_point(cfg: Config, data: ImageSet | None = None) -> dict:
    """Train one setting (a grid point) into a fresh run folder under `cfg.out_dir`; returns
    {"status", "run_dir", "error"}. A NaN loss ends the run as "diverged" (recorded, not
    raised). metrics.json gains `curve_metric`, `model`, `sample_spread` (the samples' spread
    over the real images') and `collapsed` (spread below COLLAPSE_BELOW)."""
    data = data if data is not None else _load_images(cfg)
    generator, discriminator = build_models(cfg, data.images.shape[1])
    run_dir = RunDir.create(NAME, cfg.out_dir)
    try:
        run = train(cfg, data, generator, discriminator, (evaluator(cfg, data),), run_dir)
    except TrainingDiverged as error:  # the engine marked metrics.json "diverged"
        run_dir.update_metrics(curve_metric=cfg.metric, model=cfg.model)
        return {"status": "diverged", "run_dir": str(run_dir), "error": str(error)}
    real = data.float_images(64, generator=torch.Generator().manual_seed(0))
    spread = sample_spread(run.generate(64), real)
    run.metrics = run_dir.update_metrics(curve_metric=cfg.metric, model=cfg.model,
                                         sample_spread=spread, collapsed=spread < COLLAPSE_BELOW)
    return {"status": run.metrics["status"], "run_dir": str(run_dir), "error": None}


# --------------------------------------------------------------------------- the grid


def grid_points(cfg: Config) -> list[grid.Point]:
    """Every point of the grid, once per seed of `cfg.seeds`: the grid's baseline, then the
    parameters set here (the profile, and any knob changed from the profile's value), then the
    grid's values."""
    fixed = {"profile": cfg.profile,
             **{k: v for k, v in cfg.changed().items() if k not in NOT_SETTINGS}}
    return grid.expand(grid_of(cfg), fixed=fixed, seeds=cfg.seeds, reserved=RESERVED)


def describe_grid(points: Sequence[grid.Point], cfg: Config) -> str:
    """'21 runs: 7 settings x 3 seeds [0, 1, 2]' and the settings of each named grid."""
    lines = [f"{len(points)} runs: {len({p.setting for p in points})} settings x "
             f"{len(cfg.seeds)} seeds {cfg.seeds}"]
    for name in grid.named_grids(grid_of(cfg)):
        settings = {p.setting for p in points if name in p.grids}
        lines.append(f"  {title(name)}: {len(settings)} settings")
    return "\n".join(lines)


def point_config(point: grid.Point, out_dir) -> Config:
    """The configuration of one point, as `labkit sweep` runs it (`SWEEP_PARAMETERS` added)."""
    params = {**point.parameters, **SWEEP_PARAMETERS, "out_dir": str(out_dir) if out_dir else None}
    return Config.resolve(params.pop("profile", "auto"), **params)


def execute(point: grid.Point, folder: Path) -> dict:
    """Train one point in this process into `folder`, its log in `folder`/run.log (what a
    `labkit sweep` job does in a process of its own); returns the point's outcome."""
    cfg = point_config(point, folder)
    with open(Path(folder) / "run.log", "w") as log, contextlib.redirect_stdout(log):
        return train_point(cfg)


def chapter_folder(cfg: Config) -> RunDir:
    """The chapter's folder: `sweep_dir`, else (resume) the latest chapter folder under
    `out_dir` or the one `resume` names, else a fresh one; its config.json records the
    parameters it started with."""
    folder = None
    if cfg.sweep_dir:
        folder = RunDir(cfg.sweep_dir)
    elif isinstance(cfg.resume, str):
        folder = RunDir(cfg.resume)
    elif cfg.resume:
        folder = latest_chapter_folder(cfg.out_dir)
        print(f"resume=True: continuing {folder}" if folder else
              "resume=True: no earlier chapter folder; starting a fresh one")
    folder = folder or RunDir.create(NAME, cfg.out_dir)
    if not folder.read_config():
        folder.write_config({"chapter": NAME, "parameters": cfg.to_dict()})
    return folder


def latest_chapter_folder(out_dir=None) -> RunDir | None:
    """The newest `ablations-*` folder under `out_dir` that holds a grid (not a single run)."""
    parent = runs_parent(out_dir)
    found = [RunDir(p) for p in parent.glob(f"{NAME}-*") if p.is_dir()] if parent.is_dir() else []
    found = [r for r in found if _is_chapter_folder(r.read_config())]
    return max(found, key=lambda r: r.path.stat().st_mtime, default=None)


def _is_chapter_folder(config: dict) -> bool:
    """A chapter folder's config.json records the chapter but no training settings."""
    return config.get("chapter") == NAME and "train" not in config


def run_grid(cfg: Config, folder: RunDir,
             points: Sequence[grid.Point] | None = None) -> list[dict]:
    """Train every point not done yet in `folder`, one after the other in this process (points
    done before are skipped); returns every point's record."""
    points = list(points) if points is not None else grid_points(cfg)
    started = time.perf_counter()
    records = grid.run_points(points, folder.path, execute, grid=grid_of(cfg), chapter=NAME)
    counts = ", ".join(f"{sum(r['status'] == s for r in records)} {s}"
                       for s in ("finished", "diverged", "failed"))
    print(f"{len(records)} runs in {time.perf_counter() - started:.0f} s: {counts}")
    return records


# --------------------------------------------------------------------------- tables and figures


@dataclass
class Study:
    """The runs of the chapter folder: rows (one per run, with `elapsed`: the training seconds
    at the end of each epoch), one summary per setting (mean and t-interval over seeds per
    evaluated epoch), the settings of each factor, the metric; the learning-rate pre-scan's
    settings apart (`scan`: short runs, never compared with the factors' settings)."""

    rows: list[dict]
    summary: list[dict]
    tables: dict[str, list[dict]]
    metric: str
    epochs: list[int]
    scan: list[dict] = field(default_factory=list)

    @property
    def last(self) -> int | None:
        """The last evaluated epoch."""
        return self.epochs[-1] if self.epochs else None

    def find(self, **params) -> dict | None:
        """The setting with these parameters (numbers to 1e-9), or None."""
        return compare.find(self.summary, **params)


def gather(folder: RunDir | str, cfg: Config) -> Study:
    """The study of a chapter folder (or of one run folder, for a single run)."""
    rows = compare.collect(folder)
    for row in rows:
        history = RunDir(row["run_dir"]).read_history() if row["run_dir"] else {}
        row["elapsed"] = elapsed(history)
    everything = compare.summarize(rows)
    scan = [s for s in everything if SCAN in s["grids"]]
    settings = [s for s in everything if set(s["grids"]) - {SCAN} or not s["grids"]]
    tables = compare.factor_tables(settings, FACTORS)
    if list(tables) == ["all"]:
        tables = {"this run" if len(settings) == 1 else "all": settings}
    metric = next((s["metric"] for s in everything if s["metric"]), cfg.metric)
    epochs = sorted({e for s in settings for e in s["epochs"]})
    return Study(rows, settings, tables, metric, epochs, scan)


def elapsed(history: Mapping) -> dict[int, float]:
    """{epoch: training seconds from the start to the end of that epoch}, summed from the
    history's per-epoch seconds (evaluation time not included)."""
    total, out = 0.0, {}
    for record in history.get("epochs", []):
        total += float(record["seconds"])
        out[int(record["epoch"])] = total
    return out


def title(name: str) -> str:
    """A factor's name as a heading: 'learning_rate' -> 'learning rate'."""
    return name.replace("_", " ")


def _label_keys(settings: Sequence[dict]) -> list[str]:
    keys = compare.varying(settings)
    return keys if len(settings) > 1 else [k for k in FACTOR_KEYS if k in settings[0]["params"]]


def factor_rows(settings: Sequence[dict], study: Study) -> list[dict]:
    """One row per setting: runs, diverged, collapsed, failed, the metric at each evaluated
    epoch as mean [95 % t-interval] over seeds, seconds per epoch."""
    keys = _label_keys(settings)
    return [{"setting": compare.label(s["params"], keys), "runs": s["runs"],
             "diverged": s["diverged"], "collapsed": s["collapsed"], "failed": s["failed"],
             **{f"{study.metric} @ {e}": compare.cell(s, e) for e in study.epochs},
             "s / epoch": s["seconds_per_epoch"]} for s in settings]


def ran(study: Study, cfg: Config) -> str:
    """What the tables rest on: profile, data, epochs and seeds."""
    seeds = (f"seed {cfg.seed}" if cfg.single_run
             else f"seeds {', '.join(map(str, cfg.seeds))}")
    return (f"Profile {cfg.profile}: {cfg.dataset} at {cfg.image_size} px, {cfg.epochs} "
            f"epoch{'s' * (cfg.epochs != 1)}, {seeds}; {study.metric} (lower is better), "
            "mean [95 % t-interval] over the seeds")


def summary(study: Study, cfg: Config):
    """The chapter's tables for the results page: the profile, data and seeds they ran, then one
    HTML table per factor."""
    from IPython.display import HTML

    parts = [table(factor_rows(settings, study), caption=title(name))
             for name, settings in study.tables.items()]
    return HTML(f"<p><em>{html.escape(ran(study, cfg))}.</em></p>"
                + "".join(part.data for part in parts))


def figures(study: Study, folder: RunDir, cfg: Config | None = None) -> dict[str, Figure]:
    """Every figure of the chapter (`curves_figure`, `sample_figures`, and with `cfg` the
    pre-scan's `scan_figure` and `time_figure`), each written to `folder`."""
    made = {"metric_vs_epoch": curves_figure(study, folder), "lr_scan": scan_figure(study, folder),
            "metric_vs_time": time_figure(study, cfg, folder) if cfg else None}
    return {**{k: v for k, v in made.items() if v is not None}, **sample_figures(study, folder)}


def curves_figure(study: Study, folder: RunDir) -> Figure | None:
    """The metric per epoch, a panel per factor, the mean over seeds with its 95 % t-interval
    as a band (metric_vs_epoch.png); None without evaluations."""
    panels = {title(n): compare.curves(s) for n, s in study.tables.items() if compare.curves(s)}
    if not panels:
        return None
    return viz.plot_curves(panels, study.metric, path=folder.figure("metric_vs_epoch"))


def sample_figures(study: Study, folder: RunDir) -> dict[str, Figure]:
    """For the seed's path from its baseline to its final model (Table 3), each setting's
    fixed-noise samples (first seed) at the evaluated epochs (samples_<k>.png)."""
    path = (study.tables.get("table_3") or study.tables.get("model")
            or next(iter(study.tables.values()), []))
    keys = _label_keys(path) if path else []
    shown = {}
    for i, setting in enumerate(path, start=1):
        grids, seed = sample_grids(study, setting)
        if grids:
            figure = viz.plot_grids_over_epochs(grids)
            figure.suptitle(f"{compare.label(setting['params'], keys)} (seed {seed})")
            figure.savefig(folder.figure(f"samples_{i}"), dpi=viz.DPI)
            shown[f"samples_{i}"] = figure
    return shown


def sample_grids(study: Study, setting: dict) -> tuple[dict[int, Path], int | None]:
    """The fixed-noise grids at the evaluated epochs of the setting's first run, and its seed."""
    run = next((r for r in study.rows if r["setting"] == setting["setting"] and r["run_dir"]),
               None)
    if run is None:
        return {}, None
    saved = RunDir(run["run_dir"]).sample_paths()
    return {e: saved[e] for e in study.epochs if e in saved}, run["seed"]


# --------------------------------------------------------------------------- comparisons


CONFIRMATORY, EXPLORATORY = "confirmatory", "exploratory"


@dataclass(frozen=True)
class SeedClaim:
    """One of the seed's claims: setting a trains faster and better than setting b."""

    id: str
    claim: str
    a: dict
    b: dict


def seed_claims(study_grid: Mapping) -> list[SeedClaim]:
    """The seed's three claims as pairs of settings, from the grid's baseline (DCGAN,
    lr 0.0002 / 0.0002, labels 1 / 0)."""
    base = {k: v for k, v in (study_grid.get("parameters") or {}).items() if k != "profile"}
    fast = {**base, **FAST}
    smooth = {**fast, **SMOOTH}
    return [
        SeedClaim("learning_rates", "a discriminator learning rate of 0.0064 with 0.00128 for "
                  "the generator trains faster and better than 0.0002 for both", fast, base),
        SeedClaim("label_smoothing", "real / fake label targets of 0.9 / 0.1 train faster and "
                  "better than 1 / 0 (at learning rates 0.0064 / 0.00128)", smooth, fast),
        SeedClaim("modified_model", "the modified pair (nine residual blocks in G, D's last stage "
                  "repeated and averaged) trains faster and better than the DCGAN (at 0.0064 / "
                  "0.00128, labels 0.9 / 0.1)", {**smooth, "model": "resdcgan"}, smooth),
    ]


@dataclass
class Test:
    """One comparison of setting a with setting b: mean(a) − mean(b) with its 95 % Welch
    t-interval, Welch's two-sided p and the Holm-adjusted p within its family. `where` is an
    epoch, or "time" (at `seconds` of training: the equal-time comparison)."""

    id: str  # "learning_rates @ 20", "modified_model @ equal time", "G 0.0032 vs G 0.00128"
    family: str  # CONFIRMATORY (the seed's claims: verdicts) or EXPLORATORY (no verdict)
    a: dict | None
    b: dict | None
    where: int | str | None
    mean_a: float
    mean_b: float
    difference: Interval
    p: float
    seed_ids: list[int]
    claim: str | None = None  # the seed claim this comparison judges
    seconds: float | None = None  # the common training time of an equal-time comparison
    holm: float = math.nan
    mode: str = "min"

    @property
    def key(self) -> tuple:
        return _key(self.a, self.b, self.where)

    @property
    def verdict(self) -> str:
        """"a better" / "b better" when the Holm-adjusted p is below ALPHA (by the metric's
        mode), "no clear difference" otherwise, "not measured" without two runs a side."""
        if self.difference.n < 2 or math.isnan(self.p):
            return "not measured"
        if not self.holm < ALPHA:
            return "no clear difference"
        lower = self.difference.mean < 0
        return "a better" if lower == (self.mode != "max") else "b better"

    @property
    def at(self) -> str:
        """Where the comparison is made, in words."""
        if self.where == "time":
            return f"{self.seconds:.1f} s of training" if self.seconds else "equal time"
        return f"epoch {self.where}"

    def text(self, metric: str) -> str:
        """'A − B in swd at epoch 20: -3.1 [-5, -1.2], p = 0.012, Holm p = 0.09'."""
        return (f"A − B in {metric} at {self.at}: {self.difference}, p = {_p(self.p)}, "
                f"Holm p = {_p(self.holm)}")


def _key(a: dict | None, b: dict | None, where) -> tuple:
    return ((a or {}).get("setting"), (b or {}).get("setting"), where)


def _p(p: float) -> str:
    return "–" if p is None or math.isnan(p) else f"{p:.2g}" if p >= 0.001 else "<0.001"


def seeds_at(study: Study, setting: dict | None, epoch: int) -> list[int]:
    """The training seeds of the setting's runs that reached `epoch` (have the metric there)."""
    if not setting:
        return []
    return sorted(r["seed"] for r in study.rows
                  if r["setting"] == setting["setting"] and epoch in r["curve"])


def epoch_test(study: Study, test_id: str, a: dict | None, b: dict | None, epoch: int,
               family: str, claim: str | None = None) -> Test:
    """a against b at one epoch."""
    c = compare.compare(a, b, epoch)
    va = (a or {}).get("values", {}).get(epoch, [])
    vb = (b or {}).get("values", {}).get(epoch, [])
    common = sorted(set(seeds_at(study, a, epoch)) & set(seeds_at(study, b, epoch)))
    return Test(test_id, family, a, b, epoch, c.mean_a, c.mean_b, c.difference,
                welch_p_value(va, vb), common, claim, mode=(a or b or {}).get("mode", "min"))


# ---- equal wall-clock time


def timed_runs(study: Study, setting: dict | None) -> list[dict]:
    """The setting's finished runs as {"seed", "points": [(training seconds, metric), ...]} at
    its evaluated epochs (a diverged run stopped early: it reached no common time)."""
    if not setting:
        return []
    runs = []
    for row in study.rows:
        if row["setting"] != setting["setting"] or row["status"] != "finished":
            continue
        points = [(row["elapsed"][e], v) for e, v in sorted(row["curve"].items())
                  if e in row.get("elapsed", {})]
        if points:
            runs.append({"seed": row["seed"], "points": points})
    return runs


def common_time(*settings_runs: Sequence[dict]) -> float | None:
    """The largest training time every run reached: the smallest of the runs' total times."""
    totals = [run["points"][-1][0] for runs in settings_runs for run in runs]
    return min(totals) if totals and all(settings_runs) else None


def value_at(points: Sequence[tuple[float, float]], seconds: float) -> float | None:
    """The metric at `seconds` of training, interpolated linearly between the two evaluated
    epochs around it; None before the first evaluation or after the last."""
    if not points or seconds < points[0][0] - 1e-9 or seconds > points[-1][0] + 1e-9:
        return None
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if t0 <= seconds <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (seconds - t0) / (t1 - t0)
    return points[-1][1] if seconds >= points[-1][0] - 1e-9 else points[0][1]


def time_test(study: Study, test_id: str, a: dict | None, b: dict | None, family: str,
              claim: str | None = None) -> Test:
    """a against b at equal training time: at the largest time every run of both reached, each
    run's metric interpolated in time between its evaluated epochs."""
    runs_a, runs_b = timed_runs(study, a), timed_runs(study, b)
    seconds = common_time(runs_a, runs_b)
    found = {}
    for side, runs in (("a", runs_a), ("b", runs_b)):
        found[side] = {r["seed"]: value_at(r["points"], seconds) for r in runs} if seconds else {}
        found[side] = {k: v for k, v in found[side].items() if v is not None}
    va, vb = list(found["a"].values()), list(found["b"].values())
    return Test(test_id, family, a, b, "time",
                statistics.fmean(va) if va else math.nan,
                statistics.fmean(vb) if vb else math.nan, difference_interval(va, vb),
                welch_p_value(va, vb), sorted(set(found["a"]) & set(found["b"])), claim,
                seconds, mode=(a or b or {}).get("mode", "min"))


def time_curves(study: Study, settings: Sequence[dict]) -> dict[str, dict]:
    """{label: {"seconds", "mean", "low", "high"}}: each setting's metric at its evaluated
    epochs against the mean training time there (finished runs)."""
    keys = compare.varying(settings)
    out = {}
    for s in settings:
        runs = timed_runs(study, s)
        if not runs:
            continue
        n = min(len(r["points"]) for r in runs)
        times = [statistics.fmean(r["points"][i][0] for r in runs) for i in range(n)]
        intervals = [mean_interval([r["points"][i][1] for r in runs]) for i in range(n)]
        out[compare.label(s["params"], keys)] = {
            "seconds": times, "mean": [i.mean for i in intervals],
            "low": [i.low for i in intervals], "high": [i.high for i in intervals]}
    return out


# ---- the two families


@dataclass
class Comparisons:
    """Every comparison of the chapter, in two families, each Holm-adjusted on its own: the
    confirmatory one (the seed's claims: each claim at every evaluated epoch, and the modified
    pair at equal training time), which decides the verdicts, and the exploratory one (every
    other setting against its factor's reference, and the seed's narrower choices), which
    carries no verdict."""

    tests: list[Test]

    def family(self, name: str) -> list[Test]:
        """The tests of one family."""
        return [t for t in self.tests if t.family == name]

    def find(self, a: dict | None, b: dict | None, where) -> Test | None:
        """The test of a against b at `where` (an epoch or "time"), or None."""
        key = _key(a, b, where)
        return next((t for t in self.tests if t.key == key), None)

    def of_claim(self, claim_id: str) -> list[Test]:
        """The tests that judge one seed claim, in order."""
        return [t for t in self.tests if t.claim == claim_id]


def comparisons(study: Study, cfg: Config) -> Comparisons:
    """The confirmatory and the exploratory comparisons of the study, Holm-adjusted each."""
    base = _baseline(cfg)
    fast, smooth = {**base, **FAST}, {**base, **FAST, **SMOOTH}
    confirmatory = []
    for sc in seed_claims(grid_of(cfg)):
        a, b = study.find(**sc.a), study.find(**sc.b)
        confirmatory += [epoch_test(study, f"{sc.id} @ {e}", a, b, e, CONFIRMATORY, sc.id)
                         for e in study.epochs]
    confirmatory.append(time_test(study, "modified_model @ equal time",
                                  study.find(**{**smooth, "model": "resdcgan"}),
                                  study.find(**smooth), CONFIRMATORY, EQUAL_TIME))
    known = {t.key for t in confirmatory}
    exploratory: list[Test] = []

    def add(name: str, a: dict | None, b: dict | None) -> None:
        if a and b and a is not b and study.last is not None \
                and _key(a, b, study.last) not in known | {t.key for t in exploratory}:
            exploratory.append(epoch_test(study, name, a, b, study.last, EXPLORATORY))

    keys = {name: _label_keys(settings) for name, settings in study.tables.items()}
    for factor, reference in REFERENCES.items():
        settings = study.tables.get(factor, [])
        ref = compare.find(settings, **{**base, **reference})
        for s in settings:
            add(f"{compare.label(s['params'], keys[factor])} vs reference", s, ref)
    chosen = study.find(**fast)
    for g in (3.2e-3, 6.4e-4):
        add(f"G {g:g} vs G 0.00128", study.find(**{**fast, "lr_g": g}), chosen)
    add("labels 0.9/0.1 vs 0.99/0.01", study.find(**smooth),
        study.find(**{**fast, "real_label": 0.99, "fake_label": 0.01}))
    add("one-sided 0.9/0 vs two-sided 0.9/0.1", study.find(**{**fast, **ONE_SIDED}),
        study.find(**smooth))
    for family in (confirmatory, exploratory):
        for test, adjusted in zip(family, holm([t.p for t in family])):
            test.holm = adjusted
    return Comparisons(confirmatory + exploratory)


def comparison_rows(study: Study, cfg: Config, found: Comparisons | None = None) -> list[dict]:
    """Every comparison: A and B (mean [95 % t-interval]), A − B with its Welch interval,
    Welch's p, the Holm-adjusted p within its family, and which is better there (by Holm)."""
    found = found or comparisons(study, cfg)
    rows = []
    for t in found.tests:
        rows.append({"family": t.family, "comparison": t.id, "at": t.at,
                     "A": _mean_cell(t.mean_a, t.a, t.where), "B": _mean_cell(t.mean_b, t.b,
                                                                            t.where),
                     "A − B [95 % Welch]": str(t.difference), "p": _p(t.p),
                     "Holm p": _p(t.holm), "seeds": ", ".join(map(str, t.seed_ids)) or "–",
                     "there": t.verdict.replace("a ", "A ").replace("b ", "B ")})
    return rows


def _mean_cell(mean: float, setting: dict | None, where) -> str:
    if setting and isinstance(where, int):
        return compare.cell(setting, where)
    return "—" if math.isnan(mean) else f"{mean:.3g}"


def ablation_rows(study: Study, cfg: Config, found: Comparisons | None = None) -> list[dict]:
    """The ablation table: every setting of each factor with the seeds it ran, the metric at the
    last epoch (mean [95 % t-interval]), its training time, and its comparison with the
    factor's reference setting: A − B (Welch), p and the Holm-adjusted p in its family."""
    found = found or comparisons(study, cfg)
    base, last, rows = _baseline(cfg), study.last, []
    for factor, reference in REFERENCES.items():
        settings = study.tables.get(factor, [])
        ref = compare.find(settings, **{**base, **reference})
        keys = _label_keys(settings) if settings else []
        for s in settings:
            t = found.find(s, ref, last) if s is not ref else None
            runs = timed_runs(study, s)
            total = [r["points"][-1][0] for r in runs]
            rows.append({
                "factor": title(factor), "setting": compare.label(s["params"], keys),
                "seeds": ", ".join(map(str, seeds_at(study, s, last))) or "–",
                f"{study.metric} @ {last}": compare.cell(s, last) if last else "—",
                "training s": f"{statistics.fmean(total):.1f}" if total else "—",
                "s / epoch": (f"{s['seconds_per_epoch']:.2f}" if s["seconds_per_epoch"]
                              else "—"),
                "against": "reference" if s is ref else (
                    compare.label(ref["params"], keys) if ref else "—"),
                "A − B [95 % Welch]": str(t.difference) if t else "",
                "p": _p(t.p) if t else "", "Holm p": _p(t.holm) if t else "",
                "family": t.family if t else ""})
    return rows


def ablation_table(study: Study, cfg: Config, found: Comparisons | None = None):
    """The ablation table as HTML, its caption saying what the intervals and p-values are."""
    return table(ablation_rows(study, cfg, found), caption=(
        f"The ablations at epoch {study.last}: mean [95 % t-interval] over seeds; each setting "
        "against its factor's reference, Welch's p and Holm's adjusted p within its family"))


# --------------------------------------------------------------------------- claims


EQUAL_TIME = "modified_model_equal_time"
RULE = ("at each evaluated epoch, A is better when mean(A) − mean(B) is below 0 with a "
        "Holm-adjusted Welch p below 0.05 (B better: above 0), the family being every comparison "
        "the seed's claims rest on (each claim at each evaluated epoch, and the equal-time "
        "comparison); supported when A is better at an earlier epoch and at the last, refuted "
        "when B is better at any epoch, inconclusive otherwise; the value is A − B at the last "
        "epoch with its unadjusted 95 % Welch t-interval")
TIME_RULE = ("A is better when mean(A) − mean(B) at the common training time is below 0 with "
             "a Holm-adjusted Welch p below 0.05 (same family as the other claims): supported; "
             "B better: refuted; inconclusive otherwise; the value is A − B with its unadjusted "
             "95 % Welch t-interval")


def judged(seed_claim: SeedClaim, study: Study, cfg: Config, found: Comparisons) -> Claim:
    """A seed claim judged on its confirmatory comparisons (Holm-adjusted): the verdict, the
    difference at the last epoch with its interval, and why in words chosen by the outcome."""
    tests = found.of_claim(seed_claim.id)
    verdict, reason = judge(tests, study.metric)
    last = tests[-1] if tests else None
    return Claim(
        id=seed_claim.id, seed_report=SEED_REPORT, claim=seed_claim.claim,
        measurement=f"{study.metric} of A (the claimed setting) − B at each evaluated epoch, "
                    f"mean over seeds; the value is the last epoch's ({study.last})",
        rule=RULE, verdict=verdict, why=reason, **_seeds_of(last, cfg), profile=cfg.profile,
        value=_number(last.difference.mean if last else None),
        low=_number(last.difference.low if last else None),
        high=_number(last.difference.high if last else None))


def judge(tests: Sequence[Test], metric: str) -> tuple[str, str]:
    """(verdict, why) of a "faster and better" claim from its per-epoch tests (Holm)."""
    if not tests or all(t.verdict == "not measured" for t in tests):
        return INCONCLUSIVE, "the two settings were not each measured by two runs or more"
    better = [t.where for t in tests if t.verdict == "a better"]
    worse = [t.where for t in tests if t.verdict == "b better"]
    last = tests[-1]
    at_last = last.text(metric)
    if worse:
        return REFUTED, (f"B is better at epoch{'s' * (len(worse) > 1)} {_epochs(worse)} "
                         f"({at_last})")
    if better and better[-1] == last.where and len(better) > 1:
        return SUPPORTED, f"A is better at epochs {_epochs(better)}, the last included ({at_last})"
    if better and better[-1] == last.where:
        return INCONCLUSIVE, (f"A is better at the last epoch ({at_last}) but at no earlier one: "
                              "better, not shown to be faster")
    if better:
        return INCONCLUSIVE, (f"A is better at epoch{'s' * (len(better) > 1)} {_epochs(better)} "
                              f"but not at the last ({at_last}): faster, not shown to be better")
    unadjusted = [t.where for t in tests if t.p < ALPHA]
    if unadjusted:
        return INCONCLUSIVE, (f"no Holm-adjusted p is below {ALPHA:g}; unadjusted, the interval "
                              f"excludes 0 at epoch{'s' * (len(unadjusted) > 1)} "
                              f"{_epochs(unadjusted)}, not enough for the family of comparisons "
                              f"({at_last})")
    return INCONCLUSIVE, f"no interval excludes 0 at any evaluated epoch ({at_last}): within " \
                         "the seed noise"


def equal_time_claim(study: Study, cfg: Config, found: Comparisons) -> Claim:
    """The modified pair against the DCGAN at equal training time (the largest time every run of
    both reached), judged by its Holm-adjusted comparison."""
    (t,) = found.of_claim(EQUAL_TIME) or (None,)
    if t is None or t.verdict == "not measured":
        verdict, reason = INCONCLUSIVE, _unmeasured_time(t)
    else:
        verdict = {"a better": SUPPORTED, "b better": REFUTED}.get(t.verdict, INCONCLUSIVE)
        where = {SUPPORTED: "the modified pair is better", REFUTED: "the DCGAN is better",
                 INCONCLUSIVE: "no difference beyond the seed noise and the number of "
                               "comparisons"}[verdict]
        reason = f"{where} at equal training time ({t.text(study.metric)})"
    return Claim(
        id=EQUAL_TIME, seed_report=SEED_REPORT,
        claim="the modified pair is faster and better than the DCGAN: better at equal "
              "wall-clock training time, not only at equal epochs",
        measurement=f"{study.metric} of the modified pair (A) − the DCGAN (B), both at 0.0064 / "
                    "0.00128 and labels 0.9 / 0.1, at the largest training time every run of "
                    "both reached, each run's metric interpolated linearly in training seconds "
                    "between its evaluated epochs",
        rule=TIME_RULE, verdict=verdict, why=reason, **_seeds_of(t, cfg), profile=cfg.profile,
        value=_number(t.difference.mean if t else None),
        low=_number(t.difference.low if t else None),
        high=_number(t.difference.high if t else None))


def _unmeasured_time(t: Test | None) -> str:
    """Why an equal-time comparison has no result, in words."""
    if t is None or not t.seconds:
        return "the two models were not each measured by two runs or more"
    return (f"at {t.seconds:.2f} s of training, the largest time every run of both reached, "
            "fewer than two runs of a side had been evaluated (the slower pair's first "
            "evaluation comes later): no comparison at equal time")


def _seeds_of(test: Test | None, cfg: Config) -> dict:
    """seeds and seed_ids of a claim: the training seeds both sides of its test measured."""
    ids = test.seed_ids if test and test.seed_ids else list(cfg.seeds)
    return {"seeds": len(set(ids)), "seed_ids": sorted(set(ids))}


def _epochs(epochs: Sequence[int]) -> str:
    words = [str(e) for e in epochs]
    return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]


def _number(x) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def claims(study: Study, cfg: Config, found: Comparisons | None = None) -> list[Claim]:
    """The seed's three claims and the modified pair at equal time, judged on this study."""
    found = found or comparisons(study, cfg)
    return ([judged(c, study, cfg, found) for c in seed_claims(grid_of(cfg))]
            + [equal_time_claim(study, cfg, found)])


def check_claims(study: Study, cfg: Config, folder: RunDir) -> list[Claim]:
    """The claims of this study, written to the chapter folder's claims.json (none for a
    single run: a claim compares settings)."""
    if cfg.single_run:
        return []
    return lkclaims.record(folder, claims(study, cfg), chapter=NAME)


def verdicts_table(found: Sequence[Claim]):
    """The claims in short (claim, verdict, seeds) as an HTML table."""
    return table([{"claim": c.claim, "verdict": c.verdict, "seeds": c.seeds_text}
                  for c in found])


# --------------------------------------------------------------------------- narrower findings


def findings(study: Study, cfg: Config, found: Comparisons | None = None) -> list[dict]:
    """The seed's narrower choices and the cost of its model, each a question and the answer
    this study gives (chosen by the outcome; exploratory except the equal-time comparison):
    where the seed's rates sit in the pre-scan, the G rate next to D 0.0064, labels 0.9 / 0.1
    against 0.99 / 0.01, one-sided smoothing, the modified pair at equal training time,
    diverged and collapsed runs."""
    found = found or comparisons(study, cfg)
    fast = {**_baseline(cfg), **FAST}
    return [scan_finding(study), generator_rate(study, found, fast),
            label_targets(study, found, fast), one_sided(study, found, fast),
            equal_time(study, found), failures(study)]


def _lean(t: Test, a: str, b: str) -> str:
    """An exploratory comparison in words: which is lower, and whether Holm (within the
    exploratory family) separates them."""
    if t.verdict == "not measured":
        return "too few runs to tell"
    lower = a if t.difference.mean < 0 else b
    if t.verdict in ("a better", "b better"):
        return f"{lower} is better (Holm p = {_p(t.holm)} in the exploratory family)"
    return (f"{lower} is lower, within the noise (p = {_p(t.p)}, Holm p = {_p(t.holm)}; "
            "exploratory)")


def generator_rate(study: Study, found: Comparisons, fast: dict) -> dict:
    """Which G rate next to D 0.0064 has the lowest metric at the last epoch, and each other
    rate against the seed's 0.00128 (exploratory)."""
    question = "G learning rate next to D 0.0064: is the seed's 0.00128 the best of three?"
    chosen = study.find(**fast)
    others = [study.find(**{**fast, "lr_g": g}) for g in (3.2e-3, 6.4e-4)]
    measured = [s for s in [chosen, *others] if s and study.last in s["mean"]]
    if len(measured) < 2 or chosen not in measured:
        return {"question": question, "answer": "the three G rates were not all measured"}
    best = min(measured, key=lambda s: s["mean"][study.last])
    lowest = (f"lowest {study.metric} at epoch {study.last}: G {best['params']['lr_g']:g} "
              f"({best['mean'][study.last]:.4g}; 0.00128: {chosen['mean'][study.last]:.4g})")
    parts = [f"G {s['params']['lr_g']:g} against 0.00128: "
             + _lean(t, f"G {s['params']['lr_g']:g}", "0.00128")
             for s in others if s and (t := found.find(s, chosen, study.last))]
    return {"question": question,
            "answer": f"{'yes' if best is chosen else 'not shown'}: {lowest}; " + "; ".join(parts)}


def label_targets(study: Study, found: Comparisons, fast: dict) -> dict:
    """Labels 0.9 / 0.1 against 0.99 / 0.01 at the last epoch (at D 0.0064 / G 0.00128)."""
    question = "labels 0.9 / 0.1 against 0.99 / 0.01: which is better at the last epoch?"
    smooth = study.find(**{**fast, **SMOOTH})
    soft = study.find(**{**fast, "real_label": 0.99, "fake_label": 0.01})
    t = found.find(smooth, soft, study.last) if smooth and soft else None
    if t is None:
        return {"question": question, "answer": "0.99 / 0.01 was not measured"}
    return {"question": question,
            "answer": f"{_lean(t, '0.9 / 0.1', '0.99 / 0.01')} ({study.metric} at epoch "
                      f"{study.last}: {t.mean_a:.4g} against {t.mean_b:.4g}, difference "
                      f"{t.difference})"}


def one_sided(study: Study, found: Comparisons, fast: dict) -> dict:
    """One-sided smoothing (real 0.9, fake 0) against the seed's two-sided 0.9 / 0.1."""
    question = ("one-sided smoothing (real 0.9, fake 0, Salimans et al.) against the seed's "
                "two-sided 0.9 / 0.1: which is better at the last epoch?")
    mine = study.find(**{**fast, **ONE_SIDED})
    seeds = study.find(**{**fast, **SMOOTH})
    t = found.find(mine, seeds, study.last) if mine and seeds else None
    if t is None:
        return {"question": question, "answer": "one-sided smoothing was not measured"}
    return {"question": question,
            "answer": f"{_lean(t, 'one-sided', 'two-sided')} ({study.metric} at epoch "
                      f"{study.last}: {t.mean_a:.4g} against {t.mean_b:.4g}, difference "
                      f"{t.difference})"}


def equal_time(study: Study, found: Comparisons) -> dict:
    """The modified pair against the DCGAN at equal training time (the confirmatory test of the
    equal-time claim), and what an epoch of each costs."""
    question = "the modified pair at equal wall-clock time: better than the DCGAN?"
    (t,) = found.of_claim(EQUAL_TIME) or (None,)
    if t is None or not (t.a and t.b and t.a["seconds_per_epoch"] and t.b["seconds_per_epoch"]):
        return {"question": question, "answer": "the two models were not both measured"}
    ratio = t.a["seconds_per_epoch"] / t.b["seconds_per_epoch"]
    cost = (f"it takes {ratio:.2f}× the DCGAN's time per epoch "
            f"({t.a['seconds_per_epoch']:.2f} s against {t.b['seconds_per_epoch']:.2f} s)")
    if t.verdict == "not measured":
        return {"question": question, "answer": f"{cost}; {_unmeasured_time(t)}"}
    verdict = {"a better": "the modified pair is better", "b better": "the DCGAN is better",
               "no clear difference": "no clear difference"}[t.verdict]
    return {"question": question,
            "answer": f"{cost}; at {t.seconds:.1f} s of training (the largest time every run of "
                      f"both reached): {study.metric} {t.mean_a:.4g} against {t.mean_b:.4g}, "
                      f"{verdict} (difference {t.difference}, Holm p = {_p(t.holm)})"}


def failures(study: Study) -> dict:
    """How many runs diverged (a NaN loss), collapsed (samples with little spread) or failed."""
    n = len(study.rows)
    counts = {k: sum(s[k] for s in [*study.summary, *study.scan])
              for k in ("diverged", "collapsed", "failed")}
    return {"question": "did any run diverge, collapse or fail?",
            "answer": ", ".join(f"{v} of {n} {k}" for k, v in counts.items())}


# --------------------------------------------------------------------------- the pre-scan


def scan_axes(study: Study) -> dict[str, list[dict]]:
    """The pre-scan's settings on its two axes: D's rate varied at the seed's G rate, G's rate
    varied at the seed's D rate (the seed's pair on both), each sorted by the varied rate."""
    def near(x, y) -> bool:
        return math.isclose(x, y, rel_tol=1e-9)

    d_axis = [s for s in study.scan if near(s["params"].get("lr_g", -1), FAST["lr_g"])]
    g_axis = [s for s in study.scan if near(s["params"].get("lr_d", -1), FAST["lr_d"])]
    return {"lr_d": sorted(d_axis, key=lambda s: s["params"]["lr_d"]),
            "lr_g": sorted(g_axis, key=lambda s: s["params"]["lr_g"])}


def _scan_value(s: dict) -> tuple[int | None, float | None]:
    last = s["epochs"][-1] if s["epochs"] else None
    return last, (s["mean"][last] if last is not None else None)


def is_seed_pair(params: Mapping) -> bool:
    """Whether the parameters are the seed's D 0.0064 / G 0.00128."""
    return all(math.isclose(params.get(k, -1), v, rel_tol=1e-9) for k, v in FAST.items())


def scan_rows(study: Study) -> list[dict]:
    """The pre-scan as a table: each pair, its runs, the metric at its last epoch (mean
    [95 % t-interval] over the seeds it ran)."""
    rows = []
    for s in study.scan:
        last, _ = _scan_value(s)
        rows.append({"lr D": f"{s['params']['lr_d']:g}", "lr G": f"{s['params']['lr_g']:g}",
                     "the seed's pair": "yes" if is_seed_pair(s["params"]) else "",
                     "epochs": last or "—", "seeds": ", ".join(map(str, s["seeds"])),
                     "diverged": s["diverged"],
                     f"{study.metric} @ last": compare.cell(s, last) if last else "—"})
    return rows


def scan_finding(study: Study) -> dict:
    """Where the seed's pair sits in the pre-scan: its rank on each axis (a scan, not a
    verdict)."""
    question = "the pre-scan: where do the seed's D 0.0064 / G 0.00128 sit?"
    axes = scan_axes(study)
    if not any(axes.values()):
        return {"question": question, "answer": "no pre-scan in this grid"}
    parts = []
    for key, name in (("lr_d", "D"), ("lr_g", "G")):
        measured = [s for s in axes[key] if _scan_value(s)[1] is not None]
        if not measured:
            continue
        ranked = sorted(measured, key=lambda s: _scan_value(s)[1])
        mine = next((i for i, s in enumerate(ranked, 1) if is_seed_pair(s["params"])), None)
        best = ranked[0]
        parts.append(f"{name}: lowest {study.metric} at {name} {best['params'][key]:g} "
                     f"({_scan_value(best)[1]:.4g}); the seed's rate ranks "
                     f"{mine if mine else '–'} of {len(ranked)}")
    seeds = sorted({k for s in study.scan for k in s["seeds"]})
    epochs = sorted({_scan_value(s)[0] for s in study.scan if s["epochs"]})
    return {"question": question,
            "answer": "; ".join(parts) + f" (after {_epochs(epochs)} "
                      f"epoch{'s' * (epochs != [1])}, seeds "
                      f"{', '.join(map(str, seeds))}: a scan, not a verdict)"}


def scan_figure(study: Study, folder: RunDir | None = None) -> Figure | None:
    """The metric after the pre-scan's short training against each learning rate (log scale),
    the other rate at the seed's value: the mean over seeds with its 95 % t-interval, each
    seed's value as a dot, the seed's rate marked (lr_scan.png); None without a scan."""
    axes_found = {k: v for k, v in scan_axes(study).items() if v}
    if not axes_found:
        return None
    fig, axes = plt.subplots(1, len(axes_found), figsize=(4.6 * len(axes_found), 3.8),
                             squeeze=False, sharey=True)
    names = {"lr_d": ("discriminator", "G"), "lr_g": ("generator", "D")}
    for ax, (key, settings) in zip(axes[0], axes_found.items()):
        xs, means, lows, highs = [], [], [], []
        for s in settings:
            last, mean = _scan_value(s)
            if mean is None:
                continue
            x = s["params"][key]
            interval = s["interval"][last]
            xs.append(x)
            means.append(mean)
            lows.append(mean - interval.low if interval.n > 1 else 0.0)
            highs.append(interval.high - mean if interval.n > 1 else 0.0)
            ax.scatter([x] * len(s["values"][last]), s["values"][last], s=12, color="0.6",
                       zorder=2)
        ax.errorbar(xs, means, yerr=[lows, highs], marker="o", capsize=3, zorder=3,
                    label="mean, 95 % t-interval")
        ax.axvline(FAST[key], color="C3", linestyle="--", label=f"the seed's {FAST[key]:g}")
        ax.set_xscale("log")
        other, value = names[key][1], FAST["lr_g" if key == "lr_d" else "lr_d"]
        ax.set_xlabel(f"{names[key][0]} learning rate ({other} at {value:g})")
        ax.legend(fontsize="small")
    axes[0][0].set_ylabel(f"{study.metric} (lower is better)")
    epochs = sorted({_scan_value(s)[0] for s in study.scan if s["epochs"]})
    fig.suptitle(f"Pre-scan: {study.metric} after {_epochs(epochs)} epoch{'s' * (epochs != [1])} "
                 "(a scan, not a verdict)")
    return viz.finish(fig, folder.figure("lr_scan") if folder else None)


def time_figure(study: Study, cfg: Config, folder: RunDir | None = None) -> Figure | None:
    """The model factor's settings: the metric against training seconds (mean over seeds at
    each evaluated epoch, 95 % t-interval as a band), the common time of the equal-time
    comparison marked (metric_vs_time.png); None without timed runs."""
    found = comparisons(study, cfg)
    (t,) = found.of_claim(EQUAL_TIME) or (None,)
    settings = [s for s in (t.a, t.b) if s] if t else []
    series = time_curves(study, settings)
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    for name, curve in series.items():
        x, mean = np.asarray(curve["seconds"]), np.asarray(curve["mean"])
        low, high = np.asarray(curve["low"]), np.asarray(curve["high"])
        (line,) = ax.plot(x, mean, marker="o", label=name)
        ax.fill_between(x, np.where(np.isnan(low), mean, low),
                        np.where(np.isnan(high), mean, high), color=line.get_color(),
                        alpha=0.2, linewidth=0)
    if t and t.seconds:
        ax.axvline(t.seconds, color="0.3", linestyle="--",
                   label=f"equal time: {t.seconds:.1f} s")
    ax.set_xlabel("training seconds (evaluation not included)")
    ax.set_ylabel(f"{study.metric} (lower is better)")
    ax.set_title(f"{study.metric} against training time: mean over seeds, 95 % t-interval")
    ax.legend(fontsize="small")
    return viz.finish(fig, folder.figure("metric_vs_time") if folder else None)


# --------------------------------------------------------------------------- the chapter


def record(study: Study, cfg: Config, folder: RunDir, found: Sequence[dict]) -> dict:
    """Write the settings and findings tables and the headline numbers (metrics.json) to the
    chapter folder; returns the headline numbers (nothing is written for a single run)."""
    if cfg.single_run:
        return {}
    folder.write_table("settings", settings_rows(study), metric=study.metric,
                       profile=cfg.profile, seeds=cfg.seeds)
    folder.write_table("findings", list(found), profile=cfg.profile)
    speeds = {m: study.find(**{**_final(cfg), "model": m}) for m in MODELS}
    ratio = (speeds["resdcgan"]["seconds_per_epoch"] / speeds["dcgan"]["seconds_per_epoch"]
             if all(s and s["seconds_per_epoch"] for s in speeds.values()) else None)
    baseline, final = study.find(**_baseline(cfg)), speeds["resdcgan"]
    found = comparisons(study, cfg)
    (timed,) = found.of_claim(EQUAL_TIME) or (None,)
    return folder.update_metrics(
        status="finished", metric=study.metric, last_epoch=study.last, runs=len(study.rows),
        settings=len(study.summary), **{k: sum(s[k] for s in study.summary) for k in
                                        ("finished", "diverged", "collapsed", "failed")},
        baseline_last=_mean_at(baseline, study.last), final_last=_mean_at(final, study.last),
        modified_time_ratio=ratio, scan_runs=sum(s["runs"] for s in study.scan),
        equal_time_seconds=timed.seconds if timed else None,
        confirmatory_comparisons=len(found.family(CONFIRMATORY)),
        exploratory_comparisons=len(found.family(EXPLORATORY)))


def settings_rows(study: Study) -> list[dict]:
    """Every factor's settings as numbers: the counts, the metric's mean, t-interval and n at
    each evaluated epoch, seconds per epoch (settings.json / .csv)."""
    rows = []
    for name, settings in study.tables.items():
        keys = _label_keys(settings)
        for s in settings:
            curve = {f"{study.metric}@{e}_{part}": getattr(s["interval"][e], part)
                     for e in s["epochs"] for part in ("mean", "low", "high", "n")}
            rows.append({"factor": name, "setting": s["setting"],
                         "label": compare.label(s["params"], keys),
                         **{k: s[k] for k in ("runs", "finished", "diverged", "collapsed",
                                              "failed")},
                         **curve, "seconds_per_epoch": s["seconds_per_epoch"]})
    return rows


def _baseline(cfg: Config) -> dict:
    return {k: v for k, v in (grid_of(cfg).get("parameters") or {}).items() if k != "profile"}


def _final(cfg: Config) -> dict:
    return {**_baseline(cfg), **FAST, **SMOOTH}


def _mean_at(setting: dict | None, epoch: int | None) -> float | None:
    return setting["mean"].get(epoch) if setting else None


@dataclass
class Result:
    """What `run` produced: the chapter folder (a single run's folder with single_run), the
    points' records, the study, figures, findings and claims."""

    dir: RunDir
    records: list[dict] = field(default_factory=list)
    study: Study | None = None
    figures: dict[str, Figure] = field(default_factory=dict)
    findings: list[dict] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)


def train_all(cfg: Config,
              points: Sequence[grid.Point] | None = None) -> tuple[RunDir, list[dict]]:
    """Train the grid's points not done yet into the chapter folder (or, with single_run, the
    one setting given into a run folder of its own); returns that folder and the records."""
    if cfg.single_run:
        outcome = train_point(cfg)
        print(f"{outcome['status']}: {outcome['run_dir']}")
        return RunDir(outcome["run_dir"]), [outcome]
    folder = chapter_folder(cfg)
    return folder, run_grid(cfg, folder, points)


def run(cfg: Config) -> Result:
    """The whole chapter, headless: the grid trained point by point (or one point with
    single_run), then tables, figures, findings and claims in the chapter folder."""
    check_ready(cfg)
    set_threads(cfg)
    cfg, _ = load_data(cfg)  # the anime faces, or on a GPU without them the offline faces
    folder, records = train_all(cfg)
    if cfg.single_run:
        return Result(folder, records)
    study = gather(folder, cfg)
    result = Result(folder, records, study, figures(study, folder, cfg), findings(study, cfg))
    record(study, cfg, folder, result.findings)
    result.claims = check_claims(study, cfg, folder)
    return result
