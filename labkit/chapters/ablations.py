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
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
from ..train import Evaluator, Run, RunDir, TrainConfig, TrainingDiverged, runs_parent, train_gan
from .common import obtain

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
FACTOR_KEYS = ("model", "lr_d", "lr_g", "real_label", "fake_label")
PAPER = {"image_size": 96, "channels": 3, "nz": 100, "ngf": 64, "ndf": 64}  # the seed's sizes
FAST = {"lr_d": 6.4e-3, "lr_g": 1.28e-3}  # the seed's chosen learning rates (D / G)
SMOOTH = {"real_label": 0.9, "fake_label": 0.1}  # the seed's chosen label targets


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
        if not self.seeds:
            raise ValueError("parameter seeds=[]: give at least one seed")
        if self.single_run and self.sweep_dir:
            raise ValueError(f"parameter sweep_dir={self.sweep_dir!r} continues a grid; it "
                             "cannot be combined with single_run=True")


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
    """The runs of the chapter folder: rows (one per run), one summary per setting (mean and
    t-interval over seeds per evaluated epoch), the settings of each factor, the metric."""

    rows: list[dict]
    summary: list[dict]
    tables: dict[str, list[dict]]
    metric: str
    epochs: list[int]

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
    settings = compare.summarize(rows)
    tables = compare.factor_tables(settings, FACTORS)
    if list(tables) == ["all"]:
        tables = {"this run" if len(settings) == 1 else "all": settings}
    metric = next((s["metric"] for s in settings if s["metric"]), cfg.metric)
    epochs = sorted({e for s in settings for e in s["epochs"]})
    return Study(rows, settings, tables, metric, epochs)


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


def figures(study: Study, folder: RunDir) -> dict[str, Figure]:
    """Every figure of the chapter (`curves_figure`, `sample_figures`), each written to
    `folder`."""
    curves = curves_figure(study, folder)
    return {**({"metric_vs_epoch": curves} if curves else {}), **sample_figures(study, folder)}


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


# --------------------------------------------------------------------------- claims


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


RULE = ("at each evaluated epoch A is better when the 95 % Welch t-interval of mean(A) − mean(B) "
        "lies below 0 (B better: above 0); supported when A is better at an earlier epoch and at "
        "the last, refuted when B is better at any epoch, inconclusive otherwise")


def judged(seed_claim: SeedClaim, study: Study, cfg: Config) -> Claim:
    """A seed claim judged by `compare.judge` on the study: the verdict, the difference at the
    last epoch with its interval, and why in words chosen by the outcome."""
    a, b = study.find(**seed_claim.a), study.find(**seed_claim.b)
    judgement = compare.judge(a, b, study.epochs)
    verdict = {"holds": SUPPORTED, "does not hold": REFUTED}.get(judgement.verdict, INCONCLUSIVE)
    last = judgement.comparisons[-1] if judgement.comparisons else None
    difference = last.difference if last else None
    seeds = difference.n if difference and difference.n else len(cfg.seeds)
    return Claim(
        id=seed_claim.id, seed_report=SEED_REPORT, claim=seed_claim.claim,
        measurement=f"{study.metric} of A (the claimed setting) − B at each evaluated epoch, "
                    f"mean over seeds; the value is the last epoch's ({study.last})",
        rule=RULE, verdict=verdict, why=why(judgement, study.metric), seeds=seeds,
        profile=cfg.profile, value=_number(difference.mean if difference else None),
        low=_number(difference.low if difference else None),
        high=_number(difference.high if difference else None))


