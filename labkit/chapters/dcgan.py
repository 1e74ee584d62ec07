"""Chapter 2: the DCGAN of the seed reports, trained on CelebA (offline: 100 LFW faces).

The notebook `02_dcgan_celeba.ipynb` calls these functions cell by cell; `run(config)` calls
them all, headless (`labkit run dcgan`). Seed report 000 trained the PyTorch tutorial's DCGAN
on 4,000 CelebA images at 64×64 and read its loss chart as converging, with a discriminator
loss "low and stable"; `claims` checks those readings against the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from matplotlib.figure import Figure

from .. import claims as lkclaims
from .. import viz
from ..book import table
from ..claims import Claim
from ..data import ImageSet, load
from ..data.transforms import RESIZE
from ..metrics import inception_weights_path, scorer, swd
from ..metrics.sample_size import Frechet, SizeStudy, inception_features, pooled_pixels, study
from ..models import dcgan, facegan
from ..pixels import to_signed, to_uint8
from ..profiles import ChapterConfig, knob
from ..stats import mean_interval
from ..train import Evaluator, Run, TrainConfig, train_gan
from .common import main_process, obtain

NUMBER, NAME, NOTEBOOK = 2, "dcgan", "02_dcgan_celeba.ipynb"
SEED_REPORT = "000"
# Seed 000's training regime ("Dataset", "Preprocessing", "Hyperparameters", "Training setup"):
# 4000 CelebA images resized to 64×64, batches of 128, trained 15 times for 10 epochs each.
SEED_REGIME = {"subset": 4000, "image_size": 64, "batch_size": 128, "trainings": 15,
               "epochs_per_training": 10}
LN4 = math.log(4)  # Loss_D (real BCE + fake BCE) of a discriminator that outputs 1/2 everywhere


@dataclass
class Config(ChapterConfig):
    """Chapter 2's parameters. full: seed 000's regime on CelebA (`SEED_REGIME`: its 4,000
    images at 64×64, batches of 128, 15 trainings × 10 epochs = 150 epochs), FID against a
    larger real set; cpu: the 100 offline LFW faces, grayscale 32×32, many short passes, SWD;
    smoke: a tiny run for CI."""

    dataset: str = knob(smoke="faces", cpu="faces", full="celeba", offline="faces",
                        doc='"celeba" on full; the offline "faces" otherwise')
    split: str = knob(smoke="all", cpu="all", full="train", offline="all",
                      doc='"train" (CelebA), "all"')
    download: bool = knob(smoke=False, cpu=False, full=True,
                          doc="fetch a missing dataset (checksummed) before falling back")
    image_size: int = knob(smoke=32, cpu=32, full=64, choices=(32, 64, 96),
                           doc="64 as in the seed")
    channels: int = knob(smoke=1, cpu=1, full=3, offline=1, choices=(1, 3),
                         doc="3 colour, 1 grayscale")
    subset: int | None = knob(None, full=4000, offline=None, low=1,
                              doc="the first N training images (4000 in the seed)")
    epochs: int = knob(smoke=2, cpu=10, full=150, offline=20, low=1,
                       doc="150 in the seed (15 trainings of 10 epochs)")
    batch_size: int = knob(smoke=16, cpu=32, full=128, offline=32, low=1, doc="128 in the seed")
    nz: int = knob(smoke=32, cpu=100, full=100, low=1, doc="latent size (100 in the seed)")
    ngf: int = knob(smoke=16, cpu=64, full=64, low=1, doc="generator width (64 in the seed)")
    ndf: int = knob(smoke=16, cpu=64, full=64, low=1, doc="discriminator width")
    lr_d: float = knob(2e-4, low=0, high=1, doc="Adam learning rate of D (2e-4 in the seed)")
    lr_g: float = knob(2e-4, low=0, high=1, doc="Adam learning rate of G")
    beta1: float = knob(0.5, low=0, high=1, doc="Adam beta1 (0.5 in the seed)")
    real_label: float = knob(1.0, low=0, high=1, doc="D's target for real images")
    fake_label: float = knob(0.0, low=0, high=1, doc="D's target for fakes")
    flip: bool = knob(smoke=True, cpu=True, full=False, offline=True,
                      doc="random horizontal flips")
    data_repeats: int = knob(smoke=2, cpu=24, full=1, offline=100, low=1,
                             doc="passes over the data per epoch")
    log_every: int = knob(smoke=5, cpu=36, full=200, offline=100, low=1,
                          doc="iterations between log lines")
    metric: str = knob(smoke="swd", cpu="swd", full="fid", offline="swd", choices=("fid", "swd"),
                       doc='quality metric: "fid" (Inception) or "swd"')
    eval_every: int = knob(smoke=1, cpu=2, full=10, offline=2, low=1,
                           doc="epochs between evaluations (full: after each of the seed's "
                               "10-epoch trainings)")
    eval_samples: int = knob(smoke=64, cpu=100, full=10_000, offline=100, low=2,
                             doc="generated images per evaluation (and real, at most)")
    selection_sizes: list[int] = knob([10, 50, 100, 500, 1000], smoke=[10, 20], low=2,
                                      doc="generated images per draw in the model selection "
                                          "study (report 002 used 10)")
    selection_repeats: int = knob(50, smoke=4, full=20, low=2,
                                  doc="draws per size in the model selection study")
    selection_pool: int = knob(3000, smoke=40, full=5000, low=3,
                               doc="images generated per checkpoint for the study's draws")
    # Report 002's pipeline comparison. Its cost, CPU time of one thread (time.process_time,
    # 2026-12-07, on a shared machine): one iteration of the report's networks at 64 px, batch
    # 32, takes 5.3 s at the report's width 1024, 0.12 s at 128 and 0.053 s at 64; cpu's two
    # runs of 160 iterations at width 64 with 4 SWD evaluations each took 24 s in all, smoke's
    # 2.3 s.
    pipeline_seeds: int = knob(1, full=3, low=1,
                               doc="training seeds of report 002's pipeline comparison (each "
                                   "trains the report's model twice: real pixels in [0, 1] and "
                                   "in the generator's [-1, 1])")
    pipeline_steps: int = knob(smoke=4, cpu=160, full=3000, low=1,
                               doc="iterations of each pipeline run (batches of "
                                   "pipeline_batch)")
    pipeline_width: int = knob(smoke=16, cpu=64, full=1024, low=8,
                               doc="the report's model's 4×4 channels (1024 in the report; "
                                   "narrower at cpu for time, same layout)")
    pipeline_batch: int = knob(smoke=8, cpu=32, full=32, low=1,
                               doc="batch size of the pipeline runs (Keras' default 32, as the "
                                   "report's fit)")
    pipeline_evals: int = knob(smoke=1, cpu=4, full=10, low=1,
                               doc="evaluations (SWD, pixel ranges) along each pipeline run")
    replicates: int = knob(3, smoke=2, low=1,
                           doc="training seeds the claims rest on: seed, seed + 1, ... (each a "
                               "whole training run)")
    reference_images: int | None = knob(None, full=10_000, offline=None, low=2,
                                        doc="real set the metric compares with: the first N "
                                            "images of the split, the training subset among "
                                            "them (None: the training images)")

    def validate(self) -> None:
        """Refuse, before any work, a model selection study whose pools could not give
        distinct draws."""
        super().validate()
        if self.selection_pool <= max(self.selection_sizes):
            raise ValueError(f"parameter selection_pool={self.selection_pool} must exceed the "
                             f"largest of selection_sizes ({max(self.selection_sizes)})")


POOL_SEED = 10_000  # latents of the model-selection pools (the evaluator uses seed 0)
SELECTION_LEVEL = 0.95  # share of draws that must rank two checkpoints right: "reliable"
SWD_STUDY = {"directions": 128, "repeats": 1}  # a cheaper SWD for the many draws of the study
SWD_STUDY_REPEATS = 10  # draws per n for SWD (the run shown only: SWD costs ~0.3 s a call)
# The fewest images per evaluation from which the chapter's evaluator keeps a best checkpoint
# (`keeps_best`), per metric, from the model selection study. At cpu (`labkit run dcgan
# --profile cpu`, 3 training seeds, 2026-12-07) SWD ranked the epoch-2 and the last checkpoint
# right in 9 of 10 draws of 10 images and in every draw from 50 on: 50. FID's estimator on
# pooled pixels ranked them right in 30 % to 100 % of the draws of 10 (the better generator's
# small-n bias is the larger), in at least 98 % from 50 on (from 100 with other latents). FID
# on Inception's 2,048 features is not measured offline: its covariance has full rank only
# from 2,048 images, the floor kept until a full run's study says more.
SELECTION_MIN_N = {"fid": 2048, "swd": 50}

OFFLINE_FACES = 100  # scikit-image's LFW subset (labkit.data's "faces": 100 grey faces)


def iterations(images: int, cfg: Config) -> int:
    """Training iterations of a run: full batches × passes per epoch × epochs (the engine's)."""
    return images // cfg.batch_size * cfg.data_repeats * cfg.epochs


def regimes(cfg: Config, data: ImageSet | None = None) -> list[dict]:
    """Seed 000's training regime beside the full and cpu profiles (and this run, given its
    data): what full reproduces and how cpu differs."""
    seed = SEED_REGIME
    columns = {"seed 000": None, "full": Config.resolve("full"), "cpu": Config.resolve("cpu")}
    if data is not None:
        columns["this run"] = cfg

    def images(c: Config | None) -> int:
        if c is None:
            return seed["subset"]
        if c is cfg and data is not None:
            return len(data)
        return c.subset or OFFLINE_FACES

    def value(c: Config | None, key: str):
        if c is None:
            return {"data": "CelebA", "training images": seed["subset"],
                    "image size": seed["image_size"], "channels": 3,
                    "batch size": seed["batch_size"],
                    "epochs": seed["trainings"] * seed["epochs_per_training"],
                    "passes per epoch": 1,
                    # PyTorch's DataLoader keeps the last, partial batch; the engine drops it
                    "iterations": math.ceil(seed["subset"] / seed["batch_size"])
                    * seed["trainings"] * seed["epochs_per_training"],
                    "flips": False, "quality metric": "none (loss chart, samples)",
                    "real images it compares with": "–"}[key]
        n = images(c)
        return {"data": c.dataset, "training images": n, "image size": c.image_size,
                "channels": c.channels, "batch size": c.batch_size, "epochs": c.epochs,
                "passes per epoch": c.data_repeats, "iterations": iterations(n, c),
                "flips": c.flip,
                "quality metric": f"{c.metric} every {c.eval_every} epochs, "
                                  f"{c.eval_samples:,} generated",
                "real images it compares with": (f"first {c.reference_images:,} of the split"
                                                 if c.reference_images else
                                                 f"{min(n, c.eval_samples):,} training images")
                }[key]

    keys = ("data", "training images", "image size", "channels", "batch size", "epochs",
            "passes per epoch", "iterations", "flips", "quality metric",
            "real images it compares with")
    return [{"": key, **{name: value(c, key) for name, c in columns.items()}} for key in keys]


def check_ready(cfg: Config) -> None:
    """Fail now, before any training, when the run could not finish (FID without Inception's
    weights: the error says the two ways to get them). When `auto` chose full, the data cell may
    still fall back to the offline faces (SWD): `evaluator` checks the weights then."""
    TrainConfig.from_profile(cfg, name=NAME)
    if cfg.metric == "fid" and not cfg.fallback:
        inception_weights_path()


def load_data(cfg: Config) -> tuple[Config, ImageSet]:
    """The training images as a uint8 cache, and the configuration they were loaded with: on a
    GPU without CelebA (download refused), the offline faces at gpu-offline (`obtain`)."""
    return obtain(cfg, lambda cfg: load(cfg.dataset, root=cfg.data_root, split=cfg.split,
                                        image_size=cfg.image_size, channels=cfg.channels,
                                        subset=cfg.subset, download=cfg.download))


def build_models(cfg: Config, data: ImageSet) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The seed's generator and discriminator at this configuration's sizes, seeded."""
    torch.manual_seed(cfg.seed)
    return dcgan(image_size=cfg.image_size, channels=data.images.shape[1], nz=cfg.nz,
                 ngf=cfg.ngf, ndf=cfg.ndf)


def reference_images(cfg: Config, data: ImageSet) -> torch.Tensor:
    """The real images the quality metric compares the generated ones with (in [-1, 1]).

    `reference_images` None: `eval_samples` of the training images (a seeded draw; all 100
    offline faces at cpu). On full: the first `reference_images` images of the split, the
    4,000 training images among them — FID against all the real images at hand, whatever
    subset trained the generator (Karras et al. 2020's convention for limited-data GANs),
    and enough for a full-rank Inception covariance.
    """
    if cfg.reference_images is None:
        return data.float_images(cfg.eval_samples,
                                 generator=torch.Generator().manual_seed(cfg.seed))
    if cfg.subset is not None and cfg.reference_images <= cfg.subset:
        return data.float_images(cfg.reference_images)
    larger = load(cfg.dataset, root=cfg.data_root, split=cfg.split, image_size=cfg.image_size,
                  channels=data.images.shape[1], subset=cfg.reference_images,
                  download=cfg.download)
    return larger.float_images()


def evaluator(cfg: Config, data: ImageSet) -> Evaluator:
    """Scores the same generated images every `eval_every` epochs against the reference set
    (Inception FID on full, SWD offline) and keeps checkpoints/best.pt — when it compares at
    least `SELECTION_MIN_N` images of each side; with fewer (a quick run) it records the curve
    and warns that no best checkpoint is kept (`keeps_best`)."""
    real = reference_images(cfg, data)
    return Evaluator(quality_metric(cfg), real, every=cfg.eval_every,
                     n_samples=cfg.eval_samples, min_samples=SELECTION_MIN_N[cfg.metric],
                     keep_best=keeps_best(cfg, len(real)))


def keeps_best(cfg: Config, real: int) -> bool:
    """Whether the chapter's evaluator keeps a best checkpoint: only when it scores at least
    `SELECTION_MIN_N[metric]` generated images against as many real ones (`real`: the
    reference set's size). Report 002 chose its weights by an FID of 10 images."""
    return min(cfg.eval_samples, real) >= SELECTION_MIN_N[cfg.metric]


def quality_metric(cfg: Config):
    """The chapter's quality metric as the evaluator calls it (Inception FID or SWD)."""
    if cfg.metric == "fid":
        inception_weights_path()  # before training: the error says how to get the weights
    return scorer(cfg.metric, **({} if cfg.metric == "fid" else {"seed": cfg.seed}))


def train(cfg: Config, data: ImageSet, generator, discriminator, callbacks=()) -> Run:
    """Train the pair with the course's engine into a fresh run folder (or resume one)."""
    return train_gan(generator, discriminator, data, TrainConfig.from_profile(cfg, name=NAME),
                     callbacks=tuple(callbacks), record={"chapter": NAME,
                                                         "parameters": cfg.to_dict()})


def figures(run: Run, data: ImageSet, cfg: Config) -> dict[str, Figure]:
    """The chapter's figures, each written to the run folder: losses, D's outputs, the quality
    metric, fixed-noise grids over training, real beside generated, a latent walk."""
    grids = run.dir.sample_paths()
    last = max(grids)
    shown = sorted({1, max(1, last // 2), last} & set(grids))
    real = data.float_images(64, generator=torch.Generator().manual_seed(cfg.seed))
    return {
        "losses": viz.plot_losses(run.history, path=run.dir.figure("losses")),
        "probabilities": viz.plot_probabilities(run.history,
                                                path=run.dir.figure("probabilities")),
        cfg.metric: viz.plot_metric(run.history, cfg.metric, path=run.dir.figure(cfg.metric)),
        "grids_over_epochs": viz.plot_grids_over_epochs(
            {e: grids[e] for e in shown}, path=run.dir.figure("grids_over_epochs")),
        "real_vs_fake": viz.plot_real_vs_fake(real, run.generate(64),
                                              path=run.dir.figure("real_vs_fake_figure")),
        "interpolation": viz.plot_latent_interpolation(
            run.generator, cfg.nz, rows=4, steps=8, seed=cfg.seed,
            path=run.dir.figure("interpolation")),
    }


def walk(run: Run, nz: int, seed_a: int, seed_b: int, t: float) -> Figure:
    """The generator's images at seed A, a fraction t of the way to seed B (spherical), and at
    seed B (BatchNorm on its running averages, the model left as it was)."""
    z = [torch.randn(nz, generator=torch.Generator().manual_seed(s)) for s in (seed_a, seed_b)]
    middle = viz.slerp(z[0][None], z[1][None], torch.tensor([t]))[0, 0]
    images = viz.generate_eval(run.generator, torch.stack([z[0], middle, z[1]]))
    return viz.show_grid(images, nrow=3, title=f"seed {seed_a}  |  t = {t:.2f}  |  seed {seed_b}")


def epoch_statistics(history: dict) -> list[dict]:
    """Loss_D, Loss_G, D(x) and D(G(z)) in the first and the last epoch: mean and spread."""
    epoch = np.asarray(history["epoch"])
    first, last = epoch == epoch.min(), epoch == epoch.max()
    rows = []
    for key, label in (("loss_d", "Loss_D"), ("loss_g", "Loss_G"), ("d_x", "D(x)"),
                       ("d_g_z1", "D(G(z))")):
        values = np.asarray(history[key])
        rows.append({"": label, "first epoch": values[first].mean(),
                     "last epoch": values[last].mean(), "std, first epoch": values[first].std(),
                     "std, last epoch": values[last].std()})
    return rows


def training_seeds(cfg: Config) -> list[int]:
    """The training seeds the claims rest on: `seed` (the run shown) and the next ones."""
    return list(range(cfg.seed, cfg.seed + cfg.replicates))


def first_evaluation(cfg: Config) -> int:
    """The first epoch the evaluator scores (the early checkpoint of the model selection study)."""
    return min(cfg.eval_every, cfg.epochs)


def train_replicates(cfg: Config, data: ImageSet, run: Run, callbacks=()) -> dict[int, Run]:
    """The run shown and the same training with each further seed (`training_seeds`): models,
    batch order and noise seeded by it, headless, into the run folder's children `seed<N>`
    (each resumes its own checkpoint with `resume`). Each is scored at its first evaluation and
    at its last epoch, the two the claims compare, and saves its early pool for the model
    selection study (`EarlyPool`); `callbacks(seed)` adds more. {seed: Run}."""
    runs = {cfg.seed: run}
    for seed in training_seeds(cfg)[1:]:
        settings = cfg.replace(seed=seed)
        generator, discriminator = build_models(settings, data)
        real = reference_images(settings, data)
        score = Evaluator(quality_metric(settings), real, epochs={first_evaluation(cfg)},
                          n_samples=cfg.eval_samples, min_samples=SELECTION_MIN_N[cfg.metric],
                          keep_best=keeps_best(cfg, len(real)), verbose=False)
        if main_process():
            print(f"--- training seed {seed}")
        train_config = TrainConfig.from_profile(
            settings, name=f"{NAME}-seed{seed}", resume=bool(cfg.resume), progress=False,
            log_every=cfg.log_every * 10)
        runs[seed] = train_gan(generator, discriminator, data, train_config,
                               callbacks=(score, EarlyPool(cfg),
                                          *(c(seed) for c in callbacks)),
                               run_dir=run.dir.child(f"seed{seed}"),
                               record={"chapter": NAME, "parameters": settings.to_dict(),
                                       "training_seed": seed})
        if main_process():  # under torchrun every rank trains, rank 0 alone records
            last = runs[seed].metrics
            print(f"seed {seed}: Loss_D {last['final_loss_d']:.3f}, {cfg.metric} "
                  f"{last[f'metric_{cfg.metric}']:.4g}")
    return runs


def seed_measurements(runs: dict[int, Run], metric: str) -> list[dict]:
    """Per training seed: the last epoch's mean Loss_D, the spread of Loss_D in the last epoch
    over that in the first, and the relative change of the quality metric from its first to
    its last evaluation."""
    rows = []
    for seed, run in sorted(runs.items()):
        h = run.history
        epoch, loss_d = np.asarray(h["epoch"]), np.asarray(h["loss_d"])
        first, last = loss_d[epoch == epoch.min()], loss_d[epoch == epoch.max()]
        scores = [e["value"] for e in h.get("metrics", {}).get(metric, [])]
        change = (scores[-1] - scores[0]) / scores[0] if len(scores) >= 2 else math.nan
        rows.append({"seed": seed, "Loss_D, last epoch": float(last.mean()),
                     "spread ratio": float(last.std() / max(first.std(), 1e-12)),
                     f"{metric} first": scores[0] if scores else math.nan,
                     f"{metric} last": scores[-1] if scores else math.nan,
                     f"{metric} change": change})
    return rows


def claims(runs: dict[int, Run] | Run, cfg: Config) -> list[Claim]:
    """Seed 000's readings of its loss chart, checked on the runs of every training seed: each
    measurement's mean over the seeds with its Student-t interval."""
    runs = runs if isinstance(runs, dict) else {cfg.seed: runs}
    rows = seed_measurements(runs, cfg.metric)
    seeds = [r["seed"] for r in rows]
    common = {"seed_report": SEED_REPORT, "profile": cfg.profile, "seeds": len(seeds),
              "seed_ids": seeds}
    found = [
        lkclaims.against_threshold(
            mean_interval([r["Loss_D, last epoch"] for r in rows]), LN4, claimed="below",
            id="d_loss_low", claim="the discriminator's loss remains low",
            measurement="Loss_D, mean over the last epoch, against ln 4 (D at chance)",
            rule="supported if below ln 4 = 1.386 over the seeds' t-interval", **common),
        lkclaims.against_threshold(
            mean_interval([r["spread ratio"] for r in rows]), 1.0,
            claimed="below", id="d_loss_stable",
            claim="the discriminator's loss remains stable",
            measurement="spread (std) of Loss_D in the last epoch over that in the first",
            rule="supported if the ratio is below 1 over the seeds' t-interval", **common),
    ]
    changes = [r[f"{cfg.metric} change"] for r in rows]
    if not any(math.isnan(c) for c in changes):
        found.append(lkclaims.against_threshold(
            mean_interval(changes), 0.0, claimed="below", id="converging",
            claim="the training is converging, the generator improving over time",
            measurement=f"relative change of {cfg.metric} from the first to the last evaluation",
            rule="supported if below 0 (the metric fell) over the seeds' t-interval", **common))
    return found


def check_claims(runs: dict[int, Run] | Run, cfg: Config, extra: list[Claim] = ()
                 ) -> list[Claim]:
    """The claims of these runs (and `extra` ones), written to the shown run's claims.json."""
    runs = runs if isinstance(runs, dict) else {cfg.seed: runs}
    return lkclaims.record(runs[cfg.seed].dir, [*claims(runs, cfg), *extra], chapter=NAME)


# ------------------------------------------------------- report 002's model selection


class EarlyPool:
    """Callback: at the first evaluated epoch, `selection_pool` images generated from fresh
    latents (seeded by POOL_SEED), saved into the run folder as uint8, so that a resumed run
    still has them: the early checkpoint of the model selection study."""

    FILE = "selection_early_pool.pt"

    def __init__(self, cfg: Config):
        # a run whose first evaluation is its last epoch has one checkpoint: nothing to rank
        self.epoch = first_evaluation(cfg) if first_evaluation(cfg) < cfg.epochs else None
        self.n = cfg.selection_pool

    def __call__(self, run: Run, epoch: int) -> None:
        if epoch == self.epoch:
            torch.save(to_uint8(run.generate(self.n, seed=POOL_SEED)), run.dir.path / self.FILE)


def selection_pools(run: Run, cfg: Config) -> dict[str, torch.Tensor]:
    """The study's two generators of one run: its early pool (`EarlyPool`) and as many images
    of its last epoch from other fresh latents; keys name the epochs."""
    early = torch.load(run.dir.path / EarlyPool.FILE, weights_only=True)
    return {f"epoch {first_evaluation(cfg)}": to_signed(early),
            f"epoch {cfg.epochs}": run.generate(cfg.selection_pool, seed=POOL_SEED + 1)}


def selection_study(runs: dict[int, Run], data: ImageSet, cfg: Config
                    ) -> dict[str, dict[int, SizeStudy]]:
    """Report 002 kept the weights with the best FID of 10 images. For each training seed, the
    early and the last checkpoint scored by repeated draws of n generated images against the
    reference set (`reference_images`), for every n in `selection_sizes`: {distance: {seed:
    SizeStudy}}. Distances: Inception FID on full; offline, FID's estimator on 8×8 pooled
    pixels ("fd_pixels", every seed) and the chapter's SWD (the run shown only, n up to the
    reference's size, the reference drawn down to n as well: SWD compares equal sets)."""
    reference = reference_images(cfg, data)
    pools = {seed: selection_pools(run, cfg) for seed, run in sorted(runs.items())}
    found: dict[str, dict[int, SizeStudy]] = {}

    def frechet_study(name: str, features) -> dict[int, SizeStudy]:
        """The Fréchet distance's study in `features` (Inception's, or pooled pixels)."""
        ref = features(reference)
        return {seed: study(Frechet(), ref, {k: features(v) for k, v in pool.items()},
                            cfg.selection_sizes, repeats=cfg.selection_repeats,
                            seed=cfg.seed, name=name, level=SELECTION_LEVEL)
                for seed, pool in pools.items()}

    if cfg.metric == "fid":
        found["fid"] = frechet_study("fid", inception_features)
        return found
    found["fd_pixels"] = frechet_study("fd_pixels", pooled_pixels)
    sizes = [n for n in cfg.selection_sizes if n <= len(reference)]
    if sizes:
        def distance(real, fake):
            return float(swd(real, fake, seed=cfg.seed, **SWD_STUDY))

        found["swd"] = {cfg.seed: study(distance, reference, pools[cfg.seed], sizes,
                                        repeats=min(SWD_STUDY_REPEATS, cfg.selection_repeats),
                                        seed=cfg.seed, paired=True, name="swd",
                                        level=SELECTION_LEVEL)}
    return found


def selection_table(found: dict[str, dict[int, SizeStudy]]) -> list[dict]:
    """Per distance and n: mean and spread of the values of each checkpoint (the run shown),
    the bias against the large-n value, and the share of draws ranking the two checkpoints
    as their large-n values do, per seed and at worst over the seeds."""
    rows = []
    for name, by_seed in found.items():
        shown = by_seed[min(by_seed)]
        correct = {seed: s.correct() for seed, s in by_seed.items()}
        for n in shown.sizes:
            row = {"distance": name, "n": n}
            for r in shown.rows():
                if r["n"] == n:
                    row[f"{r['pool']}: mean ± std"] = f"{r['mean']:.4g} ± {r['std']:.2g}"
                    row[f"{r['pool']}: bias"] = r["bias"]
            for seed in sorted(correct):
                row[f"ranked right, seed {seed}"] = correct[seed][n]
            row["ranked right, worst seed"] = min(c[n] for c in correct.values())
            rows.append(row)
    return rows


def stable_sizes(found: dict[str, dict[int, SizeStudy]]) -> dict[str, int | None]:
    """Per distance: the n from which every seed's draws rank the checkpoints right in at
    least SELECTION_LEVEL of the draws (the largest over the seeds; None: not reached)."""
    out = {}
    for name, by_seed in found.items():
        each = [s.stable_n() for s in by_seed.values()]
        out[name] = None if None in each else max(each)
    return out


def plot_selection(found: dict[str, dict[int, SizeStudy]], path=None) -> Figure:
    """Top: each distance against n for the two checkpoints of the run shown (mean ± std of
    the draws; dashed: the large-n value). Bottom: the share of draws ranking them right, per
    training seed, with the SELECTION_LEVEL line."""
    fig = Figure(figsize=(4.2 * len(found), 6.4), layout="constrained")
    axes = fig.subplots(2, len(found), squeeze=False)
    for column, (name, by_seed) in enumerate(found.items()):
        shown = by_seed[min(by_seed)]
        top, bottom = axes[0, column], axes[1, column]
        for pool, by_n in shown.values.items():
            mean = [float(np.mean(by_n[n])) for n in shown.sizes]
            std = [float(np.std(by_n[n], ddof=1)) for n in shown.sizes]
            line = top.errorbar(shown.sizes, mean, yerr=std, marker="o", capsize=3,
                                label=pool)
            top.axhline(shown.large[pool], ls="--", lw=1, color=line[0].get_color())
        top.set(xscale="log", ylabel=name, title=f"{name}: n draws vs large n (dashed)")
        top.legend(fontsize=8)
        for seed, s in sorted(by_seed.items()):
            correct = s.correct()
            bottom.plot(s.sizes, [correct[n] for n in s.sizes], marker="o", label=f"seed {seed}")
        bottom.axhline(SELECTION_LEVEL, ls=":", color="k", lw=1)
        bottom.set(xscale="log", ylim=(0, 1.05), xlabel="generated images per draw (n)",
                   ylabel="draws ranking right")
        bottom.legend(fontsize=8)
        for axis in (top, bottom):  # the sizes studied as plain numbers
            axis.set_xticks(shown.sizes, [str(n) for n in shown.sizes])
            axis.minorticks_off()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def selection_claim(found: dict[str, dict[int, SizeStudy]], cfg: Config) -> Claim:
    """Report 002's model selection: "the weights with the best FID, computed on 10 images".
    Measured: the share of draws of 10 images that rank the early and the last checkpoint as
    their large-n values do (FID on full, its estimator on pooled pixels offline), per
    training seed; supported if its t-interval over the seeds lies above SELECTION_LEVEL. The
    `why` adds from what n every seed's ranking is stable (`stable_sizes`). Offline the
    verdict stays inconclusive (the data's leaning kept): pixels are not Inception's features.
    `found` empty (the run's first evaluation is its last epoch): inconclusive, nothing to
    rank."""
    seeds = training_seeds(cfg)
    common = {"id": "select_on_10", "seed_report": "002", "profile": cfg.profile,
              "rule": f"supported if above {SELECTION_LEVEL} over the seeds' t-interval "
                      "(Inception FID only)"}
    if not found:
        return Claim(claim="the weights with the best FID computed on 10 images are the "
                           "better weights",
                     measurement="share of draws of 10 generated images ranking two "
                                 "checkpoints as a large sample does",
                     verdict=lkclaims.INCONCLUSIVE,
                     why=f"the run's first evaluation is its last epoch ({cfg.epochs}): one "
                         "checkpoint, nothing to rank", seeds=len(seeds), seed_ids=seeds,
                     **common)
    name = "fid" if "fid" in found else "fd_pixels"
    by_seed = found[name]
    n = min(min(s.sizes) for s in by_seed.values())
    shares = {seed: s.correct()[n] for seed, s in sorted(by_seed.items())}
    space = "Inception-v3 features" if name == "fid" else "on 8×8 pooled pixels, offline"
    large = max(s.large_n[p] for s in by_seed.values() for p in s.large_n)
    claim = lkclaims.against_threshold(
        mean_interval(list(shares.values())), SELECTION_LEVEL, claimed="above",
        claim=f"the weights with the best FID computed on {n} images are the better weights",
        measurement=(f"share of {min(s.repeats for s in by_seed.values())} draws of {n} "
                     f"generated images whose FID ({space}) ranks the "
                     f"epoch-{first_evaluation(cfg)} and the last checkpoint as {large:,} "
                     "images do"),
        seeds=len(shares), seed_ids=list(shares), **common)
    stable = stable_sizes({name: by_seed})[name]
    claim.why += ("; every seed ranks them right in at least "
                  f"{SELECTION_LEVEL:.0%} of the draws " +
                  (f"from n = {stable}" if stable is not None else
                   f"at none of n = {', '.join(map(str, by_seed[min(by_seed)].sizes))}"))
    if name != "fid" and claim.verdict != lkclaims.INCONCLUSIVE:
        claim.leaning, claim.verdict = claim.verdict, lkclaims.INCONCLUSIVE
        claim.why = (f"measured offline on 8×8 pooled pixels, not on the 2,048 Inception "
                     f"features the report's FID uses (the data lean to "
                     f"'{claim.leaning}': {claim.why})")
    return claim


def model_selection(runs: dict[int, Run], data: ImageSet, cfg: Config
                    ) -> tuple[dict[str, dict[int, SizeStudy]], Figure | None]:
    """The model selection study of the runs (`selection_study`), recorded in the shown run's
    folder (selection_study.json, .csv, selection.png) and plotted: (found, figure); ({}, None)
    when the runs' first evaluation is their last epoch (one checkpoint, nothing to rank)."""
    if EarlyPool(cfg).epoch is None:
        return {}, None
    found = selection_study(runs, data, cfg)
    shown = runs[cfg.seed]
    record_selection(shown, found)
    return found, plot_selection(found, shown.dir.figure("selection"))


def record_selection(run: Run, found: dict[str, dict[int, SizeStudy]]) -> None:
    """The study's draws and summary into the run folder (selection_study.json, .csv)."""
    run.dir.write_table("selection_study", selection_table(found),
                        studies={name: {str(seed): s.to_dict() for seed, s in by_seed.items()}
                                 for name, by_seed in found.items()},
                        stable_n=stable_sizes(found))


# ------------------------------------------------------- report 002's data pipeline

# The real pixels' range in each pipeline: the report's loader divides by 255 ([0, 1]) while its
# generator ends in Tanh ([-1, 1]); the course's convention puts the real images in the range of
# the generator's last activation.
PIPELINES = {"report": (0.0, 1.0), "matched": (-1.0, 1.0)}
PIPELINE_LABELS = {"report": "report 002: real in [0, 1], G in [-1, 1]",
                   "matched": "matched: real and G in [-1, 1]"}
PIPELINE_DATA = "faces"  # the 100 offline LFW faces (grey), at the report's 64×64
PIPELINE_LATENT = 128  # the report's latent_dim
PIPELINE_SAMPLES = 100  # generated images per evaluation (all 100 faces are the reference)
# The report cropped faces out of mixed photos with MTCNN. No face detector installs offline
# here, and the offline faces are crops already (scikit-image's LFW subset, face-centred), so
# the pipeline uses the loader's landmark-free crop: labkit.data.transforms.RESIZE.
PIPELINE_CROP = (f"{RESIZE} (labkit.data.transforms.RESIZE) of scikit-image's LFW crops, "
                 "already face-centred; no face detector (the report used MTCNN)")


def pipeline_faces(cfg: Config) -> ImageSet:
    """The offline faces at the report's 64×64 (grey: the LFW subset has one channel), cropped
    by the landmark-free `RESIZE` (a resize of the square crops, the centre crop a no-op)."""
    return load(PIPELINE_DATA, root=cfg.data_root, split="all", image_size=64, channels=1)


def real_pixels(images: torch.Tensor, pipeline: str) -> torch.Tensor:
    """uint8 images as the pipeline feeds them to D: /255 (report) or to [-1, 1] (matched)."""
    low, high = PIPELINES[pipeline]
    return images.float() / 255 * (high - low) + low


def as_signed(fake: torch.Tensor, pipeline: str) -> torch.Tensor:
    """Generated images read in the pipeline's own pixel convention (what D was taught a real
    image looks like), clipped to it as saving an image does, then put in [-1, 1] for SWD."""
    low, high = PIPELINES[pipeline]
    return (fake.clamp(low, high) - low) / (high - low) * 2 - 1


def outside_share(fake: torch.Tensor, pipeline: str) -> float:
    """Share of generated pixels outside the range of the real images D sees."""
    low, high = PIPELINES[pipeline]
    return float(((fake < low) | (fake > high)).float().mean())


def train_pipeline(faces: ImageSet, pipeline: str, seed: int, cfg: Config) -> dict:
    """Train the report's model (`facegan`, width `pipeline_width`) for `pipeline_steps`
    iterations with the report's optimisers (Adam 2e-4, β1 0.5, BCE), real pixels scaled as
    `pipeline` says. Everything random is seeded by `seed` alone — weights, batches, noise and
    the evaluation's latents — so the two pipelines of one seed differ only in the real pixels'
    range; the global RNG is left as it was (the chapter's other runs are unchanged).

    Returns the curves: per iteration the losses and the range D saw for real and for fake
    pixels; per evaluation SWD (×10³) of `PIPELINE_SAMPLES` images (sampled as the course
    samples: `_sample`) against all the faces and the share of generated pixels outside the
    real range."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator, discriminator = facegan(PIPELINE_LATENT, faces.images.shape[1],
                                           cfg.pipeline_width)
    stream = torch.Generator().manual_seed(seed)
    fixed = torch.randn(PIPELINE_SAMPLES, PIPELINE_LATENT,
                        generator=torch.Generator().manual_seed(POOL_SEED + seed))
    real_all, reference = real_pixels(faces.images, pipeline), faces.float_images()
    betas = (0.5, 0.999)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=betas)
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=betas)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    steps, batch = cfg.pipeline_steps, min(cfg.pipeline_batch, len(faces))
    evals = sorted({max(1, round(steps * (i + 1) / cfg.pipeline_evals))
                    for i in range(cfg.pipeline_evals)})
    curves: dict = {"pipeline": pipeline, "seed": seed, "real_range": list(PIPELINES[pipeline]),
                    "loss_d": [], "loss_g": [], "real_min": [], "real_max": [], "fake_min": [],
                    "fake_max": [], "eval_step": [], "swd": [], "outside": []}
    for step in range(1, steps + 1):
        index = torch.randint(len(faces), (batch,), generator=stream)
        z = torch.randn(batch, PIPELINE_LATENT, generator=stream)
        real, fake = real_all[index], generator(z)
        ones, zeros = torch.ones(batch), torch.zeros(batch)
        loss_d = bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = bce(discriminator(fake), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        for key, value in (("loss_d", loss_d), ("loss_g", loss_g), ("real_min", real.min()),
                           ("real_max", real.max()), ("fake_min", fake.min()),
                           ("fake_max", fake.max())):
            curves[key].append(float(value.detach()))
        if step in evals:
            samples = _sample(generator, fixed)
            curves["eval_step"].append(step)
            curves["swd"].append(float(swd(reference, as_signed(samples, pipeline),
                                           seed=seed).value))
            curves["outside"].append(outside_share(samples, pipeline))
    curves["samples"] = to_uint8(as_signed(samples[:16], pipeline))
    return curves


@torch.no_grad()
def _sample(generator: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """G(z) as the course samples (the engine's `_sample`): BatchNorm in train mode, with the
    statistics of the batch generated, its running averages restored afterwards."""
    saved = [b.clone() for b in generator.buffers()]
    try:
        return generator(z)
    finally:
        for buffer, value in zip(generator.buffers(), saved):
            buffer.copy_(value)


def pipeline_seeds(cfg: Config) -> list[int]:
    """The training seeds of the pipeline comparison: `seed`, `seed` + 1, ..."""
    return list(range(cfg.seed, cfg.seed + cfg.pipeline_seeds))


def compare_pipelines(cfg: Config, faces: ImageSet | None = None) -> dict[int, dict[str, dict]]:
    """Both pipelines for every seed of `pipeline_seeds`: {seed: {pipeline: curves}}."""
    faces = pipeline_faces(cfg) if faces is None else faces
    return {seed: {name: train_pipeline(faces, name, seed, cfg) for name in PIPELINES}
            for seed in pipeline_seeds(cfg)}


def pipeline_rows(found: dict[int, dict[str, dict]]) -> list[dict]:
    """One row per seed and pipeline: the last evaluation's SWD and share of generated pixels
    outside the real range, and the ranges D saw in the last iteration (real, fake)."""
    rows = []
    for seed, by_name in sorted(found.items()):
        for name, c in by_name.items():
            rows.append({"seed": seed, "pipeline": PIPELINE_LABELS[name],
                         "real pixels": f"[{c['real_range'][0]:g}, {c['real_range'][1]:g}]",
                         "D saw real": f"[{c['real_min'][-1]:.2f}, {c['real_max'][-1]:.2f}]",
                         "D saw fake": f"[{c['fake_min'][-1]:.2f}, {c['fake_max'][-1]:.2f}]",
                         "fake pixels outside the real range": c["outside"][-1],
                         "SWD": c["swd"][-1]})
    return rows


def pipeline_means(found: dict[int, dict[str, dict]]) -> dict[str, float]:
    """Per pipeline, the means over the seeds of the last evaluation's SWD and share of
    generated pixels outside the real range: {"swd_report", "swd_matched", "outside_report",
    "outside_matched"}."""
    return {f"{key}_{name}": float(np.mean([c[name][key][-1] for c in found.values()]))
            for key in ("swd", "outside") for name in PIPELINES}


def pipeline_claim(swd_report: dict[int, float], swd_matched: dict[int, float],
                   profile: str) -> Claim:
    """The course's recommendation as a claim on report 002: matched ranges give lower SWD than
    the report's [0, 1] real pixels. Measured as the paired difference SWD(report) −
    SWD(matched) over the seeds, Student-t interval; one seed leaves it inconclusive."""
    seeds = sorted(swd_report)
    diffs = [swd_report[s] - swd_matched[s] for s in seeds]
    return lkclaims.against_threshold(
        mean_interval(diffs), 0.0, claimed="above", id="pipeline_range",
        seed_report="002",
        claim="real images scaled to [0, 1] for a generator that ends in Tanh ([-1, 1]); the "
              "course: match the ranges",
        measurement="SWD(report's [0, 1]) − SWD(matched [-1, 1]) of the last evaluation, "
                    "paired by training seed (same weights, batches, noise); crop: "
                    + PIPELINE_CROP,
        rule="supported (matching helps) if the seeds' t-interval lies above 0, refuted if "
             "below", profile=profile, seeds=len(seeds), seed_ids=seeds)


def pipeline_check(found: dict[int, dict[str, dict]], cfg: Config) -> Claim:
    """`pipeline_claim` of a comparison's runs."""
    return pipeline_claim({s: c["report"]["swd"][-1] for s, c in found.items()},
                          {s: c["matched"]["swd"][-1] for s, c in found.items()}, cfg.profile)


def plot_pipelines(found: dict[int, dict[str, dict]], path=None) -> Figure:
    """SWD and the share of generated pixels outside the real range against iterations (every
    seed, both pipelines), the range D saw per iteration (first seed), and samples."""
    figure = Figure(figsize=(13, 3.6), layout="constrained")
    ax_swd, ax_out, ax_range, ax_img = figure.subplots(1, 4)
    colours = {"report": "tab:red", "matched": "tab:blue"}
    for seed, by_name in sorted(found.items()):
        for name, c in by_name.items():
            label = PIPELINE_LABELS[name] if seed == min(found) else None
            ax_swd.plot(c["eval_step"], c["swd"], "o-", color=colours[name], label=label)
            ax_out.plot(c["eval_step"], c["outside"], "o-", color=colours[name])
    ax_swd.set(xlabel="iteration", ylabel="SWD ×10³ (lower is better)",
               title="Samples vs the faces")
    ax_swd.legend(fontsize=7)
    ax_out.set(xlabel="iteration", ylabel="share", ylim=(-0.02, 1.02),
               title="Generated pixels outside the real range")
    first = found[min(found)]
    for name, c in first.items():
        steps = np.arange(1, len(c["fake_min"]) + 1)
        ax_range.fill_between(steps, c["fake_min"], c["fake_max"], color=colours[name],
                              alpha=0.25, label=f"fake ({name})")
        ax_range.plot(steps, c["real_min"], "--", color=colours[name], lw=1,
                      label=f"real ({name})")
        ax_range.plot(steps, c["real_max"], "--", color=colours[name], lw=1)
    ax_range.set(xlabel="iteration", ylabel="pixel value", title="What D sees (per batch)")
    ax_range.legend(fontsize=6)
    rows = [torch.cat(list(c["samples"][:8].float()), dim=2) for c in first.values()]
    ax_img.imshow(torch.cat(rows, dim=1)[0].numpy(), cmap="gray", vmin=0, vmax=255)
    ax_img.set(title="Samples: report (top), matched", xticks=[], yticks=[])
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure


def report_pipeline(run: Run, cfg: Config, faces: ImageSet | None = None
                    ) -> tuple[dict[int, dict[str, dict]], Claim, Figure]:
    """The section "Report 002's pipeline": both pipelines trained on every seed, the table
    written to the shown run's folder (pipeline.json, .csv), the figure (pipeline.png), and
    the claim. (found, claim, figure)."""
    found = compare_pipelines(cfg, faces)
    run.dir.write_table("pipeline", pipeline_rows(found), crop=PIPELINE_CROP,
                        curves={str(s): {n: {k: v for k, v in c.items() if k != "samples"}
                                         for n, c in by_name.items()}
                                for s, by_name in found.items()})
    return found, pipeline_check(found, cfg), plot_pipelines(found, run.dir.figure("pipeline"))


def summary(run: Run, data: ImageSet, cfg: Config):
    """The chapter's one-row table for the results page."""
    m = run.metrics
    return table([{
        "profile": cfg.profile, "data": f"{data.name} ({len(data)} images, {cfg.image_size} px)",
        "epochs": m["epochs"], "Loss_D": m["final_loss_d"], "Loss_G": m["final_loss_g"],
        "D(x)": m["final_d_x"], "D(G(z))": m["final_d_g_z1"],
        f"best {cfg.metric}": m[f"metric_{cfg.metric}_best"],
        "best epoch": m[f"metric_{cfg.metric}_best_epoch"],
        "images/s": round(m["images_per_s"]), "device": m["device"],
    }], caption="Chapter 2: DCGAN, last-epoch means")


@dataclass
class Result:
    """What `run` produced: the training run, its data, figures and claims."""

    run: Run
    data: ImageSet
    figures: dict[str, Figure] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)
    runs: dict[int, Run] = field(default_factory=dict)  # every training seed's run

    @property
    def dir(self):
        """The run folder."""
        return self.run.dir


def run(cfg: Config) -> Result:
    """The whole chapter, headless: data, models, training with evaluation, figures, claims."""
    check_ready(cfg)
    cfg, data = load_data(cfg)
    generator, discriminator = build_models(cfg, data)
    trained = train(cfg, data, generator, discriminator,
                    callbacks=(evaluator(cfg, data), EarlyPool(cfg)))
    runs = train_replicates(cfg, data, trained)
    result = Result(trained, data, runs=runs)
    if main_process():
        result.figures = figures(trained, data, cfg)
        found, figure = model_selection(runs, data, cfg)
        if figure is not None:
            result.figures["selection"] = figure
        _, pipeline, figure = report_pipeline(trained, cfg)
        result.figures["pipeline"] = figure
        result.claims = check_claims(runs, cfg, [selection_claim(found, cfg), pipeline])
    return result
