"""Chapter 4: the conditional GAN of seed report 003, trained on EMNIST (offline: the digits).

The notebook `04_cgan_emnist.ipynb` calls these functions cell by cell; `run(config)` calls them
all, headless (`labkit run cgan`). Seed report 003 trained a Keras conditional GAN on
EMNIST-balanced (47 classes, 28×28) for 100 epochs of 100 batches and judged ten samples by eye.
Here a classifier trained on real characters reads every generated image: the share it assigns
to the requested class is the *class accuracy*. `claims` checks the report's four readings of
its run (samples and loss curves) against this run.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from .. import claims as lkclaims
from .. import viz
from ..book import table
from ..claims import INCONCLUSIVE, REFUTED, SUPPORTED, Claim
from ..data import ImageSet, available, load
from ..metrics import Classifier, MetricResult, class_accuracy, train_classifier
from ..models import cgan, count_parameters
from ..pixels import to_signed
from ..profiles import ChapterConfig, knob
from ..stats import Interval, difference_interval, mean_interval
from ..train import Evaluator, Run, TrainConfig, train_gan
from ..train.checkpoint import load as load_checkpoint
from .common import main_process, obtain

NUMBER, NAME, NOTEBOOK = 4, "cgan", "04_cgan_emnist.ipynb"
SEED_REPORT = "003"  # its conditional GAN part (its SRGAN part is chapter 5)

# The report's optimiser: Keras Adam (beta1 0.9 by default), D lr 3e-4, G lr 2e-4, batches of 128.
SEED_SETTINGS = {"batch_size": 128, "lr_d": 3e-4, "lr_g": 2e-4, "beta1": 0.9}
REPORT_STEPS = 100 * 100  # 100 epochs of `take(100)` batches
REPORT_CLASSES = 47  # EMNIST-balanced
# The report's Keras summaries: (trainable, non-trainable) parameters.
REPORT_PARAMETERS = {"discriminator": (186_689, 0), "generator": (2_230_865, 512)}
RECOGNISABLE = 0.9  # class accuracy at which the samples count as drawn to their labels
CONSISTENT = 0.1  # the most fakes D may accept as real and still "consistently" tell them apart
LN4 = math.log(4)  # Loss_D (real BCE + fake BCE) of a D that outputs 1/2 everywhere
SMOKE_NOTE = ("smoke profile: these few steps check that everything runs; they are far too few "
              "for the class accuracy below to mean anything.")

# How the report's Keras model maps onto labkit.models.cgan (shown as a table in the notebook).
KERAS_TO_PYTORCH = [
    {"Keras (report)": "images NHWC in [0, 1], sigmoid output",
     "PyTorch (labkit.models.cgan)": "NCHW in [-1, 1]: output 2·sigmoid(·) − 1"},
    {"Keras (report)": 'Conv2D(k=4, s=2, padding="same")',
     "PyTorch (labkit.models.cgan)": "Conv2d(4, 2, padding=1) (the same 14×14, 7×7 outputs)"},
    {"Keras (report)": "LeakyReLU() (slope 0.3 by default)",
     "PyTorch (labkit.models.cgan)": "LeakyReLU(0.3) (PyTorch's default is 0.01)"},
    {"Keras (report)": "BatchNormalization() (momentum 0.99, ε 1e-3)",
     "PyTorch (labkit.models.cgan)": "BatchNorm2d(momentum=0.01, eps=1e-3)"},
    {"Keras (report)": "Glorot-uniform weights, zero biases",
     "PyTorch (labkit.models.cgan)": "PyTorch's default initialisation (kept)"},
    {"Keras (report)": "BinaryCrossentropy(from_logits=True)",
     "PyTorch (labkit.models.cgan)": "binary_cross_entropy_with_logits"},
    {"Keras (report)": "Adam(learning_rate): β = (0.9, 0.999), ε = 1e-7",
     "PyTorch (labkit.models.cgan)": "Adam(lr, betas=(beta1, 0.999)), ε = 1e-8"},
    {"Keras (report)": "one D loss on the real and fake batches concatenated",
     "PyTorch (labkit.models.cgan)": "Loss_D = BCE(real) + BCE(fake)"},
]


@dataclass
class Config(ChapterConfig):
    """Chapter 4's parameters. full: the report's run on EMNIST-balanced (the first 100 batches
    of 128, 100 epochs, its optimiser); cpu: the offline digits at 28×28 with the DCGAN paper's
    optimiser (beta1 0.5, lr 2e-4, batch 64); smoke: a tiny run for CI.

    `seed_settings=True` sets the report's optimiser (`SEED_SETTINGS`) for each of its
    parameters not set explicitly; `resolve` applies that rule, so the notebook, `labkit run`
    and `labkit sweep` resolve the same way.
    """

    dataset: str = knob(smoke="digits", cpu="digits", full="emnist", offline="digits",
                        choices=("digits", "emnist"),
                        doc='"emnist" on full; the offline "digits" otherwise')
    split: str = knob(smoke="train", cpu="train", full="balanced", offline="train",
                      doc='training split: "balanced" (EMNIST) or "train" (digits)')
    test_split: str = knob(smoke="test", cpu="test", full="balanced-test", offline="test",
                           doc='held-out split for the classifier: "balanced-test" or "test"')
    download: bool = knob(smoke=False, cpu=False, full=True,
                          doc="fetch a missing dataset (checksummed) before falling back")
    subset: int | None = knob(smoke=640, cpu=None, full=12_800, offline=None, low=1,
                              doc="12800: the first 100 batches of 128, as the report trained on")
    image_size: int = knob(28, low=4, doc="28 as in the report (a multiple of 4)")
    latent_dim: int = knob(128, low=1, doc="128 as in the report")
    epochs: int = knob(smoke=2, cpu=12, full=100, low=1, doc="100 in the report")
    batch_size: int = knob(smoke=64, cpu=64, full=128, low=1, doc="128 in the report")
    data_repeats: int = knob(smoke=1, cpu=4, full=1, offline=10, low=1,
                             doc="passes over the data per epoch (the small offline set)")
    seed_settings: bool = knob(smoke=False, cpu=False, full=True,
                               doc="True: the report's optimiser (SEED_SETTINGS)")
    lr_d: float = knob(smoke=2e-4, cpu=2e-4, full=3e-4, low=0, high=1, doc="Adam lr of D")
    lr_g: float = knob(2e-4, low=0, high=1, doc="Adam lr of G")
    beta1: float = knob(smoke=0.5, cpu=0.5, full=0.9, low=0, high=1,
                        doc="Adam beta1 of both networks (0.9 is the Keras default)")
    real_label: float = knob(1.0, low=0, high=1, doc="D's target for real images (0.9 smooths)")
    fake_label: float = knob(0.0, low=0, high=1, doc="D's target for fakes")
    log_every: int = knob(smoke=5, cpu=44, full=50, low=1, doc="iterations between log lines")
    eval_every: int = knob(smoke=1, cpu=1, full=5, low=1,
                           doc="epochs between class-accuracy evaluations (best kept)")
    eval_per_class: int = knob(smoke=10, cpu=50, full=20, low=1,
                               doc="generated images per class at each evaluation")
    classifier_epochs: int = knob(smoke=1, cpu=3, full=3, low=1,
                                  doc="training epochs of the judging classifier")
    num_samples: int = knob(smoke=100, cpu=100, full=94, low=1,
                            doc="fixed-noise samples in the grid saved every epoch")
    ladder_seeds: int = knob(smoke=2, cpu=3, full=3, low=1,
                             doc="training seeds of each rung of the optimiser ladder")
    ladder_steps: int = knob(smoke=2, cpu=30, full=10_000, low=1,
                             doc="training steps of each ladder run (10000: the report's)")
    ladder_evals: int = knob(smoke=2, cpu=3, full=5, low=1,
                             doc="class-accuracy evaluations per ladder run, evenly spaced")
    ladder_eval_per_class: int = knob(smoke=5, cpu=10, full=20, low=1,
                                      doc="generated images per class at a ladder evaluation")

    @classmethod
    def resolve(cls, profile: str = "auto", **params) -> Config:
        """The configuration (see `ChapterConfig.resolve`); with `seed_settings` true, each of
        the report's optimiser settings not given explicitly takes the report's value."""
        chosen = params.get("seed_settings")
        if chosen is None:
            chosen = cls.defaults(profile)["seed_settings"]
        if chosen is True:
            params = {**params, **{k: v for k, v in SEED_SETTINGS.items()
                                   if params.get(k) is None}}
        return super().resolve(profile, **params)

    def validate(self) -> None:
        """Cross-parameter checks: image size, and a held-out split apart from training."""
        super().validate()
        if self.image_size % 4:
            raise ValueError(f"parameter image_size={self.image_size!r}: the generator doubles a "
                             "quarter-size map twice, so use a multiple of 4 (28 in the report)")
        if self.ladder_steps % self.ladder_evals:
            raise ValueError(f"parameters ladder_steps={self.ladder_steps!r} and ladder_evals="
                             f"{self.ladder_evals!r}: the evaluations are evenly spaced, so "
                             "ladder_steps must be a multiple of ladder_evals")
        if self.test_split == self.split:
            raise ValueError(f"parameter test_split={self.test_split!r} is the training split: "
                             "the judging classifier must be measured on held-out images "
                             '("test" for digits, "balanced-test" for EMNIST)')

    @property
    def report_optimiser(self) -> bool:
        """Whether this run trains with the report's optimiser settings."""
        return all(getattr(self, k) == v for k, v in SEED_SETTINGS.items())


