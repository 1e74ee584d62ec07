"""Chapter 1: GAN theory checked on toys whose densities are known exactly.

The notebook `01_gan_theory.ipynb` calls these functions cell by cell; `run(config)` calls them
all, headless (`labkit run theory`). The stages: the optimal discriminator D* beside a trained
one and the value of the game at D* (−log 4 + 2·JSD); the generator's gradient under the
minimax and the non-saturating loss; a 1-D GAN fitting a Gaussian mixture; and mode collapse on
a ring of eight Gaussians, measured by mode coverage, with an explorer to retrain the ring.

The chapter has no course seed report: its claims are those of the GAN paper (Goodfellow et
al. 2014) checked numerically — two identities that involve no training (deterministic), and
one that a trained discriminator approaches D*, measured on `dstar_seeds` discriminators trained
from different seeds, with a Student-t interval over the seeds. The ring table and the 1-D GAN
rest on one training seed each: they illustrate, the claims table decides.
"""

from __future__ import annotations

import io
import math
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import nn

from .. import claims as lkclaims
from .. import viz
from ..book import table
from ..claims import Claim
from ..data import PointSet, gaussian_mixture_1d, optimal_discriminator, ring_of_gaussians
from ..metrics import mode_coverage
from ..models import mlp_gan
from ..profiles import ChapterConfig, knob
from ..stats import Interval, mean_interval
from ..train import Labels, Run, RunDir, TrainConfig, discriminator_step, generator_loss, train_gan
from ..train.config import LOSSES
from .common import main_process

NUMBER, NAME, NOTEBOOK = 1, "theory", "01_gan_theory.ipynb"
SEED_REPORT = "gan-2014"  # no course seed report: the claims are the GAN paper's
LN4 = math.log(4)  # -V at the equilibrium: Loss_D of a discriminator that outputs 1/2

# The ring settings compared (cpu runs the first three, full all six).
RING_SETTINGS = [
    {"label": "non-saturating", "loss": "non_saturating", "lr_d": 1e-3, "lr_g": 1e-3,
     "d_steps": 1},
    {"label": "minimax", "loss": "minimax", "lr_d": 1e-3, "lr_g": 1e-3, "d_steps": 1},
    {"label": "slow G (lr_g 5e-5)", "loss": "non_saturating", "lr_d": 1e-3, "lr_g": 5e-5,
     "d_steps": 1},
    {"label": "2 D steps per G step", "loss": "non_saturating", "lr_d": 1e-3, "lr_g": 1e-3,
     "d_steps": 2},
    {"label": "small steps (lr 1e-4)", "loss": "non_saturating", "lr_d": 1e-4, "lr_g": 1e-4,
     "d_steps": 1},
    {"label": "5 D steps per G step", "loss": "non_saturating", "lr_d": 1e-3, "lr_g": 1e-3,
     "d_steps": 5},
]
SMOKE_RING_SETTINGS = [RING_SETTINGS[0], RING_SETTINGS[2]]
OUTCOMES = ("collapse", "unconverged", "unstable", "covered")

# The optimal-discriminator experiment: p_data (two Gaussians) against a fixed p_g (one broad
# Gaussian), compared on a grid where there are samples to learn from.
DSTAR_GRID = (-6.0, 6.0, 1201)
DSTAR_SUPPORT = 0.01  # (p_data + p_g) / 2 above this: "where there are samples"
DSTAR_TOLERANCE = 0.05  # mean |D_trained - D*| a trained D must stay below (claim optimal_d)
IDENTITY_TOLERANCE = 1e-3  # |V(D*, G) - (-log 4 + 2 JSD)| allowed for the grid's integration
SATURATED = 1e-3  # D(G(z)) of confidently rejected fakes (claim saturation)
WEAKER = 0.01  # minimax gradient below this share of the non-saturating one: "saturated"


@dataclass
class Config(ChapterConfig):
    """Chapter 1's parameters. Toy MLPs on 1-D and 2-D points, CPU-sized on every profile:
    `full` trains the ring longer and compares six settings, `cpu` three, `smoke` two briefly.
    One epoch is `data_repeats` passes over `points` points in batches of `batch_size`."""

    device: str = knob("cpu", doc="cpu on every profile: the toys are too small to gain from a GPU")
    points: int = knob(smoke=1024, cpu=2048, full=2048, low=1, doc="size of each toy training set")
    batch_size: int = knob(smoke=128, cpu=256, full=256, low=1)
    nz: int = knob(2, low=1, doc="latent size of the toy generators")
    hidden: int = knob(smoke=64, cpu=128, full=128, low=1, doc="width of the toy MLPs (G and D)")
    layers: int = knob(smoke=2, cpu=3, full=3, low=1, doc="depth of the toy MLPs (G and D)")
    loss: str = knob("non_saturating", choices=LOSSES,
                     doc="generator loss of the 1-D GAN and the explorer")
    lr_d: float = knob(1e-3, low=0, high=1, doc="the explorer's Adam learning rate of D")
    lr_g: float = knob(1e-3, low=0, high=1, doc="the explorer's Adam learning rate of G")
    dstar_steps: int = knob(smoke=300, cpu=1500, full=3000, low=1,
                            doc="discriminator updates against a fixed generator (D*)")
    dstar_seeds: int = knob(smoke=3, cpu=3, full=5, low=1,
                            doc="training seeds of the D* experiment: one discriminator each")
    mixture_epochs: int = knob(smoke=3, cpu=12, full=20, low=1, doc="epochs of the 1-D GAN")
    mixture_lr_d: float = knob(5e-4, low=0, high=1, doc="the 1-D GAN's Adam learning rate of D")
    mixture_lr_g: float = knob(1e-4, low=0, high=1, doc="the 1-D GAN's Adam learning rate of G")
    ring_std: float = knob(0.02, low=0, doc="std of each Gaussian of the ring (Metz et al.)")
    ring_epochs: int = knob(smoke=8, cpu=20, full=40, low=1, doc="epochs of each ring setting")
    data_repeats: int = knob(smoke=20, cpu=25, full=25, low=1,
                             doc="passes over the points per epoch")
    eval_samples: int = knob(smoke=1000, cpu=2500, full=2500, low=1,
                             doc="generated points per mode-coverage measurement")
    explorer_epochs: int = knob(smoke=2, cpu=10, full=20, low=1,
                                doc="epochs of one run of the ring explorer")
    ring_settings: list[dict] = knob(smoke=SMOKE_RING_SETTINGS, cpu=RING_SETTINGS[:3],
                                     full=RING_SETTINGS,
                                     doc='{"label", "loss", "lr_d", "lr_g", "d_steps"} each')

    def validate(self) -> None:
        """Cross-parameter checks: a positive ring std, a batch that fits the points, and ring
        settings that each name a unique label, a loss and two learning rates."""
        super().validate()
        if self.ring_std <= 0:
            raise ValueError(f"parameter ring_std={self.ring_std!r} must be positive")
        if self.batch_size > self.points:
            raise ValueError(f"parameter batch_size={self.batch_size} must not exceed "
                             f"points={self.points}")
        if not self.ring_settings:
            raise ValueError("parameter ring_settings=[] must list at least one setting")
        for setting in self.ring_settings:
            missing = {"label", "loss", "lr_d", "lr_g"} - set(setting)
            if missing:
                raise ValueError(f"parameter ring_settings: {setting!r} lacks {sorted(missing)}; "
                                 'each needs "label", "loss", "lr_d", "lr_g" (and "d_steps")')
            if setting["loss"] not in LOSSES:
                raise ValueError(f"parameter ring_settings: loss {setting['loss']!r} of "
                                 f"{setting['label']!r}; allowed values are {list(LOSSES)}")
        labels = [s["label"] for s in self.ring_settings]
        if len({ring_run_name(label) for label in labels}) < len(labels):
            raise ValueError(f"parameter ring_settings: labels {labels} must differ (each "
                             "names its run folder)")