def why(judgement: compare.Judgement, metric: str) -> str:
    """The judgement in words, chosen by its outcome."""
    if judgement.verdict == "not measured":
        return "the two settings were not each measured by two runs or more"
    better = [c.epoch for c in judgement.comparisons if c.verdict == "a better"]
    worse = [c.epoch for c in judgement.comparisons if c.verdict == "b better"]
    last = judgement.comparisons[-1]
    at_last = f"A − B in {metric} at epoch {last.epoch}: {last.difference}"
    if judgement.verdict == "holds":
        return f"A is better at epochs {_epochs(better)}, the last included ({at_last})"
    if judgement.verdict == "does not hold":
        return f"B is better at epoch{'s' * (len(worse) > 1)} {_epochs(worse)} ({at_last})"
    if judgement.verdict == "holds in part" and judgement.faster:
        return (f"A is better at epoch{'s' * (len(better) > 1)} {_epochs(better)} but not at the "
                f"last ({at_last}): faster, not shown to be better")
    if judgement.verdict == "holds in part":
        return (f"A is better at the last epoch ({at_last}) but at no earlier one: better, not "
                "shown to be faster")
    return f"no interval excludes 0 at any evaluated epoch ({at_last}): within the seed noise"


def _epochs(epochs: Sequence[int]) -> str:
    words = [str(e) for e in epochs]
    return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]


def _number(x) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def claims(study: Study, cfg: Config) -> list[Claim]:
    """The seed's three claims, judged on this study."""
    return [judged(c, study, cfg) for c in seed_claims(grid_of(cfg))]


def check_claims(study: Study, cfg: Config, folder: RunDir) -> list[Claim]:
    """The claims of this study, written to the chapter folder's claims.json (none for a
    single run: a claim compares settings)."""
    if cfg.single_run:
        return []
    return lkclaims.record(folder, claims(study, cfg), chapter=NAME)


def comparison_rows(study: Study, cfg: Config) -> list[dict]:
    """Each claim's comparison at every evaluated epoch: A and B (mean [95 % t-interval]),
    A − B with its Welch interval, and which is better there."""
    rows = []
    for seed_claim in seed_claims(grid_of(cfg)):
        a, b = study.find(**seed_claim.a), study.find(**seed_claim.b)
        for c in compare.judge(a, b, study.epochs).comparisons:
            rows.append({"claim": seed_claim.id, "epoch": c.epoch,
                         "A": compare.cell(a, c.epoch) if a else "—",
                         "B": compare.cell(b, c.epoch) if b else "—",
                         "A − B": str(c.difference), "there": c.verdict.replace("a ", "A ")
                         .replace("b ", "B ")})
    return rows


def verdicts_table(found: Sequence[Claim]):
    """The claims in short (claim, verdict, seeds) as an HTML table."""
    return table([{"claim": c.claim, "verdict": c.verdict, "seeds": c.seeds} for c in found])


# --------------------------------------------------------------------------- narrower findings


def findings(study: Study, cfg: Config) -> list[dict]:
    """The seed's narrower choices and the cost of its model, each a question and the answer
    this study gives (chosen by the outcome): the G rate next to D 0.0064, labels 0.9 / 0.1
    against 0.99 / 0.01, the modified pair at equal wall-clock time, diverged and collapsed."""
    base = {k: v for k, v in (grid_of(cfg).get("parameters") or {}).items() if k != "profile"}
    fast = {**base, **FAST}
    return [generator_rate(study, fast), label_targets(study, fast),
            equal_time(study, {**fast, **SMOOTH}), failures(study)]


def generator_rate(study: Study, fast: dict) -> dict:
    """Which G rate next to D 0.0064 has the lowest metric at the last epoch, and whether it
    beats the seed's 0.00128 beyond the seed noise."""
    question = "G learning rate next to D 0.0064: is the seed's 0.00128 the best of three?"
    found = [study.find(**{**fast, "lr_g": g}) for g in (3.2e-3, 1.28e-3, 6.4e-4)]
    found = [s for s in found if s and study.last in s["mean"]]
    chosen = study.find(**fast)
    if len(found) < 2 or chosen not in found:
        return {"question": question, "answer": "the three G rates were not all measured"}
    best = min(found, key=lambda s: s["mean"][study.last])
    lowest = (f"lowest {study.metric} at epoch {study.last}: G {best['params']['lr_g']:g} "
              f"({best['mean'][study.last]:.4g}; 0.00128: {chosen['mean'][study.last]:.4g})")
    if best is chosen:
        return {"question": question, "answer": f"yes, {lowest}"}
    gap = compare.compare(best, chosen, study.last)
    verdict = {"a better": f"G {best['params']['lr_g']:g} is better beyond the seed noise",
               "no clear difference": "the difference is within the seed noise",
               "not measured": "too few runs to tell"}[gap.verdict]
    return {"question": question, "answer": f"not shown: {lowest}; {verdict} "
                                            f"(difference {gap.difference})"}