def check_ready(cfg: Config) -> None:
    """Fail now, before any training, when the run could not finish: invalid training settings,
    or a dataset that is not on disk and will not be downloaded (the error says how to get it;
    with `download` the data cell fetches it, or falls back to the offline digits)."""
    TrainConfig.from_profile(cfg, name=NAME)
    if not available()[cfg.dataset]["offline"] and not cfg.download:
        load(cfg.dataset, root=cfg.data_root, split=cfg.test_split, image_size=cfg.image_size,
             channels=1)


# --------------------------------------------------------------------------- data and models


@dataclass
class Characters:
    """The chapter's labelled images: the training set and the held-out set."""

    train: ImageSet
    test: ImageSet

    @property
    def classes(self) -> list[str]:
        """The class names, in label order."""
        return list(self.train.classes)

    @property
    def num_classes(self) -> int:
        """The number of classes K."""
        return len(self.classes)

    def __str__(self) -> str:
        counts = torch.bincount(self.train.labels, minlength=self.num_classes)
        return (f"{self.train}\n{self.test}\n{self.num_classes} classes; training images per "
                f"class: {int(counts.min())} to {int(counts.max())}")


def load_data(cfg: Config) -> tuple[Config, Characters]:
    """The training images (the first `subset` of them) and the held-out split, grayscale, and
    the configuration they were loaded with: on a GPU without EMNIST (download refused), the
    offline digits at gpu-offline (`obtain`)."""
    def characters(cfg: Config) -> Characters:
        def split(name: str, subset: int | None = None) -> ImageSet:
            return load(cfg.dataset, root=cfg.data_root, split=name, image_size=cfg.image_size,
                        channels=1, subset=subset, download=cfg.download)

        return Characters(split(cfg.split, cfg.subset), split(cfg.test_split))

    return obtain(cfg, characters)


def plot_real_rows(data: Characters, per_row: int = 10) -> Figure:
    """The first `per_row` training images of every class, one row per class."""
    first = torch.cat([torch.nonzero(data.train.labels == c).flatten()[:per_row]
                       for c in range(data.num_classes)])
    return viz.plot_labelled_grid(to_signed(data.train.images[first]), per_row,
                                  row_labels=data.classes,
                                  title="Real training images, one row per class")


@dataclass
class Models:
    """The pair this run trains, and the same layout at the report's 47 classes (never
    trained; for the parameter comparison)."""

    generator: nn.Module
    discriminator: nn.Module
    report_generator: nn.Module
    report_discriminator: nn.Module


def build_models(cfg: Config, data: Characters) -> Models:
    """The report's generator and discriminator for K classes, seeded; then its 47-class pair.

    Both pairs draw their initial weights from torch's global generator seeded with `cfg.seed`
    (the 47-class pair after ours, as the chapter always has), so the random stream that
    training continues from (the discriminator's dropout) is the same in every run of a seed.
    """
    torch.manual_seed(cfg.seed)
    generator, discriminator = cgan(data.num_classes, image_size=cfg.image_size, channels=1,
                                    latent_dim=cfg.latent_dim)
    report_generator, report_discriminator = cgan(REPORT_CLASSES, image_size=28, channels=1,
                                                  latent_dim=128)
    return Models(generator, discriminator, report_generator, report_discriminator)


def parameter_counts(models: Models) -> list[dict]:
    """The report's Keras summaries beside the same layout at 47 classes and this run's pair:
    trainable parameters, and the generator's BatchNorm running statistics (Keras lists those
    as non-trainable parameters, PyTorch keeps them as buffers)."""
    def running_statistics(module: nn.Module) -> int:
        return sum(b.numel() for n, b in module.named_buffers() if "running" in n)

    k = models.generator.num_classes
    rows = []
    for network, kind, count in (
            ("discriminator", "trainable", count_parameters),
            ("generator", "trainable", count_parameters),
            ("generator", "non-trainable (BatchNorm running statistics)", running_statistics)):
        report = REPORT_PARAMETERS[network][kind != "trainable"]
        of_47 = count(getattr(models, f"report_{network}"))
        rows.append({"network": network, "parameters": kind, "report (Keras)": f"{report:,}",
                     f"labkit, {REPORT_CLASSES} classes": f"{of_47:,}",
                     f"this run, {k} classes": f"{count(getattr(models, network)):,}",
                     "as the report": "equal" if of_47 == report else "DIFFERENT"})
    return rows


def optimiser_table(cfg: Config, data: Characters) -> list[dict]:
    """The report's optimiser settings and number of steps beside this run's."""
    rows = [{"setting": k, "report": v, "this run": getattr(cfg, k),
             "changed": "" if getattr(cfg, k) == v else "yes"} for k, v in SEED_SETTINGS.items()]
    iters = data.train.num_batches(cfg.batch_size) * cfg.data_repeats
    rows.append({"setting": "steps", "report": f"{REPORT_STEPS:,}",
                 "this run": f"{iters * cfg.epochs:,} ({cfg.epochs} epochs of {iters} batches)",
                 "changed": ""})
    return rows


# --------------------------------------------------------------------------- the judge


def train_judge(cfg: Config, data: Characters) -> Classifier:
    """The real-character classifier that reads the generated images, trained (seeded) on the
    whole training split, even when the GAN trains on a subset; measured on the held-out one."""
    images = data.train if cfg.subset is None else load(
        cfg.dataset, root=cfg.data_root, split=cfg.split, image_size=cfg.image_size, channels=1)
    return train_classifier(images, test_set=data.test, epochs=cfg.classifier_epochs,
                            seed=cfg.seed)


def real_accuracy(classifier: Classifier, data: Characters) -> dict[str, float]:
    """The classifier's accuracy on the held-out real images of each class."""
    hits = classifier.predict(to_signed(data.test.images)) == data.test.labels
    return {name: float(hits[data.test.labels == c].float().mean())
            for c, name in enumerate(data.classes)}


def requested_labels(n: int, num_classes: int) -> torch.Tensor:
    """The labels `Run.generate(n)` conditions on by default: 0, 1, ..., K-1, 0, 1, ... in turn."""
    return torch.arange(n) % num_classes