def check_ready(cfg: Config) -> None:
    """Fail now, before any training, on a setting the engine would refuse (learning rates of
    0 or 1, a bad d_steps)."""
    for setting in [mixture_setting(cfg), *ring_settings(cfg),
                    {"loss": cfg.loss, "lr_d": cfg.lr_d, "lr_g": cfg.lr_g, "d_steps": 1}]:
        toy_train_config(cfg, setting, cfg.ring_epochs)


# --------------------------------------------------------------------------- run folder


def chapter_folder(cfg: Config) -> RunDir:
    """This execution's folder (each training run is a child of it): a fresh one, or with
    `resume` the latest chapter folder (a path: that one), whose runs resume their checkpoints."""
    folder = None
    if cfg.resume is True:
        folder = RunDir.latest(NAME, cfg.out_dir, with_checkpoint=False)
    elif cfg.resume:
        folder = RunDir(cfg.resume)
    if folder is None:
        folder = RunDir.create(NAME, cfg.out_dir)
    folder.write_config({"chapter": NAME, "parameters": cfg.to_dict()})
    return folder


@contextmanager
def one_thread() -> Iterator[None]:
    """Train the toys on one CPU thread (as fast for networks this small, steady when the cores
    are busy, and the thread count every number of the chapter was measured with)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------- optimal D


def dstar_densities(cfg: Config) -> tuple[PointSet, PointSet]:
    """The 'data' (two Gaussians at ±2) and a fixed 'generator' (one broad Gaussian), 20,000
    points each, with their densities."""
    p_data = gaussian_mixture_1d(20_000, means=(-2.0, 2.0), stds=0.6, seed=cfg.seed)
    p_g = gaussian_mixture_1d(20_000, means=(0.5,), stds=1.5, seed=cfg.seed + 1)
    return p_data, p_g


def dstar_seed_ids(cfg: Config) -> list[int]:
    """The training seeds of the D* experiment: `seed`, `seed` + 1, ... (`dstar_seeds` of them)."""
    return [cfg.seed + i for i in range(cfg.dstar_seeds)]


def train_critic(cfg: Config, p_data: PointSet, p_g: PointSet,
                 seed: int | None = None) -> tuple[nn.Module, float]:
    """A toy discriminator trained `dstar_steps` times with the engine's discriminator step on
    batches of 512 real and 512 fake points, the generator frozen; returns it and its last
    batch's BCE (an estimate of -V). `seed` (default `cfg.seed`) draws its initial weights and
    its batches; the data and the densities stay the same for every seed."""
    seed = cfg.seed if seed is None else seed
    torch.manual_seed(seed)
    _, critic = mlp_gan(dim=1, hidden=cfg.hidden, layers=cfg.layers)
    optimizer = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.999))
    scaler = torch.amp.GradScaler("cpu", enabled=False)  # no mixed precision on the CPU
    rng = torch.Generator().manual_seed(seed)
    with one_thread():
        for _ in range(cfg.dstar_steps):
            real = p_data.points[torch.randint(len(p_data), (512,), generator=rng)]
            fake = p_g.points[torch.randint(len(p_g), (512,), generator=rng)]
            bce, _, _ = discriminator_step(critic, real, fake, optimizer, scaler, Labels(),
                                           nullcontext)
    return critic, bce.item()


def integrate(values: np.ndarray, x: np.ndarray) -> float:
    """The integral of `values` over the grid `x` (trapezoid rule, float64)."""
    return torch.trapezoid(torch.as_tensor(values, dtype=torch.float64),
                           torch.as_tensor(x, dtype=torch.float64)).item()


def value_function(d: np.ndarray, dens_data: np.ndarray, dens_g: np.ndarray,
                   x: np.ndarray) -> float:
    """V(D, G) = ∫ p_data log D + p_g log(1 - D) dx, for a discriminator's outputs d on x."""
    d = np.clip(d, 1e-12, 1 - 1e-12)
    return integrate(dens_data * np.log(d) + dens_g * np.log(1 - d), x)


def jensen_shannon(dens_data: np.ndarray, dens_g: np.ndarray, x: np.ndarray) -> float:
    """JSD(p_data || p_g) = (KL(p_data || m) + KL(p_g || m)) / 2 with m their average, on x
    (0 log 0 = 0)."""
    m = (dens_data + dens_g) / 2

    def kl_to_mixture(p: np.ndarray) -> float:
        ratio = np.where(p > 0, p / np.maximum(m, 1e-300), 1.0)
        return integrate(p * np.log(ratio), x)

    return (kl_to_mixture(dens_data) + kl_to_mixture(dens_g)) / 2


