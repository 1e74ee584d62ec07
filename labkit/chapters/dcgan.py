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
from ..metrics import inception_weights_path, scorer
from ..models import dcgan
from ..profiles import ChapterConfig, knob
from ..stats import mean_interval
from ..train import Evaluator, Run, TrainConfig, train_gan
from .common import main_process, obtain

NUMBER, NAME, NOTEBOOK = 2, "dcgan", "02_dcgan_celeba.ipynb"
SEED_REPORT = "000"
LN4 = math.log(4)  # Loss_D (real BCE + fake BCE) of a discriminator that outputs 1/2 everywhere


@dataclass
class Config(ChapterConfig):
    """Chapter 2's parameters. full: the seed's setting on CelebA; cpu: the 100 offline LFW
    faces, grayscale 32×32, many short passes, SWD; smoke: a tiny run for CI."""

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
    subset: int | None = knob(None, low=1, doc="4000 reproduces the seed's CelebA subset")
    epochs: int = knob(smoke=2, cpu=20, full=5, offline=20, low=1)
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
    eval_every: int = knob(smoke=1, cpu=2, full=1, offline=2, low=1,
                           doc="epochs between evaluations")
    eval_samples: int = knob(smoke=64, cpu=100, full=10_000, offline=100, low=2,
                             doc="generated (and real) images per evaluation")


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


def evaluator(cfg: Config, data: ImageSet) -> Evaluator:
    """Scores the same generated images every `eval_every` epochs against as many real ones
    (Inception FID on full, SWD offline) and keeps checkpoints/best.pt."""
    if cfg.metric == "fid":
        inception_weights_path()  # before training: the error says how to get the weights
    real = data.float_images(cfg.eval_samples, generator=torch.Generator().manual_seed(cfg.seed))
    options = {} if cfg.metric == "fid" else {"seed": cfg.seed}
    return Evaluator(scorer(cfg.metric, **options), real, every=cfg.eval_every)


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


def claims(run: Run, cfg: Config) -> list[Claim]:
    """Seed 000's readings of its loss chart, checked on this run (one training seed)."""
    h, seeds = run.history, 1
    epoch = np.asarray(h["epoch"])
    loss_d = np.asarray(h["loss_d"])
    first, last = loss_d[epoch == epoch.min()], loss_d[epoch == epoch.max()]
    scores = [e["value"] for e in h.get("metrics", {}).get(cfg.metric, [])]
    common = {"seed_report": SEED_REPORT, "profile": cfg.profile, "seeds": seeds}
    found = [
        lkclaims.against_threshold(
            mean_interval([float(last.mean())]), LN4, claimed="below", id="d_loss_low",
            claim="the discriminator's loss remains low",
            measurement="Loss_D, mean over the last epoch, against ln 4 (D at chance)",
            rule="supported if below ln 4 = 1.386 over the seeds' t-interval", **common),
        lkclaims.against_threshold(
            mean_interval([float(last.std() / max(first.std(), 1e-12))]), 1.0,
            claimed="below", id="d_loss_stable",
            claim="the discriminator's loss remains stable",
            measurement="spread (std) of Loss_D in the last epoch over that in the first",
            rule="supported if the ratio is below 1 over the seeds' t-interval", **common),
    ]
    if len(scores) >= 2:
        change = (scores[-1] - scores[0]) / scores[0]
        found.append(lkclaims.against_threshold(
            mean_interval([change]), 0.0, claimed="below", id="converging",
            claim="the training is converging, the generator improving over time",
            measurement=f"relative change of {cfg.metric} from the first to the last evaluation",
            rule="supported if below 0 (the metric fell) over the seeds' t-interval", **common))
    return found


def check_claims(run: Run, cfg: Config) -> list[Claim]:
    """The claims of this run, written to its claims.json."""
    return lkclaims.record(run.dir, claims(run, cfg), chapter=NAME)


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

    @property
    def dir(self):
        """The run folder."""
        return self.run.dir


def run(cfg: Config) -> Result:
    """The whole chapter, headless: data, models, training with evaluation, figures, claims."""
    check_ready(cfg)
    cfg, data = load_data(cfg)
    generator, discriminator = build_models(cfg, data)
    trained = train(cfg, data, generator, discriminator, callbacks=(evaluator(cfg, data),))
    result = Result(trained, data)
    if main_process():
        result.figures = figures(trained, data, cfg)
        result.claims = check_claims(trained, cfg)
    return result