def requested_accuracy(classifier: Classifier, num_classes: int) -> Callable:
    """A metric `(real, fake) -> MetricResult` for the Evaluator: the share of `fake` the
    classifier assigns to the class each image was generated for (`requested_labels`)."""
    def accuracy(real: torch.Tensor, fake: torch.Tensor) -> MetricResult:
        return class_accuracy(lambda labels: fake, classifier,
                              requested_labels(len(fake), num_classes))

    return accuracy


def evaluator(cfg: Config, data: Characters, classifier: Classifier) -> Evaluator:
    """Class accuracy every `eval_every` epochs on the same `eval_per_class` × K latent vectors;
    checkpoints/best.pt keeps the epoch with the highest (mode "max"). The held-out real images
    are passed as `real`, which this metric does not use."""
    return Evaluator(requested_accuracy(classifier, data.num_classes), to_signed(data.test.images),
                     every=cfg.eval_every, n_samples=cfg.eval_per_class * data.num_classes,
                     name="class_accuracy", mode="max", keep_best=True, seed=cfg.seed + 1)


# --------------------------------------------------------------------------- training


def train(cfg: Config, data: Characters, models: Models, callbacks=()) -> Run:
    """Train the pair with the course's engine into a fresh run folder (or resume the latest):
    the run folder is the chapter's folder."""
    return train_gan(models.generator, models.discriminator, data.train,
                     TrainConfig.from_profile(cfg, name=NAME), callbacks=tuple(callbacks),
                     record={"chapter": NAME, "parameters": cfg.to_dict()})


def accuracy_curve(history: Mapping) -> list[dict]:
    """One row per evaluation: epoch, the step that ended it, the class accuracy."""
    last_step = dict(zip(history["epoch"], history["step"]))  # steps grow: the last one stays
    return [{"epoch": e["epoch"], "step": last_step.get(e["epoch"]), "class accuracy": e["value"]}
            for e in history.get("metrics", {}).get("class_accuracy", [])]


def first_reaching(curve: list[dict], level: float = RECOGNISABLE) -> dict | None:
    """The first row of `accuracy_curve` whose class accuracy is at least `level`, or None."""
    return next((row for row in curve if row["class accuracy"] >= level), None)


def reached_text(curve: list[dict], level: float = RECOGNISABLE) -> str:
    """When the class accuracy first reached `level`, in words (chosen by the outcome)."""
    reached = first_reaching(curve, level)
    if reached is None:
        return f"The class accuracy did not reach {level:g}."
    return (f"The class accuracy first reached {level:g} at epoch {reached['epoch']} (step "
            f"{reached['step']:,}).")


def plot_accuracy_curve(run: Run) -> Figure:
    """The class accuracy at each evaluation, the best epoch marked (class_accuracy.png)."""
    return viz.plot_metric(run.history, "class_accuracy", lower_is_better=False,
                           path=run.dir.figure("class_accuracy"))


# --------------------------------------------------------------------------- the optimiser ladder

# From the report's optimiser to the cpu profile's, one setting at a time and cumulatively: each
# rung changes exactly one setting of the rung before it, so a difference between two neighbouring
# rungs belongs to that setting alone (in the presence of the changes made before it).
LADDER_CHANGES = (("beta1", 0.5), ("lr_d", 2e-4), ("batch_size", 64))
FACTOR_WORDS = {"beta1": "Adam's β1", "lr_d": "D's learning rate", "batch_size": "the batch size"}
MEASURE_WORDS = {"class accuracy": "the class accuracy",
                 "D(G(z))": "D's mean probability that a fake is real, D(G(z)),"}


@dataclass(frozen=True)
class Rung:
    """One setting of the ladder: its optimiser settings and the one factor it changed."""

    name: str
    settings: dict  # batch_size, lr_d, lr_g, beta1
    factor: str | None = None  # the setting changed from the rung before (None: the first)
    before: float | None = None  # that setting's value on the rung before


def ladder(start: Mapping = SEED_SETTINGS, changes=LADDER_CHANGES) -> list[Rung]:
    """The rungs: `start` (the report's optimiser), then each change of `changes` added to the
    rung before. A change that names an unknown setting, or keeps its value, is refused."""
    rungs = [Rung("report's optimiser", dict(start))]
    for factor, value in changes:
        before = rungs[-1].settings
        if factor not in before:
            raise ValueError(f"ladder change {factor!r}: not one of the settings {sorted(before)}")
        if before[factor] == value:
            raise ValueError(f"ladder change {factor}={value!r} keeps the rung before's value: "
                             "each rung must change exactly one setting")
        rungs.append(Rung(f"+ {factor} {value:g}", {**before, factor: value}, factor,
                          before[factor]))
    return rungs


def changed_settings(a: Mapping, b: Mapping) -> list[str]:
    """The settings whose values differ between `a` and `b`, sorted."""
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def ladder_seed_ids(cfg: Config) -> list[int]:
    """The training seeds of every rung: seed, seed + 1, … (`ladder_seeds` of them); each rung
    trains the same seeds, so the rungs start from the same weights."""
    return [cfg.seed + i for i in range(cfg.ladder_seeds)]


def ladder_eval_steps(cfg: Config) -> list[int]:
    """The steps at which each ladder training measures the class accuracy."""
    every = cfg.ladder_steps // cfg.ladder_evals
    return [every * (k + 1) for k in range(cfg.ladder_evals)]


def train_rung(cfg: Config, data: Characters, classifier: Classifier, rung: Rung, seed: int,
               folder) -> list[dict]:
    """Train the rung's settings from seed `seed` for `ladder_steps` steps into the child folder
    of `folder`, measuring the class accuracy (`ladder_eval_per_class` × K samples, the same
    latent vectors in every run) at `ladder_eval_steps`; one row per evaluation. A child that
    already holds every evaluation (a resumed chapter) is read, not trained again."""
    child = folder.child(f"ladder-{rung.name.strip('+ ').replace(' ', '-')}-seed{seed}")
    history = child.read_history()
    steps = ladder_eval_steps(cfg)
    if len(history.get("metrics", {}).get("class_accuracy", [])) != len(steps):
        run_cfg = cfg.replace(seed=seed, seed_settings=False, **rung.settings)
        per_eval = steps[0]
        torch.manual_seed(seed)
        generator, discriminator = cgan(data.num_classes, image_size=cfg.image_size,
                                        channels=1, latent_dim=cfg.latent_dim)
        evaluate = Evaluator(requested_accuracy(classifier, data.num_classes),
                             to_signed(data.test.images), every=1, keep_best=False,
                             n_samples=cfg.ladder_eval_per_class * data.num_classes,
                             name="class_accuracy", mode="max", seed=cfg.seed + 1, verbose=False)
        settings = TrainConfig.from_profile(
            run_cfg, name=NAME, epochs=len(steps), max_steps_per_epoch=per_eval,
            data_repeats=math.ceil(per_eval / data.train.num_batches(run_cfg.batch_size)),
            log_every=per_eval, num_samples=data.num_classes, checkpoint_every=len(steps),
            resume=False, progress=False)
        with contextlib.redirect_stdout(io.StringIO()):
            history = train_gan(generator, discriminator, data.train, settings,
                                callbacks=(evaluate,), run_dir=child,
                                record={"chapter": NAME, "ladder": rung.name,
                                        "parameters": run_cfg.to_dict()}).history
        child.checkpoint_path.unlink(missing_ok=True)  # cheap to retrain; 20 MB each
    epochs, d_g_z = np.asarray(history["epoch"]), np.asarray(history["d_g_z1"], dtype=float)
    return [{"rung": rung.name, "seed": seed, "step": step, "class accuracy": e["value"],
             "D(G(z))": float(d_g_z[epochs == e["epoch"]].mean())}
            for step, e in zip(steps, history["metrics"]["class_accuracy"])]