@dataclass
class OptimalD:
    """The analytic D* beside a trained discriminator on a grid, and the game's value there."""

    x: np.ndarray
    dens_data: np.ndarray
    dens_g: np.ndarray
    d_star: np.ndarray
    d_trained: np.ndarray
    support: np.ndarray  # where (p_data + p_g) / 2 > DSTAR_SUPPORT
    jsd: float
    value_star: float  # V(D*, G), integrated
    value_trained: float  # V(trained D, G), integrated

    @property
    def error(self) -> np.ndarray:
        """|D_trained - D*| where there are samples."""
        return np.abs(self.d_trained - self.d_star)[self.support]

    @property
    def identity(self) -> float:
        """-log 4 + 2 JSD: the value Theorem 1 predicts at D*."""
        return -LN4 + 2 * self.jsd

    def headline(self) -> dict:
        """The numbers for the chapter's metrics.json."""
        return {"dstar_mean_error": float(self.error.mean()),
                "dstar_max_error": float(self.error.max()), "jsd": self.jsd,
                "value_at_dstar": self.value_star, "value_identity": self.identity,
                "value_at_trained_d": self.value_trained}


def compare_with_optimal(critic: nn.Module, p_data: PointSet, p_g: PointSet) -> OptimalD:
    """The trained discriminator's σ(logit) and D* = p_data / (p_data + p_g) on the grid, the
    JSD and V at both, by numerical integration."""
    x = torch.linspace(*DSTAR_GRID)
    with torch.no_grad():
        d_trained = torch.sigmoid(critic(x[:, None])).numpy()
    d_star = optimal_discriminator(x, p_data, p_g).numpy()
    dens_data, dens_g = p_data.density(x).numpy(), p_g.density(x).numpy()
    grid = x.double().numpy()
    return OptimalD(
        x=x.numpy(), dens_data=dens_data, dens_g=dens_g, d_star=d_star, d_trained=d_trained,
        support=(dens_data + dens_g) / 2 > DSTAR_SUPPORT,
        jsd=jensen_shannon(dens_data, dens_g, grid),
        value_star=value_function(d_star, dens_data, dens_g, grid),
        value_trained=value_function(d_trained, dens_data, dens_g, grid))


def train_critics(cfg: Config, p_data: PointSet,
                  p_g: PointSet) -> tuple[dict[int, OptimalD], dict[int, float]]:
    """One discriminator per training seed of `dstar_seed_ids`, each compared with D*:
    ({seed: OptimalD}, {seed: last batch's BCE})."""
    optima, bces = {}, {}
    for seed in dstar_seed_ids(cfg):
        critic, bces[seed] = train_critic(cfg, p_data, p_g, seed)
        optima[seed] = compare_with_optimal(critic, p_data, p_g)
    return optima, bces


def dstar_errors(optima: Mapping[int, OptimalD]) -> dict[int, float]:
    """{seed: mean |D_trained - D*| where there are samples}: one value per training seed."""
    return {seed: float(opt.error.mean()) for seed, opt in optima.items()}


def dstar_interval(optima: Mapping[int, OptimalD]) -> Interval:
    """The mean error over the training seeds, with its 95 % Student-t interval over the seeds
    (one value per seed: the spread of D over the grid is not a sample of anything)."""
    return mean_interval(list(dstar_errors(optima).values()))


def dstar_headline(optima: Mapping[int, OptimalD]) -> dict:
    """The first seed's numbers (the figure's) and, over all seeds, each seed's mean error and
    the t-interval of their mean, for metrics.json."""
    interval = dstar_interval(optima)
    return {**next(iter(optima.values())).headline(),
            "dstar_seed_ids": list(optima), "dstar_mean_error_per_seed":
                list(dstar_errors(optima).values()),
            "dstar_mean_error_over_seeds": interval.mean,
            "dstar_mean_error_low": interval.low, "dstar_mean_error_high": interval.high}


def dstar_report(optima: Mapping[int, OptimalD]) -> str:
    """Each seed's mean and largest |D_trained - D*|, and the Student-t interval over seeds."""
    lines = [f"seed {seed}: mean {opt.error.mean():.4f}, max {opt.error.max():.4f}"
             for seed, opt in optima.items()]
    interval = dstar_interval(optima)
    over = (f"mean over {interval.n} seeds {interval.mean:.4f}, 95 % Student-t interval "
            f"[{interval.low:.4f}, {interval.high:.4f}]" if interval.n > 1 else
            f"one seed: {interval.mean:.4f}, no interval")
    return "\n".join([f"|D_trained - D*| where (p_data + p_g)/2 > {DSTAR_SUPPORT}:", *lines,
                      over])


def plot_optimal_discriminator(opt: OptimalD, path=None,
                               others: Sequence[np.ndarray] = ()) -> Figure:
    """The two densities; D* beside the trained discriminator (and, thin, the discriminators
    of the other training seeds in `others`), the sample-free tails greyed."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    left.plot(opt.x, opt.dens_data, label="$p_{data}$ (mixture)")
    left.plot(opt.x, opt.dens_g, label="$p_g$ (fixed generator)")
    left.set_title("The two densities")
    left.set_xlabel("x")
    left.legend()
    right.plot(opt.x, opt.d_star, "k", linewidth=2, label="$D^* = p_{data} / (p_{data} + p_g)$")
    right.plot(opt.x, opt.d_trained, "C3--", linewidth=2, label="trained discriminator")
    for i, other in enumerate(others):
        right.plot(opt.x, other, "C3:", linewidth=1,
                   label="other training seeds" if i == 0 else "_other")
    right.fill_between(opt.x, 0, 1, where=~opt.support, color="0.9", label="almost no samples")
    right.axhline(0.5, color="gray", linewidth=0.8)
    right.set_ylim(0, 1)
    right.set_xlabel("x")
    right.set_title("Optimal vs trained discriminator")
    right.legend(fontsize="small")
    return _finish(fig, path)


def value_rows(opt: OptimalD) -> list[dict]:
    """The JSD, Theorem 1's prediction and V at D* and at the trained D, as table rows."""
    return [
        {"quantity": "JSD(p_data ‖ p_g)", "value": opt.jsd,
         "note": f"between 0 and log 2 = {math.log(2):.4f}"},
        {"quantity": "-log 4 + 2 JSD", "value": opt.identity, "note": "Theorem 1's V(D*, G)"},
        {"quantity": "V(D*, G), integrated", "value": opt.value_star, "note": "from D* itself"},
        {"quantity": "V(trained D, G)", "value": opt.value_trained,
         "note": "≤ V(D*, G): D* is the maximiser"},
    ]