def label_targets(study: Study, fast: dict) -> dict:
    """Labels 0.9 / 0.1 against 0.99 / 0.01 at the last epoch (at D 0.0064 / G 0.00128)."""
    question = "labels 0.9 / 0.1 against 0.99 / 0.01: which is better at the last epoch?"
    smooth = study.find(**{**fast, **SMOOTH})
    soft = study.find(**{**fast, "real_label": 0.99, "fake_label": 0.01})
    if not (smooth and soft) or study.last is None:
        return {"question": question, "answer": "0.99 / 0.01 was not measured"}
    c = compare.compare(smooth, soft, study.last)
    verdict = {"a better": "0.9 / 0.1 is better", "b better": "0.99 / 0.01 is better",
               "no clear difference": "no clear difference: within the seed noise",
               "not measured": "too few runs to tell"}[c.verdict]
    return {"question": question,
            "answer": f"{verdict} ({study.metric} at epoch {study.last}: {c.mean_a:.4g} against "
                      f"{c.mean_b:.4g}, difference {c.difference})"}


def equal_time(study: Study, smooth: dict) -> dict:
    """The modified pair against the DCGAN at equal wall-clock time: the DCGAN's metric at the
    last epoch against the modified pair's at the last evaluated epoch it reaches in as long."""
    question = "the modified pair at equal wall-clock time: better than the DCGAN?"
    plain, resnet = study.find(**smooth), study.find(**{**smooth, "model": "resdcgan"})
    if not (plain and resnet and plain["seconds_per_epoch"] and resnet["seconds_per_epoch"]):
        return {"question": question, "answer": "the two models were not both measured"}
    ratio = resnet["seconds_per_epoch"] / plain["seconds_per_epoch"]
    budget = study.last * plain["seconds_per_epoch"]
    cost = (f"it takes {ratio:.2f}× the DCGAN's time per epoch "
            f"({resnet['seconds_per_epoch']:.2f} s against {plain['seconds_per_epoch']:.2f} s)")
    fair = max((e for e in resnet["epochs"] if e * resnet["seconds_per_epoch"] <= budget),
               default=None)
    if fair is None:
        return {"question": question, "answer": f"{cost}; it reaches no evaluated epoch in the "
                                                f"DCGAN's {study.last} epochs' time"}
    c = compare.compare(resnet, plain, fair, epoch_b=study.last)
    verdict = {"a better": "the modified pair is better", "b better": "the DCGAN is better",
               "no clear difference": "no clear difference (within the seed noise)",
               "not measured": "too few runs to tell"}[c.verdict]
    return {"question": question,
            "answer": f"{cost}; in the time of the DCGAN's {study.last} epochs ({budget:.1f} s) it "
                      f"reaches epoch {fair}: {study.metric} {c.mean_a:.4g} against "
                      f"{c.mean_b:.4g}, {verdict} (difference {c.difference})"}


def failures(study: Study) -> dict:
    """How many runs diverged (a NaN loss), collapsed (samples with little spread) or failed."""
    n = len(study.rows)
    counts = {k: sum(s[k] for s in study.summary) for k in ("diverged", "collapsed", "failed")}
    return {"question": "did any run diverge, collapse or fail?",
            "answer": ", ".join(f"{v} of {n} {k}" for k, v in counts.items())}


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
    return folder.update_metrics(
        status="finished", metric=study.metric, last_epoch=study.last, runs=len(study.rows),
        settings=len(study.summary), **{k: sum(s[k] for s in study.summary) for k in
                                        ("finished", "diverged", "collapsed", "failed")},
        baseline_last=_mean_at(baseline, study.last), final_last=_mean_at(final, study.last),
        modified_time_ratio=ratio)


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
    result = Result(folder, records, study, figures(study, folder), findings(study, cfg))
    record(study, cfg, folder, result.findings)
    result.claims = check_claims(study, cfg, folder)
    return result