def train_ladder(cfg: Config, data: Characters, classifier: Classifier, folder,
                 rungs: list[Rung] | None = None) -> list[dict]:
    """Every rung from every ladder seed (one line printed per training); one row per rung,
    seed and evaluation, also written to the chapter folder's ladder.json / ladder.csv."""
    rungs = ladder() if rungs is None else rungs
    rows = []
    for rung in rungs:
        for seed in ladder_seed_ids(cfg):
            started = time.perf_counter()
            found = train_rung(cfg, data, classifier, rung, seed, folder)
            rows += found
            print(f"{rung.name:<20} seed {seed}: class accuracy "
                  + ", ".join(f"{r['class accuracy']:.2f}" for r in found)
                  + f" at steps {', '.join(str(r['step']) for r in found)} "
                  f"({time.perf_counter() - started:.0f} s)")
    folder.write_table("ladder", rows, rungs=[dataclasses.asdict(r) for r in rungs],
                       seeds=ladder_seed_ids(cfg), steps=ladder_eval_steps(cfg))
    return rows


def values_at(rows: list[dict], rung: str, step: int, key: str = "class accuracy") -> list[float]:
    """The per-seed values of `key` of one rung at one step, in seed order."""
    return [r[key] for r in sorted(rows, key=lambda r: r["seed"])
            if r["rung"] == rung and r["step"] == step]


def ladder_curves(rows: list[dict], rungs: list[Rung]) -> list[dict]:
    """Per rung and step, over the seeds: the class accuracy's mean and 95 % Student-t interval
    ("low", "high"), and those of D(G(z)), each seed's mean over the steps before
    ("D(G(z)) low", "D(G(z)) high"); the intervals are NaN with one seed."""
    steps = sorted({r["step"] for r in rows})
    table_rows = []
    for rung in rungs:
        for step in steps:
            accuracy = mean_interval(values_at(rows, rung.name, step))
            contest = mean_interval(values_at(rows, rung.name, step, "D(G(z))"))
            table_rows.append({"rung": rung.name, "step": step, "seeds": accuracy.n,
                               "class accuracy": accuracy.mean, "low": accuracy.low,
                               "high": accuracy.high, "D(G(z))": contest.mean,
                               "D(G(z)) low": contest.low, "D(G(z)) high": contest.high})
    return table_rows


@dataclass
class Comparison:
    """One step of the ladder: a measure (`key`: the class accuracy, or D(G(z))) of a rung
    minus that of the rung before, at one training step, with Welch's 95 % interval; its verdict
    says whether the factor raised it (interval above 0), lowered it (below 0) or cannot tell
    (the interval straddles 0)."""

    rung: Rung
    step: int
    before: list[float]
    after: list[float]
    difference: Interval
    key: str = "class accuracy"

    @property
    def verdict(self) -> str:
        """'raised', 'lowered' or 'inconclusive' (also with fewer than 2 seeds a side)."""
        if self.difference.above(0):
            return "raised"
        if self.difference.below(0):
            return "lowered"
        return INCONCLUSIVE

    def row(self) -> dict:
        """The comparison as a table row."""
        return {"step of the ladder": self.rung.name,
                "changed": f"{self.rung.factor} {self.rung.before:g} → "
                           f"{self.rung.settings[self.rung.factor]:g}",
                "measure": self.key, "at step": self.step,
                "seeds": min(len(self.before), len(self.after)),
                "before": float(np.mean(self.before)),
                "after": float(np.mean(self.after)),
                "difference [95 % Welch]": str(self.difference), "verdict": self.verdict}


def compare_rungs(rows: list[dict], rungs: list[Rung], step: int | None = None,
                  key: str = "class accuracy") -> list[Comparison]:
    """Each rung against the rung before it at `step` (default: the last evaluation), by the
    rows' `key` ("class accuracy" or "D(G(z))")."""
    step = max(r["step"] for r in rows) if step is None else step
    comparisons = []
    for before, after in zip(rungs, rungs[1:]):
        if changed_settings(before.settings, after.settings) != [after.factor]:
            raise ValueError(f"rungs {before.name!r} and {after.name!r} differ in "
                             f"{changed_settings(before.settings, after.settings)}, not in one "
                             "factor")
        a, b = values_at(rows, before.name, step, key), values_at(rows, after.name, step, key)
        comparisons.append(Comparison(after, step, a, b, difference_interval(b, a), key))
    return comparisons


def which_factor(comparisons: list[Comparison]) -> str:
    """The ladder's outcome in one sentence (chosen by the comparisons' verdicts)."""
    if not comparisons:
        return "The ladder has no steps to compare."
    step, measure = comparisons[0].step, MEASURE_WORDS[comparisons[0].key]
    moved = [c for c in comparisons if c.verdict != INCONCLUSIVE]
    if not moved:
        return (f"At step {step:,} no single change moved {measure} by more than its 95 % "
                "Welch interval allows: by this measure the ladder cannot say which factor "
                "matters.")
    parts = [f"{FACTOR_WORDS[c.rung.factor]} ({c.rung.before:g} → "
             f"{c.rung.settings[c.rung.factor]:g}) {c.verdict} {measure} by {c.difference}"
             for c in moved]
    rest = [FACTOR_WORDS[c.rung.factor] for c in comparisons if c.verdict == INCONCLUSIVE]
    return (f"At step {step:,}, " + "; ".join(parts)
            + (f"; the change of {' and of '.join(rest)} made no difference the intervals can "
               "tell" if rest else "") + ".")


def ladder_budget_text(cfg: Config, data: Characters, curve: list[dict]) -> str:
    """Whether the ladder's runs are long enough to separate the rungs, judged by this run's
    own class accuracy curve (chosen by the outcome)."""
    level, steps = 2 / data.num_classes, cfg.ladder_steps
    rose = first_reaching(curve, level)
    mine = f"This run's own class accuracy ({setting(cfg, data)})"
    if rose is None:
        return (f"{mine} never rose above twice chance ({level:.2f}) in its "
                f"{curve[-1]['step'] if curve else 0:,} steps: the ladder's {steps:,} steps per "
                "run cannot be expected to separate the rungs, so expect inconclusive verdicts.")
    if rose["step"] > steps:
        return (f"{mine} first rose above twice chance ({level:.2f}) at step {rose['step']:,}, "
                f"after the {steps:,} steps each ladder run trains: at this profile the ladder "
                "compares generators that have barely begun to draw, so expect inconclusive "
                "verdicts.")
    return (f"{mine} rose above twice chance ({level:.2f}) by step {rose['step']:,}, within the "
            f"{steps:,} steps each ladder run trains: long enough for the rungs to separate "
            "where a factor matters.")