# --------------------------------------------------------------------------- generator loss


@dataclass
class Gradients:
    """Each generator loss and |dL/dlogit| as D(G(z)) goes from 1 to 0."""

    prob: np.ndarray  # D(G(z)) = sigmoid(logit)
    losses: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]


def generator_gradients() -> Gradients:
    """Both losses of `labkit.train.generator_loss` and their gradients by autograd, over
    logits from -14 to 6 (per sample: the engine's loss averages over the batch)."""
    logits = torch.linspace(-14, 6, 801, requires_grad=True)
    losses, grads = {}, {}
    for kind in ("minimax", "non_saturating"):
        per_sample = generator_loss(logits, kind) * len(logits)
        (grad,) = torch.autograd.grad(per_sample, logits)
        grads[kind] = grad.abs().numpy()
        with torch.no_grad():
            losses[kind] = torch.stack([generator_loss(v[None], kind) for v in logits]).numpy()
    return Gradients(torch.sigmoid(logits).detach().numpy(), losses, grads)


def gradient_at(prob: float, kind: str) -> float:
    """|dL/dlogit| of the generator loss `kind` for one fake with D(G(z)) = prob."""
    logit = torch.tensor([math.log(prob / (1 - prob))], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(generator_loss(logit, kind), logit)
    return grad.abs().item()


def gradient_rows(probs: Sequence[float] = (0.5, 1e-1, 1e-2, 1e-3, 1e-4)) -> list[dict]:
    """The gradient reaching the generator under each loss at a few values of D(G(z))."""
    return [{"D(G(z))": p, "|dL/dlogit| minimax": gradient_at(p, "minimax"),
             "|dL/dlogit| non-saturating": gradient_at(p, "non_saturating")} for p in probs]


def plot_generator_gradients(g: Gradients, path=None) -> Figure:
    """The two generator losses and their gradients against D(G(z)), log scales."""
    names = {"minimax": "minimax: $\\log(1 - D(G(z)))$",
             "non_saturating": "non-saturating: $-\\log D(G(z))$"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    for kind in g.grads:
        left.plot(g.prob, g.losses[kind], label=names[kind])
        right.loglog(g.prob, g.grads[kind], label=names[kind])
    left.set_xscale("log")
    left.set_xlabel("D(G(z))")
    left.set_ylabel("generator loss")
    left.set_title("The two generator losses")
    left.legend(fontsize="small")
    right.set_xlabel("D(G(z))")
    right.set_ylabel("|dL / dlogit|")
    right.set_title("Gradient reaching the generator")
    right.legend(fontsize="small")
    return _finish(fig, path)


# --------------------------------------------------------------------------- toy GANs


@dataclass
class ToyRun:
    """A trained toy GAN: the engine's run, and what its history holds of the generated points
    (samples at chosen epochs; for the ring, the mode coverage after every epoch)."""

    run: Run
    setting: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def snapshots(self) -> dict[int, torch.Tensor]:
        """{epoch: generated points} at the snapshot epochs."""
        stored = self.run.history.get("snapshots", {})
        return {int(e): torch.tensor(p, dtype=torch.float32) for e, p in stored.items()}

    @property
    def coverage(self) -> dict[int, dict]:
        """{epoch: mode_coverage(...)} after every epoch (ring runs only)."""
        return {e["epoch"]: e for e in self.run.history.get("metrics", {}).get(COVERAGE, [])}

    @property
    def iterations_per_epoch(self) -> int:
        """Training iterations in one epoch."""
        return self.run.history["epochs"][0]["iterations"]


COVERAGE = "modes_covered"  # the history's metric name of the mode coverage


class Recorder:
    """A `train_gan` callback: after every epoch, `n` generated points (seed `seed`); keeps
    them in the history at the `snapshots` epochs and, given mode `centres`, records the mode
    coverage like an Evaluator does (history "metrics", metrics.json "metric_*")."""

    def __init__(self, n: int, seed: int, snapshots=(), centres=None, std: float = 0.02):
        self.n, self.seed, self.snapshots = n, seed, set(snapshots)
        self.centres, self.std = centres, std

    def __call__(self, run: Run, epoch: int) -> None:
        """Generate, store, measure."""
        samples = run.generate(self.n, seed=self.seed)
        if epoch in self.snapshots:
            run.history.setdefault("snapshots", {})[str(epoch)] = samples.tolist()
        if self.centres is not None:
            coverage = mode_coverage(samples, self.centres, self.std)
            entries = run.history.setdefault("metrics", {}).setdefault(COVERAGE, [])
            entries.append({"epoch": epoch, **coverage, "value": coverage["modes_covered"]})
            run.metrics["metric_modes_covered"] = coverage["modes_covered"]
            run.metrics["metric_high_quality_share"] = coverage["high_quality_share"]


def toy_train_config(cfg: Config, setting: dict, epochs: int) -> TrainConfig:
    """The engine's settings for one toy run: the chapter's sizes and one setting's loss,
    learning rates and D steps; one log line per epoch, no progress bar."""
    return TrainConfig(
        epochs=epochs, batch_size=cfg.batch_size, lr_d=setting["lr_d"], lr_g=setting["lr_g"],
        loss=setting["loss"], d_steps=setting.get("d_steps", 1), data_repeats=cfg.data_repeats,
        log_every=(cfg.points // cfg.batch_size) * cfg.data_repeats, seed=cfg.seed,
        device=cfg.device, name=NAME, progress=False, resume=bool(cfg.resume))


def train_toy(cfg: Config, data: PointSet, setting: dict, run_dir: RunDir, epochs: int,
              snapshots=(), quiet: bool = False, resume: bool | None = None) -> ToyRun:
    """Train a fresh toy GAN (seeded MLPs) on `data` with one setting (loss, lr_d, lr_g,
    d_steps) into `run_dir`; with `resume` (default: the chapter's) it continues there.
    `quiet` silences the engine's log lines."""
    torch.manual_seed(cfg.seed)
    generator, discriminator = mlp_gan(dim=data.dim, nz=cfg.nz, hidden=cfg.hidden,
                                       layers=cfg.layers)
    ring = data.name == "ring_of_gaussians"
    recorder = Recorder(cfg.eval_samples, cfg.seed + 1, snapshots,
                        data.centres if ring else None, cfg.ring_std)
    config = toy_train_config(cfg, setting, epochs)
    config.name = run_dir.name
    if resume is not None:
        config.resume = resume
    started = time.perf_counter()
    with one_thread(), redirect_stdout(io.StringIO()) if quiet else nullcontext():
        run = train_gan(generator, discriminator, data, config, callbacks=(recorder,),
                        run_dir=run_dir, record={"chapter": NAME, "setting": setting})
    return ToyRun(run, setting, time.perf_counter() - started)


def snapshot_epochs(epochs: int, count: int = 5) -> list[int]:
    """Up to `count` epochs spread from the first to the last."""
    return sorted({int(round(e)) for e in np.linspace(1, epochs, min(count, epochs))})


def _finish(fig: Figure, path=None) -> Figure:
    """Lay out, save (dpi 100) when given a path, and detach from pyplot."""
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    plt.close(fig)
    return fig


# --------------------------------------------------------------------------- the 1-D GAN


def mixture_data(cfg: Config) -> PointSet:
    """Three Gaussians at -3, 0, 3 (std 0.4, weights 1/4, 1/2, 1/4): the 1-D GAN's data."""
    return gaussian_mixture_1d(cfg.points, means=(-3.0, 0.0, 3.0), stds=0.4,
                               weights=(0.25, 0.5, 0.25), seed=cfg.seed)


def mixture_setting(cfg: Config) -> dict:
    """The 1-D GAN's setting: the chapter's loss, D learning five times faster than G."""
    return {"label": "1-D mixture", "loss": cfg.loss, "lr_d": cfg.mixture_lr_d,
            "lr_g": cfg.mixture_lr_g, "d_steps": 1}


def train_mixture(cfg: Config, data: PointSet, folder: RunDir) -> ToyRun:
    """The 1-D GAN, trained into the child `mixture-1d`, its samples kept at 4 epochs."""
    return train_toy(cfg, data, mixture_setting(cfg), folder.child("mixture-1d"),
                     cfg.mixture_epochs, snapshot_epochs(cfg.mixture_epochs, 4))


def plot_density_over_training(toy: ToyRun, data: PointSet, path=None) -> Figure:
    """Histograms of the generated points at the snapshot epochs over the true density."""
    snaps = toy.snapshots
    grid = torch.linspace(-5.5, 5.5, 400)
    true_density = data.density(grid).numpy()
    fig, axes = plt.subplots(1, len(snaps), figsize=(3.6 * len(snaps), 3.4), sharey=True,
                             squeeze=False)
    for ax, epoch in zip(axes[0], sorted(snaps)):
        ax.hist(snaps[epoch][:, 0].numpy(), bins=120, range=(-5.5, 5.5), density=True,
                color="C1", alpha=0.7, label="generated")
        ax.plot(grid, true_density, "k", linewidth=1.5, label="$p_{data}$")
        ax.set_title(f"epoch {epoch} ({epoch * toy.iterations_per_epoch} iterations)")
        ax.set_xlabel("x")
    axes[0, 0].legend(fontsize="small")
    fig.suptitle("The generated density over training (histogram of generated points)")
    return _finish(fig, path)


def _by_mode(values: torch.Tensor, data: PointSet) -> tuple[torch.Tensor, torch.Tensor]:
    """Each 1-D point's nearest mode, and whether it lies within 3 std of it."""
    distance, mode = (values[:, None] - data.centres[:, 0][None]).abs().min(dim=1)
    return mode, distance <= 3 * data.stds[0].item()


def mixture_modes(toy: ToyRun, data: PointSet) -> list[dict]:
    """Per mode: the share of real and of last-epoch generated points it gets, and their
    spread (generated points within 3 std of the mode only)."""
    final = toy.snapshots[max(toy.snapshots)][:, 0]
    real = data.points[:, 0]
    mode_real, _ = _by_mode(real, data)
    mode_fake, near_fake = _by_mode(final, data)
    rows = []
    for k, mean in enumerate(data.centres[:, 0].tolist()):
        real_k, fake_k = real[mode_real == k], final[(mode_fake == k) & near_fake]
        rows.append({"mode": mean, "share: data": len(real_k) / len(real),
                     "share: generated": len(fake_k) / len(final),
                     "std: data": real_k.std().item(),
                     "std: generated": fake_k.std().item() if len(fake_k) > 1 else math.nan})
    return rows


def mixture_reading(toy: ToyRun, data: PointSet) -> dict:
    """The last epoch of the 1-D GAN against the equilibrium: Loss_D, D(x), D(G(z)), the total
    variation between the histograms of generated and real points, the share of points off
    every mode, and the outcome with its sentence (chosen by the outcome)."""
    h = toy.run.history
    last = np.array(h["epoch"]) == h["epoch"][-1]
    final = toy.snapshots[max(toy.snapshots)][:, 0]
    real = data.points[:, 0]
    near_real, near_fake = _by_mode(real, data)[1], _by_mode(final, data)[1]

    def hist(v: torch.Tensor) -> torch.Tensor:
        return torch.histc(v, bins=55, min=-5.5, max=5.5) / len(v)

    reading = {
        "loss_d": float(np.array(h["loss_d"])[last].mean()),
        "d_x": float(np.array(h["d_x"])[last].mean()),
        "d_g_z": float(np.array(h["d_g_z1"])[last].mean()),
        "tv": 0.5 * (hist(final) - hist(real)).abs().sum().item(),
        "gap_share": 1 - near_fake.float().mean().item(),
        "real_gap_share": 1 - near_real.float().mean().item(),
    }
    reading["outcome"], reading["sentence"] = equilibrium_outcome(reading["loss_d"],
                                                                  reading["tv"])
    return reading


def equilibrium_outcome(loss_d: float, tv: float) -> tuple[str, str]:
    """(outcome, sentence): what the last Loss_D and the histograms' distance say about the
    equilibrium p_g = p_data (Loss_D within 0.05 of log 4; densities within TV 0.1)."""
    near = abs(loss_d - LN4) < 0.05
    if near and tv < 0.1:
        return "equilibrium", ("Loss_D is within 0.05 of log 4 and the densities agree closely: "
                               "the run is near the equilibrium p_g = p_data, where D* = 1/2 "
                               "everywhere.")
    if near:
        return "undetected", ("Loss_D is within 0.05 of log 4, yet the densities still differ: "
                              "against this generator the optimal discriminator would score "
                              "better than log 4, so the trained one is not optimal, and its "
                              "loss alone says little about the generator.")
    return "separating", ("Loss_D is away from log 4: the discriminator still separates real "
                          "from generated points.")


# --------------------------------------------------------------------------- the ring


def ring_data(cfg: Config) -> PointSet:
    """The ring of 8 Gaussians of Metz et al. (radius 2, std `ring_std`)."""
    return ring_of_gaussians(cfg.points, std=cfg.ring_std, seed=cfg.seed)


def ring_run_name(label: str) -> str:
    """The child folder of a ring setting: 'ring-' and its label in lower-case words."""
    return "ring-" + re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def ring_settings(cfg: Config) -> list[dict]:
    """The configured ring settings, d_steps defaulting to 1."""
    return [{"d_steps": 1, **s} for s in cfg.ring_settings]


def ring_snapshot_epochs(cfg: Config) -> list[int]:
    """The five epochs the ring figure shows."""
    return snapshot_epochs(cfg.ring_epochs, 5)


def train_ring(cfg: Config, ring: PointSet, folder: RunDir) -> list[ToyRun]:
    """Each ring setting from the same seed and start, one child folder each; one line per
    setting: iterations, time, modes covered and high-quality share at the end."""
    runs = []
    for setting in ring_settings(cfg):
        toy = train_toy(cfg, ring, setting, folder.child(ring_run_name(setting["label"])),
                        cfg.ring_epochs, ring_snapshot_epochs(cfg), quiet=True)
        end = toy.coverage[cfg.ring_epochs]
        print(f"{setting['label']:>24}: {toy.run.metrics['steps']} iterations in "
              f"{toy.seconds:5.1f} s, {end['modes_covered']}/{end['modes']} modes, "
              f"{end['high_quality_share']:.0%} high-quality  -> {toy.run.dir.name}")
        runs.append(toy)
    return runs


def verdict(final: dict, low: int, modes: int) -> tuple[str, str]:
    """(outcome, sentence): what one setting's numbers say about mode collapse.

    collapse: fewer than all modes, but >= 80 % of the samples on a mode (good points, few kinds);
    unconverged: fewer than all modes and much of the mass between modes; covered: all modes at
    the end and at every epoch of the second half; unstable: all modes at the end only.
    """
    covered, hq = final["modes_covered"], final["high_quality_share"]
    if covered < modes and hq >= 0.8:
        return "collapse", (f"mode collapse: {covered} of {modes} modes, yet {hq:.0%} of the "
                            "samples are high quality: good points, too few kinds")
    if covered < modes:
        return "unconverged", (f"not converged: {covered} of {modes} modes and only {hq:.0%} of "
                               "the samples near a mode; much of the mass lies between modes")
    if low < modes:
        return "unstable", (f"all {modes} modes at the end, but only {low} at some epoch of the "
                            "second half: coverage is not stable")
    return "covered", f"no mode collapse: all {modes} modes at every epoch of the second half"


def coverage_row(toy: ToyRun, epochs: int) -> dict:
    """One setting's row: its settings, coverage after the last epoch, the fewest modes it
    covered in the second half of training, and the verdict."""
    s, cov = toy.setting, toy.coverage
    final = cov[epochs]
    second_half = ([cov[e]["modes_covered"] for e in cov if e > epochs / 2]
                   or [final["modes_covered"]])
    outcome, sentence = verdict(final, min(second_half), final["modes"])
    return {"label": s["label"], "loss": s["loss"], "lr_d": s["lr_d"], "lr_g": s["lr_g"],
            "d_steps": s["d_steps"], "iterations": toy.run.metrics["steps"],
            "modes": final["modes"], "modes_covered": final["modes_covered"],
            "high_quality_share": final["high_quality_share"],
            "min_modes_covered_second_half": min(second_half),
            "samples_per_mode": final["counts"], "run_dir": toy.run.dir.name,
            "outcome": outcome, "verdict": sentence}


def coverage_table(cfg: Config, ring: PointSet, runs: Sequence[ToyRun],
                   folder: RunDir) -> list[dict]:
    """The mode-coverage rows, written to mode_coverage.json/.csv (with the rule) and, as
    headline numbers per setting, to the chapter's metrics.json."""
    rows = [coverage_row(toy, cfg.ring_epochs) for toy in runs]
    folder.write_table(
        "mode_coverage", rows, profile=cfg.profile, ring=ring.manifest,
        rule={"high_quality": "within 3 std of the nearest mode centre",
              "covered": "at least max(1, 1% of N) high-quality samples nearest to the mode",
              "std": cfg.ring_std, "samples": cfg.eval_samples})
    headline = {}
    for row in rows:
        key = ring_run_name(row["label"]).replace("-", "_")
        headline |= {f"{key}_modes_covered": row["modes_covered"],
                     f"{key}_high_quality_share": row["high_quality_share"],
                     f"{key}_min_modes_second_half": row["min_modes_covered_second_half"],
                     f"{key}_outcome": row["outcome"]}
    folder.update_metrics(**headline)
    return rows


def summary(rows: Sequence[dict], cfg: Config):
    """The ring table of the results page: modes covered, high-quality share, the fewest modes
    in the second half and the outcome, per setting."""
    return table([{"setting": r["label"], "iterations": r["iterations"],
                   "modes covered": f"{r['modes_covered']}/{r['modes']}",
                   "high-quality share": r["high_quality_share"],
                   "fewest modes, 2nd half": r["min_modes_covered_second_half"],
                   "outcome": r["outcome"]} for r in rows],
                 caption=f"Chapter 1: the ring of 8 Gaussians ({cfg.profile} profile, "
                         f"N = {cfg.eval_samples} generated points)")


def findings(rows: Sequence[dict]) -> list[str]:
    """What this run shows, one sentence per setting and then across settings, each chosen by
    the outcomes in the table."""
    lines = [f"- {r['label']} ({r['loss']}, lr_d {r['lr_d']:g}, lr_g {r['lr_g']:g}, "
             f"{r['d_steps']} D step(s) per G step, {r['iterations']} iterations): "
             f"{r['verdict']}." for r in rows]
    by = {k: [r["label"] for r in rows if r["outcome"] == k] for k in OUTCOMES}
    reached = by["covered"] + by["unstable"]
    if by["collapse"] and reached:
        lines.append(f"The same networks, data and seed collapsed under "
                     f"{', '.join(by['collapse'])} but reached all 8 modes under "
                     f"{', '.join(reached)}: here mode collapse is a property of the training "
                     "dynamics, not of what the networks can represent.")
    elif by["collapse"]:
        lines.append(f"Mode collapse in this run: {', '.join(by['collapse'])}; no setting "
                     "reached all 8 modes.")
    else:
        lines.append("No setting collapsed in this run (no setting ended on few modes with "
                     ">= 80 % high-quality samples).")
    if by["unstable"]:
        lines.append(f"Coverage fell during the second half under {', '.join(by['unstable'])}: "
                     "even a generator that finds every mode can lose them again.")
    if by["unconverged"]:
        lines.append(f"Still spreading mass between modes at the end: "
                     f"{', '.join(by['unconverged'])} (more epochs would tell whether they "
                     "settle on all modes or collapse).")
    return lines


def draw_ring(ax: Axes, samples: torch.Tensor, centres: torch.Tensor, title: str) -> None:
    """Generated points (orange) over the ring's mode centres (black crosses)."""
    pts = samples.numpy()
    ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.3, color="C1", rasterized=True)
    ax.scatter(centres[:, 0], centres[:, 1], marker="x", color="k", s=30)
    ax.set_xlim(-3, 3)
    ax.set_ylim(-3, 3)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize="small")


def plot_ring_over_training(runs: Sequence[ToyRun], ring: PointSet, n_real: int,
                            path=None) -> Figure:
    """One row per setting: the real ring, then the generated points at the snapshot epochs,
    each titled with its iteration, modes covered and high-quality share."""
    shown = sorted(runs[0].snapshots)
    fig, axes = plt.subplots(len(runs), len(shown) + 1, squeeze=False,
                             figsize=(2.4 * (len(shown) + 1), 2.5 * len(runs)))
    for row, toy in zip(axes, runs):
        draw_ring(row[0], ring.points[:n_real], ring.centres, "real data")
        row[0].set_ylabel(toy.setting["label"])
        snaps = toy.snapshots
        for ax, epoch in zip(row[1:], shown):
            c = toy.coverage[epoch]
            draw_ring(ax, snaps[epoch], ring.centres,
                      f"iter {epoch * toy.iterations_per_epoch}: {c['modes_covered']}/"
                      f"{c['modes']} modes, {c['high_quality_share']:.0%} HQ")
    fig.suptitle("Generated points over training, one row per setting (same seed, same start)")
    return _finish(fig, path)


def plot_coverage_curves(runs: Sequence[ToyRun], path=None) -> Figure:
    """Modes covered and the share of high-quality samples after every epoch, per setting."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    for toy in runs:
        epochs = sorted(toy.coverage)
        iters = np.array(epochs) * toy.iterations_per_epoch
        label = toy.setting["label"]
        left.plot(iters, [toy.coverage[e]["modes_covered"] for e in epochs], marker=".",
                  label=label)
        right.plot(iters, [toy.coverage[e]["high_quality_share"] for e in epochs], marker=".",
                   label=label)
    left.set_ylim(-0.3, 8.3)
    left.set_ylabel("modes covered (of 8)")
    left.set_xlabel("iterations")
    right.set_ylim(0, 1)
    right.set_ylabel("share of high-quality samples")
    right.set_xlabel("iterations")
    left.set_title("Modes covered after each epoch")
    right.set_title("Samples within 3 std of a mode")
    left.legend(fontsize="small")
    return _finish(fig, path)


def explore(cfg: Config, ring: PointSet, folder: RunDir, *, loss: str, lr_d: float,
            lr_g: float, d_steps: int, epochs: int) -> Figure:
    """Train the ring once with these settings into a fresh child `ring-explorer[-k]`; a figure
    of the last samples and of the modes covered per epoch (saved there as explorer.png).
    What `labkit.widgets.ring_explorer` calls on every click."""
    setting = {"label": "explorer", "loss": loss, "lr_d": lr_d, "lr_g": lr_g, "d_steps": d_steps}
    taken = {child.name for child in folder.children()}
    name = next(n for k in range(1, 10_000)
                if (n := "ring-explorer" + (f"-{k}" if k > 1 else "")) not in taken)
    toy = train_toy(cfg, ring, setting, folder.child(name), epochs, (epochs,), quiet=True,
                    resume=False)
    final, iters = toy.coverage[epochs], toy.iterations_per_epoch
    epochs_seen = sorted(toy.coverage)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    draw_ring(left, toy.snapshots[epochs], ring.centres,
              f"{final['modes_covered']}/{final['modes']} modes, "
              f"{final['high_quality_share']:.0%} high-quality after {epochs * iters} iterations")
    right.plot(np.array(epochs_seen) * iters,
               [toy.coverage[e]["modes_covered"] for e in epochs_seen], marker=".")
    right.set_ylim(-0.3, 8.3)
    right.set_xlabel("iterations")
    right.set_ylabel("modes covered")
    fig.suptitle(f"{loss}, lr_d {lr_d:.1e}, lr_g {lr_g:.1e}, {d_steps} D step(s) per G step")
    return _finish(fig, toy.run.dir.figure("explorer"))


def explorer_defaults(cfg: Config) -> dict:
    """The explorer's starting settings (those of the static figure when headless)."""
    return {"loss": cfg.loss, "lr_d": cfg.lr_d, "lr_g": cfg.lr_g, "d_steps": 1,
            "epochs": cfg.explorer_epochs}


# --------------------------------------------------------------------------- claims


def claims(optima: Mapping[int, OptimalD], cfg: Config) -> list[Claim]:
    """The GAN paper's results checked here: the value at D* (Theorem 1) and the saturating
    minimax loss (Section 3) by computation alone, and a trained D approaching D*
    (Proposition 1) over the training seeds of `optima` ({seed: OptimalD})."""
    if not optima:
        raise ValueError("claims need at least one trained discriminator (optima is empty)")
    common = {"seed_report": SEED_REPORT, "profile": cfg.profile}
    exact = {"deterministic": True, "seeds": 0, **common}
    ratio = gradient_at(SATURATED, "minimax") / gradient_at(SATURATED, "non_saturating")
    opt = next(iter(optima.values()))  # the identity involves no training: any seed's grid
    return [
        lkclaims.against_threshold(
            dstar_interval(optima), DSTAR_TOLERANCE, claimed="below",
            id="optimal_d", seed_ids=list(optima), **common,
            claim="for G fixed, the optimal discriminator is D* = p_data / (p_data + p_g), and "
                  "training D against a fixed G approaches it",
            measurement="mean |D_trained − D*| where (p_data + p_g)/2 > 0.01, after "
                        f"{cfg.dstar_steps} discriminator steps; mean over {len(optima)} "
                        "training seeds (one discriminator each)",
            rule=f"supported if the 95 % Student-t interval over the seeds lies below "
                 f"{DSTAR_TOLERANCE}, refuted if it lies above"),
        lkclaims.against_threshold(
            mean_interval([abs(opt.value_star - opt.identity)]), IDENTITY_TOLERANCE,
            claimed="below", id="value_at_optimum", **exact,
            claim="at D*, the game's value is V(D*, G) = −log 4 + 2·JSD(p_data ‖ p_g)",
            measurement="|V(D*, G) − (−log 4 + 2 JSD)|, both integrated numerically on "
                        f"{DSTAR_GRID[2]} points in [{DSTAR_GRID[0]:g}, {DSTAR_GRID[1]:g}]",
            rule=f"supported if below {IDENTITY_TOLERANCE:g} (integration error); no training"),
        lkclaims.against_threshold(
            mean_interval([ratio]), WEAKER, claimed="below", id="saturation", **exact,
            claim="log(1 − D(G(z))) saturates when D rejects the fakes confidently; "
                  "maximising log D(G(z)) instead gives much stronger gradients",
            measurement=f"|∂L/∂logit| of the minimax loss over that of the non-saturating "
                        f"loss at D(G(z)) = {SATURATED:g}, by autograd",
            rule=f"supported if below {WEAKER:g}; no training"),
    ]


def check_claims(folder: RunDir, optima: Mapping[int, OptimalD], cfg: Config) -> list[Claim]:
    """The claims of this run, written to the chapter folder's claims.json."""
    return lkclaims.record(folder, claims(optima, cfg), chapter=NAME)


# --------------------------------------------------------------------------- the whole chapter


@dataclass
class Result:
    """What `run` produced: the chapter folder, the D* comparison, the toy runs, the ring
    table, figures and claims."""

    dir: RunDir
    optimal: OptimalD  # the first training seed's (the figure's)
    optima: dict[int, OptimalD]  # every training seed's
    mixture: ToyRun
    ring: list[ToyRun]
    rows: list[dict]
    figures: dict[str, Figure] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)