def plot_ladder(curves: list[dict], chance: float, path=None) -> Figure:
    """Class accuracy against steps for every rung: the mean over seeds with its 95 % t-interval."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for rung in dict.fromkeys(r["rung"] for r in curves):
        mine = [r for r in curves if r["rung"] == rung]
        steps = [r["step"] for r in mine]
        mean = np.asarray([r["class accuracy"] for r in mine])
        low = np.asarray([r["low"] for r in mine], dtype=float)
        high = np.asarray([r["high"] for r in mine], dtype=float)
        shown = ax.errorbar(steps, mean, yerr=np.nan_to_num(np.stack([mean - low, high - mean])),
                            marker="o", capsize=3, label=rung)
        shown.lines[0].set_zorder(3)
    ax.axhline(chance, color="gray", linestyle="--", linewidth=1, label="chance")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("training step")
    ax.set_ylabel("class accuracy")
    ax.set_title("The optimiser ladder: mean over seeds, 95 % t-interval")
    ax.legend(fontsize="small")
    return viz.finish(fig, path)


# --------------------------------------------------------------------------- final evaluation


def latents(n: int, nz: int, seed: int) -> torch.Tensor:
    """n latent vectors drawn from their own seeded generator (as `Run.generate(n, seed=)`)."""
    return torch.randn(n, nz, generator=torch.Generator().manual_seed(seed))


def best_generator(run: Run) -> tuple[nn.Module | None, int | None]:
    """A copy of the generator with checkpoints/best.pt loaded, and that checkpoint's epoch
    (None, None when the run kept no best checkpoint)."""
    if not run.dir.best_path.is_file():
        return None, None
    state = load_checkpoint(run.dir.best_path)
    generator = copy.deepcopy(run.generator)
    generator.load_state_dict(state["generator"])
    return generator, int(state["epoch"])


@dataclass
class FinalAccuracy:
    """The final, larger evaluation: class accuracy of the last generator (sampled as in
    training, and in eval mode) and of the best checkpoint, on the same latent vectors."""

    classes: list[str]
    requested: torch.Tensor  # the label of every sample: each class `samples_per_class` times
    images: torch.Tensor  # the last generator's samples (batch statistics, as in training)
    predicted: torch.Tensor  # the classifier's reading of `images`
    results: dict[str, MetricResult]  # "final", "final_eval_mode", "best"
    best_epoch: int | None

    @property
    def value(self) -> float:
        """The class accuracy of the last generator."""
        return self.results["final"].value

    @property
    def per_class(self) -> dict[str, float]:
        """The last generator's class accuracy per requested class."""
        return self.results["final"].extra["per_class"]

    @property
    def worst(self) -> str:
        """The requested class the last generator draws least recognisably."""
        return min(self.per_class, key=self.per_class.get)

    def overview(self) -> list[dict]:
        """One row per generator: its class accuracy, sample count and worst class."""
        names = {"final": "last epoch", "final_eval_mode": "last epoch, eval mode",
                 "best": f"best checkpoint (epoch {self.best_epoch})"}
        rows = []
        for key, result in self.results.items():
            per_class = result.extra["per_class"]
            worst = min(per_class, key=per_class.get)
            rows.append({"generator": names[key], "class accuracy": result.value,
                         "images": result.n_fake, "worst class": worst,
                         "its accuracy": per_class[worst]})
        return rows


def final_accuracy(run: Run, cfg: Config, data: Characters,
                   classifier: Classifier) -> FinalAccuracy:
    """Class accuracy on fresh latent vectors, 2 × `eval_per_class` per class: the last
    generator with BatchNorm on each batch's statistics (as the engine samples), the same in
    eval mode (running averages, as Keras samples outside training), and the best checkpoint."""
    requested = torch.arange(data.num_classes).repeat(2 * cfg.eval_per_class)
    n, seed = len(requested), cfg.seed + 2
    images = {"final": run.generate(n, seed=seed, labels=requested),
              "final_eval_mode": viz.generate_eval(run.generator, latents(n, cfg.latent_dim, seed),
                                                   requested)}
    best, best_epoch = best_generator(run)
    if best is not None:
        images["best"] = dataclasses.replace(run, generator=best).generate(n, seed=seed,
                                                                            labels=requested)
    results = {name: class_accuracy(lambda labels, x=x: x, classifier, requested)
               for name, x in images.items()}
    return FinalAccuracy(data.classes, requested, images["final"],
                         classifier.predict(images["final"]), results, best_epoch)


def record_accuracy(run: Run, final: FinalAccuracy, classifier: Classifier,
                    real: Mapping[str, float]) -> None:
    """class_accuracy.json/.csv (one row per class: the classifier on real held-out images and
    each generator's samples) and the headline numbers in metrics.json."""
    rows = [{"class": c, "real held-out": real[c],
             **{name: r.extra["per_class"].get(c) for name, r in final.results.items()}}
            for c in final.classes]
    run.dir.write_table("class_accuracy", rows, samples_per_class=len(final.requested)
                        // len(final.classes), classifier_held_out_accuracy=classifier.accuracy,
                        overall={name: r.value for name, r in final.results.items()},
                        best_epoch=final.best_epoch)
    reached = first_reaching(accuracy_curve(run.history))
    best = final.results.get("best")
    run.metrics = run.dir.update_metrics(
        class_accuracy_final=final.value,
        class_accuracy_final_eval_mode=final.results["final_eval_mode"].value,
        class_accuracy_best=best.value if best else None,
        class_accuracy_best_epoch=final.best_epoch,
        class_accuracy_worst=final.per_class[final.worst], worst_class=final.worst,
        classifier_accuracy=classifier.accuracy,
        step_reaching_0_9=reached["step"] if reached else None)


# ----------------------------------------------------------------- per-class figures (from viz)


def plot_class_accuracy(per_class: Mapping[str, float], *, overall: float | None = None,
                        chance: float | None = None, title: str | None = None,
                        path=None) -> Figure:
    """Per requested class, the share of generated samples a classifier assigns to that class."""
    if not per_class:
        raise ValueError("no classes to plot")
    names, values = list(per_class), [float(v) for v in per_class.values()]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.28 * len(names) + 1.5), 3.8))
    ax.bar(range(len(names)), values, color="tab:blue")
    ax.set_xticks(range(len(names)), names)
    if overall is not None:
        ax.axhline(overall, color="black", linewidth=1.2, label=f"all classes: {overall:.2f}")
    if chance is not None:
        ax.axhline(chance, color="gray", linestyle="--", linewidth=1,
                   label=f"chance: {chance:.2f}")
    ax.set_ylim(0, 1.2)  # room above the bars for the legend
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_xlabel("requested class")
    ax.set_ylabel("classified as requested")
    ax.set_title(title or "Generated samples classified as the requested class")
    if overall is not None or chance is not None:
        ax.legend(fontsize="small", loc="upper right", ncol=2)
    return viz.finish(fig, path)


def confusion_matrix(requested: torch.Tensor, predicted: torch.Tensor,
                     num_classes: int) -> np.ndarray:
    """Counts (num_classes, num_classes): row = requested class, column = predicted class."""
    requested = torch.as_tensor(requested).long().cpu()
    predicted = torch.as_tensor(predicted).long().cpu()
    flat = torch.bincount(requested * num_classes + predicted, minlength=num_classes ** 2)
    return flat.reshape(num_classes, num_classes).numpy()


def plot_confusion_matrix(requested: torch.Tensor, predicted: torch.Tensor, classes,
                          *, title: str | None = None, path=None) -> Figure:
    """Requested class (rows) against the classifier's verdict (columns), each row summing to 1.

    The diagonal is the per-class accuracy; off-diagonal cells show which class a requested
    one is drawn as instead. Shares are written in the cells when there are at most 12 classes.
    """
    names = [str(c) for c in classes]
    counts = confusion_matrix(requested, predicted, len(names))
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    side = max(4.0, 0.22 * len(names) + 2.0)
    fig, ax = plt.subplots(figsize=(side + 0.8, side))
    shown = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, fontsize="small" if len(names) > 12 else None)
    ax.set_yticks(range(len(names)), names, fontsize="small" if len(names) > 12 else None)
    if len(names) <= 12:
        for (r, c), share in np.ndenumerate(shares):
            if share >= 0.005:
                ax.text(c, r, f"{share:.2f}", ha="center", va="center", fontsize="small",
                        color="white" if share > 0.6 else "black")
    ax.set_xlabel("classified as")
    ax.set_ylabel("requested class")
    ax.set_title(title or "Which class the generated samples are classified as")
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04, label="share of the requested class")
    return viz.finish(fig, path)


def accuracy_figures(run: Run, final: FinalAccuracy) -> dict[str, Figure]:
    """The last generator's per-class bars and confusion matrix, written to the run folder."""
    chance = 1 / len(final.classes)
    return {
        "class_accuracy_per_class": plot_class_accuracy(
            final.per_class, overall=final.value, chance=chance,
            path=run.dir.figure("class_accuracy_per_class")),
        "confusion_matrix": plot_confusion_matrix(final.requested, final.predicted,
                                                  final.classes,
                                                  path=run.dir.figure("confusion_matrix")),
    }


# --------------------------------------------------------------------------- looking at samples


@torch.no_grad()
def generate_mixed(generator: nn.Module, z: torch.Tensor,
                   label_weights: torch.Tensor) -> torch.Tensor:
    """G(z) in eval mode with `label_weights` in place of the one-hot label (on the CPU; the
    generator gets its mode back)."""
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        return generator(z.to(device), label_weights=label_weights.to(device)).float().cpu()
    finally:
        generator.train(was_training)


def rows_per_class(run: Run, cfg: Config, data: Characters, per_row: int = 10) -> Figure:
    """`per_row` samples of every class, each from its own latent vector (eval mode)."""
    labels = torch.arange(data.num_classes).repeat_interleave(per_row)
    images = viz.generate_eval(run.generator, latents(len(labels), cfg.latent_dim, cfg.seed + 3),
                               labels)
    return viz.plot_labelled_grid(images, per_row, row_labels=data.classes,
                                  title="Generated: one row per requested class",
                                  path=run.dir.figure("rows_per_class"))


@dataclass
class Spread:
    """Mean pixel distance between two images of one class: generated against real."""

    generated: float
    real: float

    @property
    def ratio(self) -> float:
        """Generated spread over real spread (1: as varied as the data)."""
        return self.generated / max(self.real, 1e-12)

    def __str__(self) -> str:
        verdict = ("A ratio well below 1 means each class is drawn in fewer styles than the data "
                   "holds, which the class accuracy cannot see." if self.ratio < 0.8 else
                   "By this measure the generated images of a class vary about as much as the "
                   "real ones.")
        return (f"mean distance between two images of one class: generated "
                f"{self.generated:.1f}, real {self.real:.1f}; ratio {self.ratio:.2f}. {verdict}")


def same_class_spread(run: Run, final: FinalAccuracy, data: Characters) -> Spread:
    """The spread of the final evaluation's samples of each class against as many real training
    images of it (Euclidean distance of pixels in [-1, 1]); the ratio goes to metrics.json."""
    def spread(images: torch.Tensor) -> float:
        return torch.pdist(images.flatten(1)).mean().item()

    n = len(final.requested) // len(final.classes)
    generated = [spread(final.images[final.requested == c]) for c in range(len(final.classes))]
    real = [spread(to_signed(data.train.images[data.train.labels == c][:n]))
            for c in range(len(final.classes))]
    result = Spread(float(np.mean(generated)), float(np.mean(real)))
    run.metrics = run.dir.update_metrics(same_class_spread_ratio=result.ratio)
    return result


def same_z_all_classes(run: Run, cfg: Config, data: Characters, styles: int = 4) -> Figure:
    """One latent vector per row, every class along it (eval mode): what the label controls."""
    k = data.num_classes
    z = latents(styles, cfg.latent_dim, cfg.seed + 4).repeat_interleave(k, 0)
    images = viz.generate_eval(run.generator, z, torch.arange(k).repeat(styles))
    return viz.plot_labelled_grid(images, k, col_labels=data.classes,
                                  row_labels=[f"z{i}" for i in range(styles)],
                                  title="One latent vector per row, the label changes along it",
                                  path=run.dir.figure("same_z_all_classes"))


PAIRS = (("1", "7"), ("3", "8"), ("4", "9"), ("0", "6"))


def label_interpolation(run: Run, cfg: Config, data: Characters, classifier: Classifier,
                        steps: int = 9) -> tuple[Figure, list[dict]]:
    """Label weights (1 − t)·onehot(a) + t·onehot(b) with one fixed z per pair (eval mode), and
    what the classifier reads along each row: (figure, one row per pair)."""
    classes = data.classes
    pairs = [(a, b) for a, b in PAIRS if a in classes and b in classes]
    t = torch.linspace(0, 1, steps)
    one_hot = torch.eye(data.num_classes)
    weights = torch.cat([(1 - t)[:, None] * one_hot[classes.index(a)]
                         + t[:, None] * one_hot[classes.index(b)] for a, b in pairs])
    z = latents(len(pairs), cfg.latent_dim, cfg.seed + 5).repeat_interleave(steps, 0)
    mixed = generate_mixed(run.generator, z, weights)
    figure = viz.plot_labelled_grid(mixed, steps, row_labels=[f"{a}→{b}" for a, b in pairs],
                                    col_labels=[f"{v:.2g}" for v in t.tolist()],
                                    title="label weights (1 - t) onehot(a) + t onehot(b)",
                                    path=run.dir.figure("label_interpolation"))
    readings = classifier.predict(mixed).view(len(pairs), steps)
    rows = []
    for (a, b), row in zip(pairs, readings):
        read = [classes[i] for i in row.tolist()]
        switch = next((float(t[i]) for i, r in enumerate(read) if r == b), None)
        rows.append({"pair": f"{a}→{b}", "classifier reads, t = 0 … 1": " ".join(read),
                     "first read as b at t": switch})
    return figure, rows


def show_class(run: Run, cfg: Config, data: Characters, classifier: Classifier, label: int,
               noise_seed: int) -> Figure:
    """Eight samples of class `label` from latent vectors drawn with `noise_seed` (eval mode),
    each titled with the class the classifier reads."""
    images = viz.generate_eval(run.generator, latents(8, cfg.latent_dim, noise_seed),
                               torch.full((8,), label))
    seen = [data.classes[i] for i in classifier.predict(images).tolist()]
    return viz.plot_labelled_grid(images, 8, col_labels=[f"read: {s}" for s in seen],
                                  title=f"class {data.classes[label]!r}, seed {noise_seed}")


def ten_random_labels(run: Run, cfg: Config, data: Characters,
                      classifier: Classifier) -> tuple[Figure, int]:
    """Ten samples with random labels, as the report drew them, each titled 'requested → read':
    (figure, how many are read as requested)."""
    rng = torch.Generator().manual_seed(cfg.seed + 6)
    labels = torch.randint(0, data.num_classes, (10,), generator=rng)
    images = viz.generate_eval(run.generator, torch.randn(10, cfg.latent_dim, generator=rng),
                               labels)
    seen = classifier.predict(images)
    titles = [f"{data.classes[a]}→{data.classes[s]}" for a, s in zip(labels.tolist(),
                                                                      seen.tolist())]
    figure = viz.plot_labelled_grid(images, 10, col_labels=titles,
                                    title="requested → read by the classifier",
                                    path=run.dir.figure("ten_random_labels"))
    return figure, int((seen == labels).sum())


def training_figures(run: Run) -> dict[str, Figure]:
    """Losses and the discriminator's outputs per iteration (losses.png, probabilities.png)."""
    return {"losses": viz.plot_losses(run.history, path=run.dir.figure("losses")),
            "probabilities": viz.plot_probabilities(run.history,
                                                    path=run.dir.figure("probabilities"))}


# --------------------------------------------------------------------------- the discriminator


@torch.no_grad()
def discriminator_verdicts(discriminator: nn.Module, real: torch.Tensor, labels: torch.Tensor,
                           fake: torch.Tensor, requested: torch.Tensor, num_classes: int,
                           batch_size: int = 1024) -> dict[str, torch.Tensor]:
    """D's probability of 'real' with dropout off (eval mode; its mode is restored after):
    `p_real` for real images with their labels, `p_wrong` for the same images with a wrong
    label ((y + 1) mod K), `p_fake` for generated images with the labels they were drawn for."""
    device = next(discriminator.parameters()).device
    was_training = discriminator.training
    discriminator.eval()

    def probability(images: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.sigmoid(discriminator(x.to(device), y.to(device))).float().cpu()
                          for x, y in zip(images.split(batch_size), classes.split(batch_size))])

    try:
        return {"p_real": probability(real, labels),
                "p_wrong": probability(real, (labels + 1) % num_classes),
                "p_fake": probability(fake, requested)}
    finally:
        discriminator.train(was_training)