def run(cfg: Config) -> Result:
    """The whole chapter, headless, in the notebook's order: D* and the value at D*, the
    generator's gradients, the 1-D GAN, the ring settings and their table, the explorer's
    static run, and the claims."""
    check_ready(cfg)
    folder = chapter_folder(cfg)
    p_data, p_g = dstar_densities(cfg)
    optima, _ = train_critics(cfg, p_data, p_g)
    optimal = optima[cfg.seed]
    folder.update_metrics(**dstar_headline(optima))
    figures = {
        "optimal_discriminator": plot_optimal_discriminator(
            optimal, folder.figure("optimal_discriminator"),
            [o.d_trained for s, o in optima.items() if s != cfg.seed]),
        "generator_gradients": plot_generator_gradients(
            generator_gradients(), folder.figure("generator_gradients"))}
    data_1d = mixture_data(cfg)
    mixture = train_mixture(cfg, data_1d, folder)
    reading = mixture_reading(mixture, data_1d)
    folder.update_metrics(**{f"mixture_{k}": v for k, v in reading.items() if k != "sentence"})
    figures["density_over_training"] = plot_density_over_training(
        mixture, data_1d, mixture.run.dir.figure("density_over_training"))
    figures["probabilities"] = viz.plot_probabilities(
        mixture.run.history, path=mixture.run.dir.figure("probabilities"))
    ring = ring_data(cfg)
    ring_runs = train_ring(cfg, ring, folder)
    rows = coverage_table(cfg, ring, ring_runs, folder)
    figures["ring_over_training"] = plot_ring_over_training(
        ring_runs, ring, cfg.eval_samples, folder.figure("ring_over_training"))
    figures["ring_coverage_curves"] = plot_coverage_curves(
        ring_runs, folder.figure("ring_coverage_curves"))
    figures["explorer"] = explore(cfg, ring, folder, **explorer_defaults(cfg))
    result = Result(folder, optimal, optima, mixture, ring_runs, rows, figures)
    if main_process():
        result.claims = check_claims(folder, optima, cfg)
        folder.update_metrics(status="finished")
    return result