def acceptance(verdicts: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """The share of each set D calls real (probability above 1/2): real, wrong_label, fake."""
    names = {"p_real": "real", "p_wrong": "wrong_label", "p_fake": "fake"}
    return {names[k]: float((p > 0.5).float().mean()) for k, p in verdicts.items()}


def judge_discriminator(run: Run, data: Characters, final: FinalAccuracy) -> dict[str, float]:
    """D's acceptance of held-out real images (right and wrong labels) and of the final
    evaluation's samples; recorded in metrics.json as d_accepts_*."""
    verdicts = discriminator_verdicts(run.discriminator, to_signed(data.test.images),
                                      data.test.labels, final.images, final.requested,
                                      data.num_classes)
    shares = acceptance(verdicts)
    run.metrics = run.dir.update_metrics(**{f"d_accepts_{k}": v for k, v in shares.items()})
    return shares


def epoch_means(history: Mapping, key: str) -> dict[int, float]:
    """{epoch: mean of `key` over the epoch's iterations}."""
    epochs = np.asarray(history["epoch"])
    values = np.asarray(history[key], dtype=float)
    return {int(e): float(values[epochs == e].mean()) for e in np.unique(epochs)}


# --------------------------------------------------------------------------- claims


def _common(profile: str, seeds: int) -> dict:
    return {"seed_report": SEED_REPORT, "profile": profile, "seeds": seeds}


def setting(cfg: Config, data: Characters) -> str:
    """The data and optimiser a claim's measurement was made with, in a few words."""
    optimiser = ("the report's optimiser" if cfg.report_optimiser else
                 f"Adam beta1 {cfg.beta1:g}, lr D {cfg.lr_d:g} / G {cfg.lr_g:g}, "
                 f"batch {cfg.batch_size}, not the report's")
    return f"{data.train.name}, {data.num_classes} classes; {optimiser}"


def earlier_step(steps: list[int]) -> int:
    """The evaluation the last one is compared with: the latest at or before half the training
    (the first evaluation when none is)."""
    steps = sorted(steps)
    return max((s for s in steps if s <= steps[-1] / 2), default=steps[0])


def more_epochs_claim(rows: list[dict], rung: str, *, profile: str, seed_ids: list[int],
                      setting: str) -> Claim:
    """Claim 1: the samples were mostly scribbles, for too few epochs. Judged on the ladder's
    rung `rung` (the report's optimiser): per seed, the class accuracy at the last evaluation
    minus that at `earlier_step`; the mean gain with its 95 % Student-t interval over seeds."""
    steps = sorted({r["step"] for r in rows if r["rung"] == rung})
    earlier, last = earlier_step(steps), steps[-1]
    before, after = values_at(rows, rung, earlier), values_at(rows, rung, last)
    gain = mean_interval([b - a for a, b in zip(before, after)])
    level = (f"mean class accuracy {np.mean(before):.2f} at step {earlier:,} and "
             f"{np.mean(after):.2f} at step {last:,}")
    budget = (f"{last:,} steps, " + ("fewer than" if last < REPORT_STEPS else "as many as" if
                                     last == REPORT_STEPS else "more than")
              + f" the report's {REPORT_STEPS:,}")
    if gain.above(0):
        verdict = SUPPORTED
        why = (f"with the report's optimiser the class accuracy rose by {gain} from step "
               f"{earlier:,} to {last:,} ({level}): training longer helped"
               + ("" if np.mean(after) >= RECOGNISABLE else
                  f", though it ended below {RECOGNISABLE} (not yet fixed)") + f"; {budget}")
    elif gain.below(0):
        verdict = REFUTED
        why = (f"with the report's optimiser the class accuracy fell by {gain} from step "
               f"{earlier:,} to {last:,} ({level}): training longer did not help; {budget}")
    else:
        verdict = INCONCLUSIVE
        why = (f"with the report's optimiser the class accuracy changed by {gain} from step "
               f"{earlier:,} to {last:,} ({level}), an interval that does not exclude 0: this "
               f"budget cannot tell whether training longer helps; {budget}")
    return Claim(
        id="more_epochs", verdict=verdict, why=why, value=gain.mean,
        low=None if math.isnan(gain.low) else gain.low,
        high=None if math.isnan(gain.high) else gain.high,
        claim="some samples look like their label, the rest like scribbles; more epochs of "
              "training would fix that",
        measurement=f"with the report's optimiser ({setting}): the class accuracy at step "
                    f"{last:,} minus at step {earlier:,}, per seed; mean gain over seeds",
        rule="supported if the gain's 95 % t-interval lies above 0 (training longer raised the "
             "class accuracy), refuted if below, else inconclusive",
        seed_ids=seed_ids, **_common(profile, len(seed_ids)))


def ladder_claim(comparison: Comparison, *, profile: str, seed_ids: list[int],
                 setting: str) -> Claim:
    """One step of the optimiser ladder as a claim: changing only this factor raises the class
    accuracy (supported when the Welch interval of the difference lies above 0)."""
    rung, factor = comparison.rung, comparison.rung.factor
    after = rung.settings[factor]
    verdict = {"raised": SUPPORTED, "lowered": REFUTED}.get(comparison.verdict, INCONCLUSIVE)
    effect = {"raised": "raised", "lowered": "lowered"}.get(comparison.verdict,
                                                           "changed, within what 0 allows,")
    why = (f"changing only {FACTOR_WORDS[factor]} from {rung.before:g} to {after:g} {effect} the "
           f"class accuracy at step {comparison.step:,} by {comparison.difference} (mean "
           f"{np.mean(comparison.before):.2f} → {np.mean(comparison.after):.2f})")
    difference = comparison.difference
    return Claim(
        id=f"ladder_{factor}", verdict=verdict, why=why, value=difference.mean,
        low=None if math.isnan(difference.low) else difference.low,
        high=None if math.isnan(difference.high) else difference.high,
        claim=f"the report's optimiser held its samples back; of its settings, {factor} "
              f"({rung.before:g} → {after:g}) alone, the others as the rung before, matters",
        measurement=f"class accuracy at step {comparison.step:,}: rung '{rung.name}' minus the "
                    f"rung before ({setting}), the same seeds on both",
        rule="supported if the 95 % Welch interval of the difference lies above 0 (the change "
             "raised the class accuracy), refuted if below, else inconclusive",
        seed_ids=seed_ids, **_common(profile, len(seed_ids)))


def discriminator_claim(shares: Mapping[str, float], last_loss_d: float, *, profile: str,
                        seed_ids: Sequence[int]) -> Claim:
    """Claim 2: the discriminator loss did not rise, so D consistently tells fakes apart. Judged
    by the share of the final generator's samples D (dropout off) accepts as real."""
    fake, real, wrong = shares["fake"], shares["real"], shares["wrong_label"]
    tells = fake < CONSISTENT
    why = (f"D accepts {fake:.0%} of the last generator's samples as real, so it "
           + ("does" if tells else "does not") + " tell them apart consistently; its last-epoch "
           f"Loss_D was {last_loss_d:.3f} (Keras d_loss {last_loss_d / 2:.3f}) against "
           f"ln 4 = {LN4:.3f} at chance; a wrong label lowers the share of real images it "
           f"accepts from {real:.0%} to {wrong:.0%}: "
           + ("D checks the label" if wrong < real - 0.1 else "D hardly checks the label"))
    return lkclaims.against_threshold(
        mean_interval([fake]), CONSISTENT, claimed="below", id="d_tells_fakes_apart", why=why,
        claim="the discriminator loss did not rise significantly: D can consistently tell the "
              "generator's fakes apart",
        measurement="share of the last generator's samples that D, with dropout off, calls real "
                    "(probability above 1/2)",
        rule=f"supported if below {CONSISTENT} over the seeds' t-interval, refuted if above",
        seed_ids=list(seed_ids), **_common(profile, len(seed_ids)))


def generator_loss_claim(history: Mapping, curve: list[dict], *, profile: str,
                         seed_ids: Sequence[int]) -> Claim:
    """Claim 3: the generator loss did not go below 1. Judged by the lowest epoch mean of
    Loss_G (−log D(G(z)), the same quantity as Keras' g_loss)."""
    means = epoch_means(history, "loss_g")
    lowest = min(means.values())
    below = next((e for e, m in means.items() if m < 1), None)
    accuracy = {row["epoch"]: row["class accuracy"] for row in curve}
    share = float(np.mean(np.asarray(history["loss_g"]) < 1))
    if below is not None:
        why = (f"the epoch mean of Loss_G fell below 1 in epoch {below} (lowest {lowest:.2f}; "
               f"{share:.0%} of iterations below 1)"
               + (f", when the class accuracy was {accuracy[below]:.2f}" if below in accuracy
                  else "")
               + "; a loss below 1 says only that D(G(z)) rose above about e^-1 = 0.37")
    else:
        why = (f"every epoch mean of Loss_G stayed above 1 (lowest {lowest:.2f}): D(G(z)) stayed "
               "below about e^-1 = 0.37, D ahead of G"
               + (f"; meanwhile the class accuracy went from {curve[0]['class accuracy']:.2f} to "
                  f"{curve[-1]['class accuracy']:.2f}" if curve else ""))
    return lkclaims.against_threshold(
        mean_interval([lowest]), 1.0, claimed="above", id="g_loss_above_1", why=why,
        claim="the generator loss did not go below 1",
        measurement="the lowest per-epoch mean of Loss_G = −log D(G(z)) (Keras' g_loss)",
        rule="supported if above 1 over the seeds' t-interval, refuted if below",
        seed_ids=list(seed_ids), **_common(profile, len(seed_ids)))


def smoothing_claim(cfg: Config) -> Claim:
    """Claim 4: normalisation and label smoothing would improve the model. One run trains one
    setting and compares it with nothing, so it cannot test this; `why` says what would."""
    smoothed = cfg.real_label < 1 or cfg.fake_label > 0
    why = (f"not tested: this run trained one setting (real_label={cfg.real_label:g}, "
           f"fake_label={cfg.fake_label:g}: {'smoothed' if smoothed else 'no smoothing'}; the "
           "generator already has BatchNorm, the discriminator Dropout and no normalisation) "
           "and compares it with nothing; runs with and without smoothing, 3 seeds or more each "
           "(labkit sweep cgan over real_label 1.0 and 0.9), would test the smoothing part")
    return Claim(
        id="smoothing_would_help", verdict=INCONCLUSIVE, why=why, value=None,
        claim="normalisation and label smoothing would improve the model",
        measurement="nothing in a single run: the claim compares settings",
        rule="supported if runs with smoothing reach a higher final class accuracy than runs "
             "without (Welch interval of the difference above 0, 3 seeds or more each); refuted "
             "if lower", seed_ids=[cfg.seed], **_common(cfg.profile, 1))


def claims(run: Run, cfg: Config, data: Characters, shares: Mapping[str, float],
           ladder_rows: list[dict]) -> list[Claim]:
    """The report's four readings of its CGAN run and the optimiser ladder's steps: the ladder
    claims and 'more epochs' on the ladder's seeds, the discriminator and generator-loss
    readings on this run (one training seed)."""
    curve = accuracy_curve(run.history)
    last_loss_d = epoch_means(run.history, "loss_d")[max(run.history["epoch"])]
    rungs, seed_ids = ladder(), sorted({r["seed"] for r in ladder_rows})
    words = f"{data.train.name}, {data.num_classes} classes"
    return [
        more_epochs_claim(ladder_rows, rungs[0].name, profile=cfg.profile, seed_ids=seed_ids,
                          setting=words),
        *[ladder_claim(c, profile=cfg.profile, seed_ids=seed_ids, setting=words)
          for c in compare_rungs(ladder_rows, rungs)],
        discriminator_claim(shares, last_loss_d, profile=cfg.profile, seed_ids=[cfg.seed]),
        generator_loss_claim(run.history, curve, profile=cfg.profile, seed_ids=[cfg.seed]),
        smoothing_claim(cfg),
    ]


def check_claims(run: Run, cfg: Config, data: Characters, shares: Mapping[str, float],
                 ladder_rows: list[dict]) -> list[Claim]:
    """The claims of this run, written to its claims.json."""
    return lkclaims.record(run.dir, claims(run, cfg, data, shares, ladder_rows), chapter=NAME)


# --------------------------------------------------------------------------- summary and run


def summary(run: Run, cfg: Config, data: Characters):
    """The chapter's one-row table for the results page (from the run's metrics.json)."""
    m = run.dir.read_metrics()
    return table([{
        "profile": cfg.profile,
        "data": f"{cfg.dataset} ({data.num_classes} classes, {cfg.image_size} px)",
        "steps": m["steps"], "class accuracy (final)": m["class_accuracy_final"],
        "class accuracy (best checkpoint)": m["class_accuracy_best"],
        "0.9 first reached at step": m["step_reaching_0_9"],
        "classifier on real held-out": m["classifier_accuracy"],
        "worst class": m["worst_class"],
        "images/s": round(m["images_per_s"]), "device": m["device"],
    }], caption="Chapter 4: conditional GAN, generated samples read by a real-digit classifier")


@dataclass
class Result:
    """What `run` produced: the training run, its data, the judge, the final evaluation,
    figures and claims."""

    run: Run
    data: Characters
    classifier: Classifier
    final: FinalAccuracy | None = None
    figures: dict[str, Figure] = field(default_factory=dict)
    ladder: list[dict] = field(default_factory=list)  # one row per rung, seed and evaluation
    claims: list[Claim] = field(default_factory=list)

    @property
    def dir(self):
        """The chapter's run folder (the training run's)."""
        return self.run.dir


def run(cfg: Config) -> Result:
    """The whole chapter, headless, in the notebook's order: data, models, the judge, training
    with class accuracy, the final evaluation, figures, the optimiser ladder, the discriminator's
    verdicts, claims."""
    check_ready(cfg)
    cfg, data = load_data(cfg)
    models = build_models(cfg, data)
    classifier = train_judge(cfg, data)
    trained = train(cfg, data, models, callbacks=(evaluator(cfg, data, classifier),))
    result = Result(trained, data, classifier)
    if not main_process():
        return result
    result.final = final_accuracy(trained, cfg, data, classifier)
    record_accuracy(trained, result.final, classifier, real_accuracy(classifier, data))
    same_class_spread(trained, result.final, data)
    result.figures = {
        "class_accuracy": plot_accuracy_curve(trained),
        **accuracy_figures(trained, result.final),
        "rows_per_class": rows_per_class(trained, cfg, data),
        "same_z_all_classes": same_z_all_classes(trained, cfg, data),
        "label_interpolation": label_interpolation(trained, cfg, data, classifier)[0],
        "ten_random_labels": ten_random_labels(trained, cfg, data, classifier)[0],
        **training_figures(trained),
    }
    result.ladder = train_ladder(cfg, data, classifier, trained.dir)
    result.figures["ladder"] = plot_ladder(ladder_curves(result.ladder, ladder()),
                                           1 / data.num_classes, trained.dir.figure("ladder"))
    shares = judge_discriminator(trained, data, result.final)
    result.claims = check_claims(trained, cfg, data, shares, result.ladder)
    return result
