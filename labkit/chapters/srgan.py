"""Chapter 5: SRGAN ×4 super-resolution, measured the way the SRGAN paper measures it.

The notebook `05_srgan.ipynb` calls these functions cell by cell; `run(config)` calls them all,
headless (`labkit run srgan`). One chapter folder holds three training runs, each a child run
folder: `srresnet` (the generator alone on the MSE: the paper's pre-training), `srgan` (from
those weights, with a discriminator that learns) and `frozen-d` (the same, with a discriminator
that never learns: the lab report's loop). Every model is then scored as the paper scores it:
PSNR and SSIM on the luma channel, `scale` pixels shaved, whole held-out images, against
MATLAB's bicubic. Seed report 003 (its SRGAN part) saw its discriminator loss sit at ln 2 and
judged its images by eye; `claims` checks its readings and the paper's ordering.

Two spreads are kept apart. Offline, the evaluation set is every photograph scikit-image ships
that the training crops do not come from (`offline_evaluation_files`; `assert_disjoint` checks
the two sets share no image): the spread over those images is evaluation sampling, shown in the
scores table. `seeds` trains the three stages again from other seeds (child folders
`srresnet-seed1`, ...): the claims' intervals are Student-t over those training seeds, of each
seed's mean over the images, as the course's rule (3 seeds for a verdict) asks.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import nn

from .. import claims as lkclaims
from .. import viz
from ..book import table
from ..claims import Claim
from ..data import ImageSet, bicubic_downscale, imresize, load, load_images, modcrop
from ..data.decode import open_image
from ..data.offline import photo_files
from ..data.transforms import to_chw
from ..metrics import psnr, ssim
from ..models import FrozenDiscriminator, PerceptualLoss, count_parameters, srgan, tiled_upscale
from ..models.srgan import LAB_D_BLOCKS, dense_parameters
from ..models.vgg import LAYERS, vgg19_weights_path
from ..pixels import hwc_uint8, to_signed
from ..profiles import ChapterConfig, knob
from ..stats import Interval, mean_interval
from ..train import Run, RunDir, SuperResolution, TrainConfig, distributed, pick_device, train_gan
from .common import main_process, obtain

NUMBER, NAME, NOTEBOOK = 5, "srgan", "05_srgan.ipynb"
SEED_REPORT = "003"
LN2 = math.log(2)  # the lab's d_loss (mean of real and fake BCE) when D outputs 1/2 everywhere
LN2_BAND = 1e-3  # "at ln 2": within this of it (the report's ten epochs lie within 2.5e-4)
LEFT_LN2 = 0.01  # a discriminator "has left ln 2" when its loss is this far below it
# The lab report's d_loss, epochs 1 to 10, as it printed them.
LAB_D_LOSS = [0.693186104670167, 0.6932609871029853, 0.6933708887547254, 0.6933976419270038,
              0.693301847949624, 0.69324353300035, 0.6932124383747578, 0.6931961860507727,
              0.6931875888258219, 0.6931706830859184]
LAB_G_PARAMETERS = 1_080_835  # the report's trainable parameters of its generator

BICUBIC, TORCH_BICUBIC = "bicubic", "PyTorch bicubic (the start of the residual generator)"
SRRESNET, SRGAN = "SRResNet (MSE)", "SRGAN"
METHOD_KEYS = {BICUBIC: "bicubic", TORCH_BICUBIC: "torch_bicubic", SRRESNET: "srresnet",
               SRGAN: "srgan"}  # the methods' names in metrics.json
STAGES = ("srresnet", "srgan", "frozen-d")  # the child runs of the chapter folder
TRAINED = (SRRESNET, SRGAN)  # the methods whose scores depend on a training seed

# The offline evaluation set "skimage": every photograph in scikit-image's data folder that the
# training crops (labkit.data.offline, split "train") do not come from. Left out, as not
# photographs: synthetic images and drawings.
OFFLINE_SET = "skimage"
NOT_PHOTOGRAPHS = {
    "chessboard_GRAY.png": "synthetic chessboard", "chessboard_RGB.png": "synthetic chessboard",
    "color.png": "synthetic colour wheel", "logo.png": "drawn logo",
    "phantom.png": "synthetic Shepp-Logan phantom", "horse.png": "binary silhouette",
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class Config(ChapterConfig):
    """Chapter 5's parameters. full: the paper's setting on DIV2K, scored on Set5, Set14 and
    DIV2K valid; cpu: crops of seven offline photographs, scored on the two held-out ones, a
    smaller generator that learns a correction to bicubic, MSE content loss; smoke: tiny."""

    dataset: str = knob(smoke="photos", cpu="photos", full="div2k", offline="photos",
                        doc='training images: "div2k" (full) or the offline "photos"')
    split: str = knob("train", doc="the training split")
    download: bool = knob(smoke=False, cpu=False, full=True,
                          doc="fetch missing data (checksummed) before falling back")
    eval_sets: list[str] = knob(smoke=[OFFLINE_SET], cpu=[OFFLINE_SET],
                                full=["set5", "set14", "div2k"], offline=[OFFLINE_SET],
                                doc='evaluation sets: "skimage" (every offline photograph not '
                                    'trained on), labkit.data.load_images names or folders')
    eval_limit: int = knob(smoke=2, cpu=0, full=0, low=0,
                           doc="the first N images of each evaluation set, 0 for all")
    seeds: int = knob(smoke=2, cpu=1, full=3, low=1,
                      doc="training seeds: the three stages trained from each (3 for a verdict)")
    scale: int = knob(4, choices=(2, 4, 8), doc="upscaling factor (4 in the paper)")
    hr_size: int = knob(smoke=32, cpu=48, full=96, low=8,
                        doc="side of the HR training crops (96 in the paper)")
    crops: int = knob(smoke=128, cpu=2_000, full=25_600, low=1,
                      doc="random HR crops cut once from the training images")
    variant: str = knob("paper", choices=("paper", "lab"),
                        doc='"paper" (SRResNet + the paper D) or "lab" (the report networks)')
    blocks: int = knob(smoke=1, cpu=4, full=16, low=0,
                       doc="residual blocks of the generator (16 in the paper, 4 in the lab)")
    features: int = knob(smoke=32, cpu=32, full=64, low=1,
                         doc="channels of the generator body (64 in the paper)")
    d_features: int = knob(smoke=16, cpu=32, full=64, low=1,
                           doc="first width of D, doubled up to 8 times it (64 in the paper)")
    residual: str = knob(smoke="bicubic", cpu="bicubic", full="none",
                         choices=("none", "bicubic"),
                         doc='"none" (paper) or "bicubic": learn a correction to bicubic')
    content: str = knob(smoke="mse", cpu="mse", full="vgg54", choices=("mse", *LAYERS),
                        doc='content loss of the SRGAN stage: "mse", "vgg54" (paper), '
                            '"block3_conv4" (lab)')
    vgg_weights: str = knob("", doc="a local copy of torchvision's VGG19 weights "
                                    "(else $LABKIT_VGG19_WEIGHTS)")
    batch_size: int = knob(smoke=8, cpu=16, full=16, low=1, doc="16 in the paper")
    lr_pretrain: float = knob(smoke=1e-3, cpu=1e-3, full=1e-4, low=0, high=1,
                              doc="Adam learning rate of the SRResNet stage (1e-4 in the paper)")
    lr_gan: float = knob(1e-4, low=0, high=1,
                         doc="Adam learning rate of G and D in the SRGAN stage (1e-4)")
    beta1: float = knob(0.9, low=0, high=1, doc="Adam beta1 (0.9 in the paper)")
    adversarial_weight: float = knob(1e-3, low=0, doc="weight of the adversarial loss (1e-3)")
    pretrain_epochs: int = knob(smoke=1, cpu=6, full=10, low=1,
                                doc="epochs of SRResNet pre-training (MSE)")
    gan_epochs: int = knob(smoke=1, cpu=1, full=5, low=1,
                           doc="epochs of SRGAN training, from the SRResNet weights")
    steps_per_epoch: int = knob(smoke=6, cpu=100, full=0, low=0,
                                doc="iterations per epoch, 0 for one pass over the crops")
    frozen_steps: int = knob(smoke=4, cpu=40, full=400, low=1,
                             doc="iterations of the run whose discriminator never learns")
    flip: bool = knob(True, doc="random horizontal flips of the training crops")
    tile: int = knob(smoke=64, cpu=128, full=128, low=1, doc="tiled inference: LR tile side")
    overlap: int = knob(smoke=8, cpu=16, full=16, low=0,
                        doc="tiled inference: LR pixels of context around a tile")
    log_every: int = knob(smoke=3, cpu=25, full=200, low=1, doc="iterations between log lines")
    num_samples: int = knob(smoke=8, cpu=16, full=16, low=1,
                            doc="fixed LR crops upscaled at the end of every epoch")
    threads: int = knob(smoke=1, cpu=1, full=0, low=0,
                        doc="torch CPU threads, 0 for torch's default")

    def validate(self) -> None:
        """Cross-parameter checks: crops that divide by the scale, a lab generator without the
        bicubic residual (its Tanh would bend the sum), at least one evaluation set."""
        super().validate()
        if self.hr_size % self.scale:
            raise ValueError(f"parameter hr_size={self.hr_size} must be a multiple of "
                             f"scale={self.scale}")
        if self.variant == "lab" and self.residual != "none":
            raise ValueError(f"parameter residual={self.residual!r}: variant='lab' ends in a "
                             "Tanh and allows only residual='none'")
        if not self.eval_sets:
            raise ValueError("parameter eval_sets=[]: name at least one evaluation set")
        if len(set(self.eval_sets)) < len(self.eval_sets):
            raise ValueError(f"parameter eval_sets={self.eval_sets}: each set once")


# --------------------------------------------------------------------------- set-up


def seed_ids(cfg: Config) -> list[int]:
    """The training seeds: `seed`, `seed` + 1, ... (`seeds` of them)."""
    return [cfg.seed + i for i in range(cfg.seeds)]


def stage_name(cfg: Config, stage: str, seed: int | None = None) -> str:
    """The child folder of one stage: its name for the first seed, "<stage>-seed<k>" else."""
    return stage if seed is None or seed == cfg.seed else f"{stage}-seed{seed}"


def stage_config(cfg: Config, stage: str, seed: int | None = None) -> TrainConfig:
    """The training settings of one stage: "srresnet" (lr_pretrain, pretrain_epochs), "srgan"
    (lr_gan for G and D, gan_epochs) or "frozen-d" (as srgan, one epoch of frozen_steps), from
    training seed `seed` (default: `cfg.seed`)."""
    steps = cfg.steps_per_epoch or None  # 0: one pass over the crops per epoch
    stages = {
        "srresnet": {"epochs": cfg.pretrain_epochs, "lr_g": cfg.lr_pretrain},
        "srgan": {"epochs": cfg.gan_epochs, "lr_g": cfg.lr_gan, "lr_d": cfg.lr_gan},
        "frozen-d": {"epochs": 1, "lr_g": cfg.lr_gan, "lr_d": cfg.lr_gan,
                     "log_every": max(1, cfg.frozen_steps // 4)},
    }
    steps = cfg.frozen_steps if stage == "frozen-d" else steps
    seed = cfg.seed if seed is None else seed
    return TrainConfig.from_profile(cfg, name=stage_name(cfg, stage, seed),
                                    max_steps_per_epoch=steps, resume=bool(cfg.resume),
                                    seed=seed, **stages[stage])


def check_ready(cfg: Config) -> None:
    """Fail now, before any training, when the run could not finish: bad training settings, or
    a VGG content loss without VGG19's weights (the error says the two ways to get them)."""
    for stage in STAGES:
        stage_config(cfg, stage)
    if cfg.content != "mse":
        vgg19_weights_path(cfg.vgg_weights or None)


def set_threads(cfg: Config) -> None:
    """Use `cfg.threads` torch CPU threads (0 leaves torch's default)."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)


def chapter_folder(cfg: Config) -> RunDir:
    """The chapter's run folder: a fresh one, or with `resume` the latest (or the one named), in
    which each stage then resumes its own checkpoint. Its config.json records the parameters."""
    processes = distributed.setup(cfg.device)
    folder = None
    if processes.main:
        if isinstance(cfg.resume, str):
            folder = RunDir(cfg.resume)
        elif cfg.resume:
            folder = RunDir.latest(NAME, cfg.out_dir, with_checkpoint=False)
        if folder is None:
            folder = RunDir.create(NAME, cfg.out_dir)
        if not folder.read_config():
            folder.write_config({"chapter": NAME, "parameters": cfg.to_dict()})
    return distributed.broadcast(folder, processes)


# --------------------------------------------------------------------------- data


def load_data(cfg: Config) -> tuple[Config, ImageSet, dict[str, dict[str, torch.Tensor]]]:
    """(configuration, training crops, evaluation sets): on a GPU where DIV2K or a benchmark
    cannot be had (download refused), the offline photographs at gpu-offline (`obtain`)."""
    cfg, (crops, evaluation) = obtain(cfg, lambda cfg: (load_crops(cfg), load_evaluation(cfg)))
    return cfg, crops, evaluation


def load_crops(cfg: Config) -> ImageSet:
    """The HR training crops (`crops` random `hr_size` squares, cut once and cached as uint8)."""
    return load(cfg.dataset, root=cfg.data_root, split=cfg.split, image_size=cfg.hr_size,
                subset=cfg.crops, seed=cfg.seed, download=cfg.download)


def load_evaluation(cfg: Config) -> dict[str, dict[str, torch.Tensor]]:
    """{set: {image: uint8 HR image}} of every evaluation set, whole images trimmed so that
    their sides divide by the scale; checked disjoint from the training images
    (`assert_disjoint`) when those are the offline photographs."""
    evaluation = {}
    for name in cfg.eval_sets:
        if name == OFFLINE_SET:
            images = load_offline_evaluation(cfg.eval_limit or None)
        else:
            split = {"div2k": "valid", "photos": "test"}.get(name, "test")
            images = load_images(name, split=split, root=cfg.data_root,
                                 limit=cfg.eval_limit or None, download=cfg.download)
        evaluation[name] = {key: modcrop(image, cfg.scale) for key, image in images.items()}
    if cfg.dataset == "photos":
        assert_disjoint(load_images("photos", split=cfg.split), evaluation, cfg.scale)
    return evaluation


def offline_evaluation_files() -> dict[str, Path]:
    """{name: file} of the offline evaluation set: every photograph in scikit-image's data
    folder but those the training crops come from (split "train") and `NOT_PHOTOGRAPHS`; the
    held-out colour photographs (split "test") first, then the others by name (so that
    `eval_limit`=2 scores the two colour ones)."""
    training = {f.name for f in photo_files("train")}
    held_out = photo_files("test")
    if not held_out:
        raise FileNotFoundError("scikit-image's photographs are missing: no offline evaluation "
                                "set (reinstall scikit-image)")
    others = sorted(f for f in held_out[0].parent.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    files = held_out + [f for f in others if f not in held_out]
    return {f.stem: f for f in files if f.name not in training and f.name not in NOT_PHOTOGRAPHS}


def load_offline_evaluation(limit: int | None = None) -> dict[str, torch.Tensor]:
    """{name: uint8 3×H×W image} of the offline evaluation set (grey photographs get three
    equal channels; the metrics use luma, which is then the grey level), the first `limit`."""
    files = list(offline_evaluation_files().items())[:limit]
    return {name: torch.from_numpy(to_chw(open_image(path, "RGB")).copy())
            for name, path in files}


def _fingerprint(image: torch.Tensor) -> str:
    """A hash of an image's pixels (uint8, C×H×W) and shape."""
    return hashlib.sha1(str(tuple(image.shape)).encode() +
                        image.contiguous().numpy().tobytes()).hexdigest()


def assert_disjoint(training: Mapping[str, torch.Tensor],
                    evaluation: Mapping[str, Mapping[str, torch.Tensor]], scale: int) -> None:
    """Raise ValueError when an evaluation image is a training image: the same name, or the
    same pixels (both compared after the same `modcrop`)."""
    pixels = {_fingerprint(modcrop(image, scale)): name for name, image in training.items()}
    leaked = [f"{set_name}/{key} (= training image "
              f"{key if key in training else pixels[_fingerprint(modcrop(image, scale))]!r})"
              for set_name, images in evaluation.items() for key, image in images.items()
              if key in training or _fingerprint(modcrop(image, scale)) in pixels]
    if leaked:
        raise ValueError(f"evaluation images that training uses: {', '.join(leaked)}; the "
                         "scores must come from images the models never saw")


def describe_evaluation(evaluation: Mapping[str, Mapping[str, torch.Tensor]]) -> list[str]:
    """One line per evaluation set: its images and their sizes (the first four)."""
    lines = []
    for name, images in evaluation.items():
        sizes = ", ".join(f"{k} {v.shape[2]}x{v.shape[1]}" for k, v in list(images.items())[:4])
        more = ", ..." if len(images) > 4 else ""
        lines.append(f"evaluation set {name!r}: {len(images)} whole images ({sizes}{more})")
        if name == OFFLINE_SET:
            lines.append(f"   {', '.join(images)}: every scikit-image photograph the training "
                         "crops do not come from (checked: no image in both)")
    return lines


def downscaler(cfg: Config) -> Callable[[torch.Tensor], torch.Tensor]:
    """The LR input of a batch: MATLAB-bicubic ×1/scale, rounded to 8 bits (as benchmark files)."""
    return partial(bicubic_downscale, scale=cfg.scale)


def show_crops(crops: ImageSet, cfg: Config, n: int = 8) -> Figure:
    """The first `n` LR inputs (enlarged by pixel repetition) above their HR crops."""
    examples = crops.float_images(n)
    enlarged = F.interpolate(downscaler(cfg)(examples), scale_factor=cfg.scale, mode="nearest")
    return viz.show_grid(torch.cat([enlarged, examples]), nrow=n,
                         title=f"LR input ({cfg.hr_size // cfg.scale} px, enlarged) above its HR "
                               f"crop ({cfg.hr_size} px)")


# --------------------------------------------------------------------------- networks


def build_models(cfg: Config, seed: int | None = None) -> tuple[nn.Module, nn.Module]:
    """A fresh (generator, discriminator) pair of this configuration, initialised from `seed`
    (default `cfg.seed`; so every stage of one seed starts from the same discriminator)."""
    torch.manual_seed(cfg.seed if seed is None else seed)
    return srgan(cfg.scale, variant=cfg.variant, blocks=cfg.blocks, features=cfg.features,
                 d_features=cfg.d_features, image_size=cfg.hr_size, residual=cfg.residual)


def network_report(cfg: Config, generator: nn.Module, discriminator: nn.Module) -> list[str]:
    """The sizes of this run's networks, of the paper's and of the lab report's (the lab's
    256×256 discriminator is built on the meta device: counted, never allocated)."""
    with torch.device("meta"):
        paper_g, paper_d = srgan(cfg.scale)
        lab_g, _ = srgan(4, variant="lab", image_size=32)
        _, lab_d = srgan(4, variant="lab")
    lab_dense, lab_d_total = dense_parameters(256, LAB_D_BLOCKS), count_parameters(lab_d)
    lab_g_total = count_parameters(lab_g)
    same = "equal" if lab_g_total == LAB_G_PARAMETERS else "DIFFERENT"
    return [
        f"generator ({cfg.variant}, {cfg.blocks} blocks of {cfg.features} channels, "
        f"residual={cfg.residual!r}): {count_parameters(generator):,} parameters",
        f"discriminator on {cfg.hr_size}x{cfg.hr_size} crops, widths {cfg.d_features} to "
        f"{8 * cfg.d_features}: {count_parameters(discriminator):,} parameters",
        f"paper SRResNet x{cfg.scale}, 16 blocks: {count_parameters(paper_g):,} parameters; "
        f"paper discriminator on 96x96: {count_parameters(paper_d):,}",
        f"lab generator: {lab_g_total:,} trainable parameters (the report prints "
        f"{LAB_G_PARAMETERS:,}: {same})",
        f"lab discriminator on 256x256: flattens {lab_d.flat_features:,} features into "
        f"Dense(1024): {lab_dense:,} parameters in that layer, {lab_d_total:,} in all",
        f"   that layer is {lab_dense / lab_d_total:.1%} of the lab discriminator, "
        f"{lab_dense / lab_g_total:.0f} times the lab generator, {lab_dense * 4 / 1e9:.2f} GB "
        f"in float32; the paper D dense layer on 96x96 crops: {dense_parameters(96):,}",
    ]


def content_loss(cfg: Config) -> Callable:
    """The SRGAN stage's content loss: the pixel MSE, or VGG19 features (`content` names the
    layer; VGG54 in the paper, rescaled by 1/12.75) on the device training runs on."""
    if cfg.content == "mse":
        return F.mse_loss
    processes = distributed.setup(cfg.device)
    device = (distributed.device_for(processes, cfg.device) if processes.world > 1
              else pick_device(cfg.device))
    return PerceptualLoss(cfg.content, cfg.vgg_weights or None).to(device)


def content_note(cfg: Config) -> str:
    """Which content loss the SRGAN stage uses, and why."""
    why = (" (MSE: this profile runs offline, without the VGG19 weights)" if cfg.content == "mse"
           else " (VGG19 features, rescaled by 1/12.75 as in the paper)")
    return f"content loss of the SRGAN stage: {cfg.content}{why}"


# --------------------------------------------------------------------------- training


def train_stage(cfg: Config, stage: str, generator: nn.Module, discriminator: nn.Module,
                crops: ImageSet, chapter_dir: RunDir, task: SuperResolution,
                callbacks: Sequence = (), seed: int | None = None) -> Run:
    """Train one stage from training seed `seed` with the course's engine into the chapter
    folder's child `stage_name(...)` (resumed from its own checkpoint with `resume`)."""
    seed = cfg.seed if seed is None else seed
    return train_gan(generator, discriminator, crops, stage_config(cfg, stage, seed), task=task,
                     callbacks=tuple(callbacks),
                     run_dir=chapter_dir.child(stage_name(cfg, stage, seed)),
                     record={"chapter": NAME, "stage": stage, "seed": seed,
                             "parameters": cfg.to_dict()})


def pretrain(cfg: Config, crops: ImageSet, chapter_dir: RunDir, generator: nn.Module,
             discriminator: nn.Module, callbacks: Sequence = (), seed: int | None = None) -> Run:
    """Stage 1, SRResNet: the generator alone on the pixel MSE. With adversarial weight 0 the
    engine neither trains nor consults the discriminator."""
    task = SuperResolution(downscaler(cfg), F.mse_loss, adversarial_weight=0.0)
    return train_stage(cfg, "srresnet", generator, discriminator, crops, chapter_dir, task,
                       callbacks, seed)


def from_srresnet(cfg: Config, srresnet: Run,
                  seed: int | None = None) -> tuple[nn.Module, nn.Module]:
    """A generator holding the trained SRResNet's weights, and a fresh discriminator."""
    generator, discriminator = build_models(cfg, seed)
    generator.load_state_dict(srresnet.generator.state_dict())
    return generator, discriminator


def train_srgan(cfg: Config, crops: ImageSet, chapter_dir: RunDir, srresnet: Run,
                content: Callable, callbacks: Sequence = (), seed: int | None = None) -> Run:
    """Stage 2, SRGAN: from the SRResNet weights, one D update then one G update on content +
    `adversarial_weight` × the non-saturating adversarial loss, per iteration."""
    generator, discriminator = from_srresnet(cfg, srresnet, seed)
    task = SuperResolution(downscaler(cfg), content, adversarial_weight=cfg.adversarial_weight)
    return train_stage(cfg, "srgan", generator, discriminator, crops, chapter_dir, task,
                       callbacks, seed)


def train_frozen(cfg: Config, crops: ImageSet, chapter_dir: RunDir, srresnet: Run,
                 content: Callable, seed: int | None = None) -> Run:
    """The lab's loop: stage 2 again, `frozen_steps` iterations, with the same discriminator
    wrapped in `FrozenDiscriminator` (weights never updated, BatchNorm in inference mode)."""
    generator, discriminator = from_srresnet(cfg, srresnet, seed)
    task = SuperResolution(downscaler(cfg), content, adversarial_weight=cfg.adversarial_weight)
    return train_stage(cfg, "frozen-d", generator, FrozenDiscriminator(discriminator), crops,
                       chapter_dir, task, seed=seed)


def train_seed(cfg: Config, crops: ImageSet, chapter_dir: RunDir, content: Callable,
               seed: int) -> dict[str, Run]:
    """The three stages from one training seed: {"srresnet", "srgan", "frozen-d": Run}."""
    generator, discriminator = build_models(cfg, seed)
    srresnet = pretrain(cfg, crops, chapter_dir, generator, discriminator, seed=seed)
    return {"srresnet": srresnet,
            "srgan": train_srgan(cfg, crops, chapter_dir, srresnet, content, seed=seed),
            "frozen-d": train_frozen(cfg, crops, chapter_dir, srresnet, content, seed)}


def train_more_seeds(cfg: Config, crops: ImageSet, chapter_dir: RunDir,
                     content: Callable) -> dict[int, dict[str, Run]]:
    """The three stages again from every training seed after the first (none when
    `seeds` is 1): {seed: {stage: Run}}, one line per stage printed by the engine."""
    return {seed: train_seed(cfg, crops, chapter_dir, content, seed)
            for seed in seed_ids(cfg)[1:]}


# --------------------------------------------------------------------------- the ln 2 plateau


def lab_scale(history: Mapping) -> np.ndarray:
    """The engine's Loss_D (real BCE + fake BCE) on the lab's scale (their mean), per iteration."""
    return np.asarray(history["loss_d"], dtype=float) / 2


def last_epoch(history: Mapping, key: str) -> float:
    """The mean of `key` over the last epoch of a history."""
    epochs = np.asarray(history["epoch"])
    return float(np.asarray(history[key], dtype=float)[epochs == epochs[-1]].mean())


def stall_statistics(srgan_run: Run, frozen_run: Run, chapter_dir: RunDir | None = None) -> dict:
    """Loss_D / 2 and D's outputs of the frozen and the trained discriminator (recorded in the
    chapter's metrics.json when `chapter_dir` is given)."""
    frozen, trained = frozen_run.history, srgan_run.history
    half = lab_scale(frozen)
    stats = {
        "frozen_loss_d_half_min": float(half.min()), "frozen_loss_d_half_max": float(half.max()),
        "frozen_ln2_distance": float(np.abs(half - LN2).max()),
        "frozen_d_x": float(np.mean(frozen["d_x"])),
        "frozen_d_g_z": float(np.mean(frozen["d_g_z1"])),
        "trained_loss_d_half_last_epoch": last_epoch(trained, "loss_d") / 2,
        "trained_d_x_last_epoch": last_epoch(trained, "d_x"),
        "trained_d_g_z_last_epoch": last_epoch(trained, "d_g_z1"),
    }
    if chapter_dir is not None:
        chapter_dir.update_metrics(**stats)
    return stats


def stall_report(stats: Mapping[str, float]) -> list[str]:
    """The plateau in numbers: ln 2, the lab's d_loss, the frozen and the trained D."""
    return [
        f"ln 2 = {LN2:.4f}",
        f"lab report: d_loss from {min(LAB_D_LOSS):.4f} to {max(LAB_D_LOSS):.4f} over 10 epochs "
        f"(never below ln 2: {min(LAB_D_LOSS) >= LN2})",
        f"frozen D:   Loss_D/2 from {stats['frozen_loss_d_half_min']:.5f} to "
        f"{stats['frozen_loss_d_half_max']:.5f}; D(x) {stats['frozen_d_x']:.3f}, "
        f"D(G(z)) {stats['frozen_d_g_z']:.3f}",
        f"trained D:  Loss_D/2 {stats['trained_loss_d_half_last_epoch']:.4f} in its last epoch; "
        f"D(x) {stats['trained_d_x_last_epoch']:.3f}, "
        f"D(G(z)) {stats['trained_d_g_z_last_epoch']:.3f}",
    ]


# --------------------------------------------------------------------------- scores


@dataclass
class Scores:
    """The paper's table: mean PSNR / SSIM per set and method with their spreads (`rows`),
    every image's scores per training seed (`per_image`; seed None for bicubic, which no seed
    changes), and the first seed's outputs for the image shown in the figures (`shown`)."""

    rows: list[dict]
    per_image: list[dict]
    shown: dict[str, torch.Tensor]  # "LR", "HR" and each method's output
    shown_set: str
    shown_image: str
    shown_seed: int | None = None

    def row(self, set_name: str, method: str) -> dict:
        """The mean scores of one method on one set."""
        return next(r for r in self.rows if r["set"] == set_name and r["method"] == method)

    @property
    def sets(self) -> list[str]:
        """The evaluation sets, in order."""
        return list(dict.fromkeys(r["set"] for r in self.rows))

    @property
    def seeds(self) -> list[int]:
        """The training seeds scored, in order."""
        return list(dict.fromkeys(r["seed"] for r in self.per_image if r["seed"] is not None))


def methods(cfg: Config, runs: Mapping[int, Mapping[str, Run]]) -> dict[str, object]:
    """What is scored: MATLAB bicubic (None), PyTorch's bicubic ("torch", the start of a
    residual generator), and SRResNet and SRGAN of every training seed ({seed: generator});
    `runs` is {seed: {stage: Run}}."""
    found: dict[str, object] = {BICUBIC: None}
    if cfg.residual == "bicubic":
        found[TORCH_BICUBIC] = "torch"
    return {**found, SRRESNET: {seed: r["srresnet"].generator for seed, r in runs.items()},
            SRGAN: {seed: r["srgan"].generator for seed, r in runs.items()}}


def upscale(cfg: Config, method: nn.Module | str | None, lr: torch.Tensor) -> torch.Tensor:
    """One LR uint8 image (3×h×w) upscaled: MATLAB bicubic (uint8), or a float tensor in about
    [-1, 1] from PyTorch's bicubic or a network (tiled, BatchNorm in inference mode)."""
    if method is None:
        return imresize(lr, float(cfg.scale))  # MATLAB bicubic, the paper's baseline
    x = to_signed(lr)
    if method == "torch":
        return F.interpolate(x[None], scale_factor=cfg.scale, mode="bicubic",
                             align_corners=False)[0]
    return tiled_upscale(method, x, cfg.scale, tile=cfg.tile, overlap=cfg.overlap)


def score(cfg: Config, sr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
    """PSNR and SSIM of one output on Y, `scale` pixels shaved (floats clamped to [-1, 1])."""
    kind = {} if sr.dtype == torch.uint8 else {"input_range": "signed"}
    sr = sr if sr.dtype == torch.uint8 else sr.clamp(-1, 1)
    return {"psnr": float(psnr(sr, hr, scale=cfg.scale, **kind)),
            "ssim": float(ssim(sr, hr, scale=cfg.scale, **kind))}


def evaluate(cfg: Config, evaluation: Mapping[str, Mapping[str, torch.Tensor]],
             scored: Mapping[str, object], chapter_dir: RunDir | None = None) -> Scores:
    """Score every method (of every training seed: a {seed: model} value) on every whole
    evaluation image; with `chapter_dir`, write sr_table (means and spreads), sr_per_image and
    sr_differences (each seed's mean paired difference from bicubic), and the means to
    metrics.json. The image kept for the figures is the largest colour image of the first set
    (the largest image when all are grey), with the first seed's models."""
    shown_set = next(iter(evaluation))
    shown_image = max(evaluation[shown_set], key=lambda k: (_is_colour(evaluation[shown_set][k]),
                                                            evaluation[shown_set][k][0].numel()))
    first = min((s for m in scored.values() if isinstance(m, Mapping) for s in m), default=None)
    per_image, shown = [], {}
    for name, images in evaluation.items():
        for key, hr in images.items():
            lr = imresize(hr, 1 / cfg.scale)
            keep = (name, key) == (shown_set, shown_image)
            shown.update({"LR": lr, "HR": hr} if keep else {})
            for label, method in scored.items():
                by_seed = method if isinstance(method, Mapping) else {None: method}
                for seed, model in by_seed.items():
                    sr = upscale(cfg, model, lr)
                    shown.update({label: sr} if keep and seed in (None, first) else {})
                    per_image.append({"set": name, "image": key, "method": label, "seed": seed,
                                      **score(cfg, sr, hr)})
    scores = Scores(summary_rows(per_image), per_image, shown, shown_set, shown_image, first)
    if chapter_dir is not None:
        record_scores(cfg, scores, chapter_dir)
    return scores


def _is_colour(image: torch.Tensor) -> bool:
    """Whether a 3×H×W image's channels differ (a grey photograph has three equal ones)."""
    return not (torch.equal(image[0], image[1]) and torch.equal(image[1], image[2]))


def _interval(values: Sequence[float]) -> Interval:
    return mean_interval([float(v) for v in values])


def summary_rows(per_image: Sequence[Mapping]) -> list[dict]:
    """Per set and method: the mean PSNR and SSIM over images and seeds, the spread over the
    images (Student-t interval of the mean over images, of each image's mean over seeds; the
    worst and best image) and over the training seeds (Student-t interval of the seeds' means
    over the images; NaN with fewer than 2 seeds or for bicubic)."""
    rows = []
    for name in dict.fromkeys(r["set"] for r in per_image):
        for method in dict.fromkeys(r["method"] for r in per_image if r["set"] == name):
            mine = [r for r in per_image if r["set"] == name and r["method"] == method]
            images = list(dict.fromkeys(r["image"] for r in mine))
            seeds = list(dict.fromkeys(r["seed"] for r in mine if r["seed"] is not None))
            row = {"set": name, "images": len(images), "method": method, "seeds": len(seeds)}
            for metric in ("psnr", "ssim"):
                per_image_mean = [float(np.mean([r[metric] for r in mine if r["image"] == k]))
                                  for k in images]
                per_seed_mean = [float(np.mean([r[metric] for r in mine if r["seed"] == s]))
                                 for s in seeds]
                over_images, over_seeds = _interval(per_image_mean), _interval(per_seed_mean)
                row |= {metric: over_images.mean,
                        f"{metric}_images_low": over_images.low,
                        f"{metric}_images_high": over_images.high,
                        f"{metric}_min": min(per_image_mean), f"{metric}_max": max(per_image_mean),
                        f"{metric}_seeds_low": over_seeds.low,
                        f"{metric}_seeds_high": over_seeds.high}
            rows.append(row)
    return rows


def paired_differences(per_image: Sequence[Mapping], method: str, baseline: str,
                       metric: str = "psnr") -> dict[int, list[float]]:
    """{seed: [method − baseline per image]}, images of every set paired by (set, image) and,
    when the baseline is trained too, by seed."""
    base = {(r["set"], r["image"], r["seed"]): r[metric] for r in per_image
            if r["method"] == baseline}
    found: dict[int, list[float]] = {}
    for r in per_image:
        if r["method"] != method:
            continue
        key = (r["set"], r["image"], r["seed"] if (r["set"], r["image"], r["seed"]) in base
               else None)
        if key in base:
            found.setdefault(r["seed"], []).append(r[metric] - base[key])
    return found


def difference_rows(per_image: Sequence[Mapping], baseline: str = BICUBIC) -> list[dict]:
    """Each trained method against `baseline`, paired per image: per training seed, the mean
    difference in PSNR and SSIM over the images with its Student-t interval over the images;
    then, over the seeds, the mean of those means with its Student-t interval over the seeds."""
    rows = []
    for method in TRAINED:
        by_metric = {m: paired_differences(per_image, method, baseline, m)
                     for m in ("psnr", "ssim")}
        for seed, values in by_metric["psnr"].items():
            over = _interval(values)
            rows.append({"method": method, "seed": seed, "images": len(values),
                         "psnr_difference": over.mean, "psnr_low": over.low,
                         "psnr_high": over.high, "interval over": "images",
                         "ssim_difference": float(np.mean(by_metric["ssim"][seed]))})
        means = {m: [float(np.mean(v)) for v in d.values()] for m, d in by_metric.items()}
        if len(means["psnr"]) > 1:
            over = _interval(means["psnr"])
            rows.append({"method": method, "seed": "all", "images": rows[-1]["images"],
                         "psnr_difference": over.mean, "psnr_low": over.low,
                         "psnr_high": over.high, "interval over": "seeds",
                         "ssim_difference": float(np.mean(means["ssim"]))})
    return rows


def record_scores(cfg: Config, scores: Scores, chapter_dir: RunDir) -> None:
    """sr_table.json/.csv, sr_per_image.json/.csv, sr_differences.json/.csv and each set's
    means in metrics.json."""
    about = {"profile": cfg.profile, "scale": cfg.scale, "y_channel": True, "shave": cfg.scale,
             "content_loss": cfg.content, "seed_ids": scores.seeds,
             "interval": "95 % Student-t"}
    chapter_dir.write_table("sr_table", scores.rows, **about)
    chapter_dir.write_table("sr_per_image", scores.per_image, **about)
    chapter_dir.write_table("sr_differences", difference_rows(scores.per_image), **about,
                            baseline=BICUBIC)
    chapter_dir.update_metrics(**{f"{r['set']}_{metric}_{METHOD_KEYS[r['method']]}": r[metric]
                                  for r in scores.rows for metric in ("psnr", "ssim")})


def _span(low: float, high: float, digits: int) -> str:
    return "–" if low is None or math.isnan(low) else f"[{low:.{digits}f}, {high:.{digits}f}]"


def scores_table(scores: Scores, cfg: Config):
    """The paper's table of this run: PSNR (dB) and SSIM per set and method, with the spread
    over the images (95 % Student-t interval of the mean, worst and best image) and over the
    training seeds (95 % Student-t interval of the seeds' means)."""
    return table([{"set": r["set"], "method": r["method"], "images": r["images"],
                   "seeds": r["seeds"] or "–", "PSNR (dB)": round(r["psnr"], 2),
                   "over images": _span(r["psnr_images_low"], r["psnr_images_high"], 2),
                   "worst / best image": f"{r['psnr_min']:.2f} / {r['psnr_max']:.2f}",
                   "over seeds": _span(r["psnr_seeds_low"], r["psnr_seeds_high"], 2),
                   "SSIM": round(r["ssim"], 4),
                   "SSIM over images": _span(r["ssim_images_low"], r["ssim_images_high"], 4),
                   "SSIM over seeds": _span(r["ssim_seeds_low"], r["ssim_seeds_high"], 4)}
                  for r in scores.rows],
                 caption=f"x{cfg.scale}, PSNR (dB) / SSIM on Y, {cfg.scale}-pixel border shaved; "
                         "intervals: 95 % Student-t of the mean, over the images and over the "
                         "training seeds")


def differences_table(scores: Scores):
    """Each trained method minus bicubic, paired per image: per seed (interval over the
    images) and over the seeds (interval over the seeds' means)."""
    return table([{"method": r["method"], "seed": r["seed"], "images": r["images"],
                   "PSNR − bicubic (dB)": round(r["psnr_difference"], 3),
                   "95 % t-interval": _span(r["psnr_low"], r["psnr_high"], 3),
                   "interval over": r["interval over"],
                   "SSIM − bicubic": round(r["ssim_difference"], 4)}
                  for r in difference_rows(scores.per_image)],
                 caption="Paired differences from bicubic: per training seed, and over the seeds")


def comparisons(scores: Scores, cfg: Config) -> list[str]:
    """Per set, in words chosen by the numbers: SRResNet against bicubic and SRGAN against
    SRResNet, and (residual generator) how much of the gain is PyTorch's sharper kernel."""
    lines = []
    for name in scores.sets:
        bicubic, mse, gan = (scores.row(name, m) for m in (BICUBIC, SRRESNET, SRGAN))
        gain, cost = mse["psnr"] - bicubic["psnr"], gan["psnr"] - mse["psnr"]
        lines.append(f"{name}: SRResNet is {gain:+.2f} dB {_side(gain)} bicubic (SSIM "
                     f"{mse['ssim'] - bicubic['ssim']:+.4f}); SRGAN is {cost:+.2f} dB "
                     f"{_side(cost)} SRResNet")
        if cfg.residual == "bicubic":
            start = scores.row(name, TORCH_BICUBIC)
            kernel, trained = start["psnr"] - bicubic["psnr"], mse["psnr"] - start["psnr"]
            lines.append(f"   of the difference from bicubic, {kernel:+.2f} dB is the sharper "
                         "PyTorch kernel the residual generator starts from; training added "
                         f"{trained:+.2f} dB")
    return lines


def _side(difference: float) -> str:
    return "above" if difference > 0 else "below" if difference < 0 else "level with"


def tiling_check(cfg: Config, evaluation: Mapping[str, Mapping[str, torch.Tensor]],
                 model: nn.Module, chapter_dir: RunDir | None = None) -> dict:
    """Whole-image against tiled inference on the smallest image of the first set, in tiles of
    at most 32 LR pixels: the largest difference ([-1, 1] scale) and both PSNRs."""
    tile = min(cfg.tile, 32)
    images = next(iter(evaluation.values()))
    key = min(images, key=lambda k: images[k][0].numel())
    hr = images[key]
    x = to_signed(imresize(hr, 1 / cfg.scale))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        whole = model(x[None].to(next(model.parameters()).device)).float().cpu()[0]
    model.train(was_training)
    tiled = tiled_upscale(model, x, cfg.scale, tile=tile, overlap=cfg.overlap)
    check = {"image": key, "tile": tile, "overlap": cfg.overlap,
             "tiles": math.ceil(x.shape[1] / tile) * math.ceil(x.shape[2] / tile),
             "max_difference": float((tiled - whole).abs().max()),
             "psnr_tiled": score(cfg, tiled, hr)["psnr"],
             "psnr_whole": score(cfg, whole, hr)["psnr"]}
    if chapter_dir is not None:
        chapter_dir.update_metrics(tiling_max_difference=check["max_difference"])
    return check


def tiling_report(check: Mapping) -> str:
    """The tiling check in one line."""
    return (f"{check['image']}: {check['tiles']} tiles of {check['tile']} LR px with "
            f"{check['overlap']} px of context; largest difference from whole-image inference "
            f"{check['max_difference']:.1e} (on a [-1, 1] scale); PSNR "
            f"{check['psnr_tiled']:.4f} dB tiled, {check['psnr_whole']:.4f} dB whole")


# --------------------------------------------------------------------------- figures


def stall_figure(srgan_run: Run, frozen_run: Run, chapter_dir: RunDir) -> Figure:
    """ln2.png: the lab's reported d_loss, both runs' Loss_D / 2, and D(x), D(G(z))."""
    return plot_discriminator_stall(
        {"D trained (this chapter)": srgan_run.history,
         "D frozen (the lab loop)": frozen_run.history},
        reference={"lab report, per epoch": LAB_D_LOSS}, path=chapter_dir.figure("ln2"))


def comparison_figure(cfg: Config, scores: Scores, chapter_dir: RunDir) -> Figure:
    """comparison.png: a central crop of the shown image, LR, bicubic, SRResNet, SRGAN and HR,
    each with its PSNR and the boxed region enlarged below it."""
    height, width = scores.shown["HR"].shape[1:]
    side = min(height, width, 192 if cfg.profile != "smoke" else 64) // cfg.scale * cfg.scale
    top, left = ((n - side) // 2 // cfg.scale * cfg.scale for n in (height, width))
    small = (slice(top // cfg.scale, (top + side) // cfg.scale),
             slice(left // cfg.scale, (left + side) // cfg.scale))
    panels = {name: scores.shown[name][:, small[0], small[1]] if name == "LR"
              else scores.shown[name][:, top:top + side, left:left + side]
              for name in ("LR", BICUBIC, SRRESNET, SRGAN, "HR")}
    labels = {r["method"]: f"{r['psnr']:.2f} dB" for r in scores.per_image
              if (r["set"], r["image"]) == (scores.shown_set, scores.shown_image)
              and r["seed"] in (None, scores.shown_seed)}
    zoom = max(16, side // 4)
    return plot_sr_comparison(panels, box=(side // 2 - zoom // 2, side // 2 - zoom // 2, zoom),
                              scores=labels, path=chapter_dir.figure("comparison"),
                              title=f"{scores.shown_set}: {scores.shown_image} (x{cfg.scale})")


def spread_figure(scores: Scores, chapter_dir: RunDir | None = None) -> Figure:
    """spread.png: every evaluation image's PSNR difference from bicubic, SRResNet and SRGAN,
    one dot per training seed (the images sorted by bicubic's PSNR)."""
    return plot_per_image_differences(scores.per_image,
                                      path=chapter_dir.figure("spread") if chapter_dir else None)


def plot_per_image_differences(per_image: Sequence[Mapping], *, baseline: str = BICUBIC,
                               path: str | Path | None = None) -> Figure:
    """A strip plot: per image (x, sorted by the baseline's PSNR), each trained method's PSNR
    minus the baseline's, one dot per training seed, with each method's mean over everything."""
    base = {(r["set"], r["image"]): r["psnr"] for r in per_image if r["method"] == baseline}
    if not base:
        raise ValueError(f"no {baseline!r} scores to compare with")
    order = sorted(base, key=base.get)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(order) + 2), 4.2))
    for i, method in enumerate(TRAINED):
        mine = [r for r in per_image if r["method"] == method and (r["set"], r["image"]) in base]
        if not mine:
            continue
        x = [order.index((r["set"], r["image"])) + (i - 0.5) * 0.25 for r in mine]
        y = [r["psnr"] - base[(r["set"], r["image"])] for r in mine]
        ax.scatter(x, y, s=18, color=f"C{i}", alpha=0.8, label=f"{method} (one dot per seed)")
        ax.axhline(float(np.mean(y)), color=f"C{i}", linewidth=1, linestyle="--",
                   label=f"{method}: mean")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(order)), [image for _, image in order], rotation=45, ha="right")
    ax.set_ylabel(f"PSNR − {baseline} (dB)")
    ax.set_title("Every evaluation image (sorted by bicubic's PSNR, lowest first)")
    ax.legend(fontsize="small")
    return viz.finish(fig, path)


def losses_figure(srresnet: Run, srgan_run: Run, chapter_dir: RunDir) -> Figure:
    """losses.png: content loss of both stages one after the other, and SRGAN's Loss_D."""
    return plot_sr_losses({SRRESNET: srresnet.history, SRGAN: srgan_run.history},
                          path=chapter_dir.figure("losses"))


def before_after_view(scores: Scores):
    """A slider wiping between bicubic and SRGAN over the whole shown image (a static figure
    of the middle position when headless)."""
    from ..widgets import before_after

    return before_after(scores.shown[BICUBIC], scores.shown[SRGAN].clamp(-1, 1),
                        labels=(BICUBIC, SRGAN),
                        title=f"{scores.shown_image}: bicubic (right) and SRGAN (left)")


def figures(cfg: Config, scores: Scores, runs: Mapping[str, Run],
            chapter_dir: RunDir) -> dict[str, Figure]:
    """The chapter's figures (the first seed's runs), each written to the chapter folder."""
    return {"ln2": stall_figure(runs["srgan"], runs["frozen-d"], chapter_dir),
            "comparison": comparison_figure(cfg, scores, chapter_dir),
            "spread": spread_figure(scores, chapter_dir),
            "losses": losses_figure(runs["srresnet"], runs["srgan"], chapter_dir)}


def _imshow(ax: Axes, pixels: np.ndarray, title: str | None) -> None:
    """An H×W×C uint8 image without axes."""
    ax.imshow(pixels, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def plot_sr_comparison(panels: Mapping[str, torch.Tensor | np.ndarray], *,
                       box: tuple[int, int, int], scores: Mapping[str, str] | None = None,
                       title: str | None = None, zoom_inches: float = 3.2,
                       path: str | Path | None = None) -> Figure:
    """Versions of one image side by side (e.g. LR, bicubic, SRResNet, SRGAN, HR), each with
    the region `box` = (top, left, size) in HR pixels marked and shown enlarged below it.

    Images are C×H×W tensors in [-1, 1] (or uint8) or H×W×C uint8 arrays; one smaller than the
    largest (the LR input) is enlarged by pixel repetition so that every panel shows the same
    region. `scores` adds a line under a panel's name (e.g. "28.1 dB / 0.81").
    """
    if not panels:
        raise ValueError("no images to compare")
    pixels = {name: hwc_uint8(image) for name, image in panels.items()}
    height = max(p.shape[0] for p in pixels.values())
    top, left, size = box
    fig, axes = plt.subplots(2, len(pixels), squeeze=False,
                             figsize=(zoom_inches * len(pixels), 2 * zoom_inches + 0.6))
    for column, (name, image) in enumerate(pixels.items()):
        factor = height // image.shape[0]
        if factor > 1:  # the LR input: nearest-neighbour enlargement to the HR grid
            image = image.repeat(factor, axis=0).repeat(factor, axis=1)
        whole, zoom = axes[0][column], axes[1][column]
        _imshow(whole, image, name + (f"\n{scores[name]}" if scores and name in scores else ""))
        whole.add_patch(plt.Rectangle((left - 0.5, top - 0.5), size, size, fill=False,
                                      edgecolor="red", linewidth=1.5))
        _imshow(zoom, image[top:top + size, left:left + size], None)
    if title:
        fig.suptitle(title)
    return viz.finish(fig, path)


def plot_sr_losses(stages: Mapping[str, Mapping], *, smooth: int | None = 20,
                   path: str | Path | None = None) -> Figure:
    """Training curves of the super-resolution stages, one after the other on one step axis:
    the content loss of every stage (left) and the discriminator loss where a stage has one.

    `stages` maps a stage name (e.g. "SRResNet (MSE)", "SRGAN") to its engine history (with
    "loss_content"); a stage whose Loss_D is all zero (no discriminator) has no right curve.
    """
    if not stages:
        raise ValueError("no stages to plot")
    fig, (content, adversarial) = plt.subplots(1, 2, figsize=(12, 4.2))
    offset, drawn = 0, False
    for name, history in stages.items():
        steps = viz.iterations(history) + offset
        viz.plot_raw_and_smoothed(content, steps, history["loss_content"], name, smooth)
        if any(history["loss_d"]):
            viz.plot_raw_and_smoothed(adversarial, steps, history["loss_d"], f"Loss_D: {name}",
                                      smooth)
            drawn = True
        offset = steps[-1]
        content.axvline(offset + 0.5, color="gray", linewidth=0.8, alpha=0.5, label="_stage")
    content.set_yscale("log")
    content.set_title("Content loss")
    content.set_xlabel("iterations (stages one after the other)")
    viz.smoothing_legend(content, smooth, len(steps))
    adversarial.set_title("Discriminator loss (BCE on real + BCE on fake)")
    adversarial.set_xlabel("iterations (stages one after the other)")
    if drawn:
        adversarial.axhline(np.log(4), color="black", linestyle="--", linewidth=1,
                            label="ln 4: D outputs 1/2")
        viz.smoothing_legend(adversarial, smooth, len(steps))
    return viz.finish(fig, path)


def plot_discriminator_stall(runs: Mapping[str, Mapping], *,
                             reference: Mapping[str, list[float]] | None = None,
                             path: str | Path | None = None) -> Figure:
    """Why a discriminator loss can sit at ln 2: the loss and D's outputs of several runs.

    Left: each reference series (e.g. a report's per-epoch d_loss, the mean of the real and
    fake BCE) against its epoch, with ln 2. Middle: the same quantity for each run of the
    engine (Loss_D / 2) per iteration. Right: each run's D(x) and D(G(z)), with 1/2.
    """
    if not runs:
        raise ValueError("no runs to plot")
    panels = 3 if reference else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.2), squeeze=False)
    axes = list(axes[0])
    if reference:
        _plot_reference(axes.pop(0), reference)
    loss, probability = axes
    for label, history in runs.items():
        steps = viz.iterations(history)
        (line,) = loss.plot(steps, lab_scale(history), linewidth=1, label=label)
        color = line.get_color()
        probability.plot(steps, history["d_x"], color=color, linewidth=1, label=f"D(x): {label}")
        probability.plot(steps, history["d_g_z1"], color=color, linewidth=1, linestyle=":",
                         label=f"D(G(z)): {label}")
    loss.axhline(LN2, color="black", linestyle="--", linewidth=1, label="ln 2")
    loss.set(xlabel="iterations", ylabel="Loss_D / 2 (mean of real and fake BCE)",
             title="This chapter's runs")
    loss.legend(fontsize="small")
    probability.axhline(0.5, color="black", linestyle="--", linewidth=1, label="_chance")
    probability.set(ylim=(0, 1), xlabel="iterations", ylabel="probability of 'real'",
                    title="D(x) (solid) and D(G(z)) (dotted)")
    probability.legend(fontsize="small")
    return viz.finish(fig, path)


def _plot_reference(ax: Axes, reference: Mapping[str, list[float]]) -> None:
    """Reported per-epoch losses against ln 2."""
    for label, values in reference.items():
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=label)
    ax.axhline(LN2, color="black", linestyle="--", linewidth=1, label="ln 2")
    ax.set(xlabel="epoch", ylabel="mean of real and fake BCE", title="As reported")
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.legend(fontsize="small")


# --------------------------------------------------------------------------- claims


def claims(cfg: Config, per_image: Sequence[Mapping], srgan_histories: Mapping[int, Mapping],
           frozen_histories: Mapping[int, Mapping]) -> list[Claim]:
    """Seed 003's readings of its SRGAN run and the SRGAN paper's ordering, checked on this
    chapter's runs: every measurement once per training seed (the histories are
    {seed: engine history}; `per_image` holds each seed's scores), its interval Student-t over
    the seeds. The spread over the evaluation images is the scores table's, not the claims'."""
    if not srgan_histories or set(srgan_histories) != set(frozen_histories):
        raise ValueError(f"claims need the same training seeds for both runs, got "
                         f"{sorted(srgan_histories)} and {sorted(frozen_histories)}")
    common = {"seed_report": SEED_REPORT, "profile": cfg.profile}
    return [
        _plateau_claim(frozen_histories, common),
        _head_start_claim(srgan_histories, cfg.content, common),
        _psnr_claim(per_image, SRGAN, BICUBIC, "above", "clearer_than_input",
                    "the generated image is clearer than the low-resolution input", common),
        _psnr_claim(per_image, SRRESNET, BICUBIC, "above", "srresnet_above_bicubic",
                    "(the SRGAN paper, which the lab follows) SRResNet is above bicubic "
                    "interpolation in PSNR", common),
        _psnr_claim(per_image, SRGAN, SRRESNET, "below", "srgan_below_srresnet",
                    "(the SRGAN paper) SRGAN is below SRResNet in PSNR: the adversarial loss "
                    "trades pixel accuracy for texture", common),
    ]


def _seeds_text(values: Mapping[int, float], digits: int = 4) -> str:
    return ", ".join(f"seed {s}: {v:.{digits}g}" for s, v in values.items())


def _plateau_claim(frozen_histories: Mapping[int, Mapping], common: dict) -> Claim:
    """The report's plateau at ln 2, against the lab's loop (a frozen discriminator)."""
    distance = {s: float(np.abs(lab_scale(h) - LN2).max()) for s, h in frozen_histories.items()}
    interval = mean_interval(list(distance.values()))
    worst = max(distance.values())
    return lkclaims.against_threshold(
        interval, LN2_BAND, claimed="below", id="d_loss_ln2", seed_ids=list(distance),
        claim="the discriminator loss stays almost constant at about 0.693, ln 2, from the "
              "first epoch to the last",
        measurement="largest |Loss_D/2 - ln 2| over the iterations of the lab's loop (a "
                    "discriminator compiled frozen, reproduced with FrozenDiscriminator), "
                    f"mean over {len(distance)} training seed(s)",
        rule=f"supported if the 95 % Student-t interval over the seeds lies below {LN2_BAND:g} "
             "(the report's ten epochs lie within 0.00025 of ln 2)",
        why=(f"a discriminator that never learns stayed within {worst:.2g} of ln 2 at every "
             f"iteration ({_seeds_text(distance, 2)})" if interval.below(LN2_BAND)
             or (math.isnan(interval.low) and worst < LN2_BAND) else
             f"a discriminator that never learns moved up to {worst:.2g} away from ln 2 "
             f"({_seeds_text(distance, 2)})"),
        **common)


def _head_start_claim(srgan_histories: Mapping[int, Mapping], content: str,
                      common: dict) -> Claim:
    """The report's explanation (the generator's head start keeps D at 1/2), against a
    discriminator that learns."""
    loss = {s: last_epoch(h, "loss_d") / 2 for s, h in srgan_histories.items()}
    interval = mean_interval(list(loss.values()))
    left = interval.below(LN2 - LEFT_LN2) or (math.isnan(interval.low)
                                              and interval.mean < LN2 - LEFT_LN2)
    stayed = interval.above(LN2 - LEFT_LN2) or (math.isnan(interval.low)
                                                and interval.mean >= LN2 - LEFT_LN2)
    return lkclaims.against_threshold(
        interval, LN2 - LEFT_LN2, claimed="above", id="d_cannot_tell", seed_ids=list(loss),
        claim="the plateau comes from the generator's head start (the pre-trained VGG19), "
              "which leaves the discriminator unable to tell real from generated",
        measurement=f"Loss_D/2 of a discriminator that learns, from the same pre-trained "
                    f"generator (content loss {content}), mean over its last epoch; mean over "
                    f"{len(loss)} training seed(s)",
        rule=f"supported if the 95 % Student-t interval over the seeds stays above ln 2 - "
             f"{LEFT_LN2:g}; refuted if it lies below, i.e. a discriminator that learns tells "
             "the generator's images apart",
        why=(f"a discriminator that learns fell to {interval.mean:.4f} ({_seeds_text(loss)}), "
             f"{LN2 - interval.mean:.3f} below ln 2: it tells the pre-trained generator's images "
             "apart, so the plateau needs a discriminator that does not learn" if left else
             f"a discriminator that learns stayed at {interval.mean:.4f} ({_seeds_text(loss)}), "
             f"no more than {LEFT_LN2:g} below ln 2: against this generator it could not tell "
             "real from generated either" if stayed else
             f"{interval} straddles ln 2 - {LEFT_LN2:g} ({_seeds_text(loss)})"),
        **common)


def _psnr_claim(per_image: Sequence[Mapping], method: str, baseline: str, claimed: str,
                claim_id: str, claim: str, common: dict) -> Claim:
    """`method` − `baseline` in PSNR, paired per image, averaged over the images per training
    seed, against 0: the interval is Student-t over the seeds' means."""
    differences = paired_differences(per_image, method, baseline)
    if not differences:
        raise ValueError(f"no images scored by both {method!r} and {baseline!r}")
    means = {seed: float(np.mean(v)) for seed, v in differences.items()}
    images = len(next(iter(differences.values())))
    interval = mean_interval(list(means.values()))
    if math.isnan(interval.low):
        where = f"{interval.mean:.3g} dB (one seed, no interval) lies " + (
            "above" if interval.mean > 0 else "below") + " 0"
    else:
        where = f"{interval} dB " + ("lies above 0" if interval.above(0) else
                                     "lies below 0" if interval.below(0) else "straddles 0")
    return lkclaims.against_threshold(
        interval, 0.0, claimed=claimed, unit=" dB", id=claim_id, claim=claim,
        seed_ids=list(means), why=f"{where} (per seed: {_seeds_text(means, 3)} dB)",
        measurement=f"PSNR of {method} minus {baseline} (dB, Y channel, border shaved), paired "
                    f"per image, mean over {images} whole evaluation images; then mean over "
                    f"{len(means)} training seed(s)",
        rule=f"supported if the 95 % Student-t interval over the training seeds lies {claimed} "
             "0 (the spread over the images is in the scores table)", **common)


def check_claims(cfg: Config, scores: Scores, runs: Mapping[int, Mapping[str, Run]],
                 chapter_dir: RunDir) -> list[Claim]:
    """The claims of this chapter run ({seed: {stage: Run}}), written to the chapter folder's
    claims.json."""
    found = claims(cfg, scores.per_image, {s: r["srgan"].history for s, r in runs.items()},
                   {s: r["frozen-d"].history for s, r in runs.items()})
    return lkclaims.record(chapter_dir, found, chapter=NAME)


def summary(scores: Scores, cfg: Config):
    """The chapter's table for the results page: every set and method, means with their
    spreads over the images and over the training seeds."""
    return table([{"profile": cfg.profile, "set": r["set"], "images": r["images"],
                   "method": r["method"], "seeds": r["seeds"] or "–",
                   "PSNR (dB)": round(r["psnr"], 2),
                   "over images": _span(r["psnr_images_low"], r["psnr_images_high"], 2),
                   "worst / best image": f"{r['psnr_min']:.2f} / {r['psnr_max']:.2f}",
                   "over seeds": _span(r["psnr_seeds_low"], r["psnr_seeds_high"], 2),
                   "SSIM": round(r["ssim"], 4)} for r in scores.rows],
                 caption=f"Chapter 5: x{cfg.scale} super-resolution, Y channel, "
                         f"{cfg.scale}-pixel border shaved; 95 % Student-t intervals of the "
                         "mean over the images and over the training seeds")


# --------------------------------------------------------------------------- headless


@dataclass
class Result:
    """What `run` produced: the chapter folder's three training runs, scores, figures, claims."""

    dir: RunDir
    runs: dict[str, Run] = field(default_factory=dict)  # the first seed's
    seeds: dict[int, dict[str, Run]] = field(default_factory=dict)  # every seed's
    scores: Scores | None = None
    figures: dict[str, Figure] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)


def run(cfg: Config) -> Result:
    """The whole chapter, headless: data, the three stages, scores, figures, claims."""
    check_ready(cfg)
    set_threads(cfg)
    cfg, crops, evaluation = load_data(cfg)
    chapter_dir = chapter_folder(cfg)
    content = content_loss(cfg)
    first = train_seed(cfg, crops, chapter_dir, content, cfg.seed)
    runs = {cfg.seed: first, **train_more_seeds(cfg, crops, chapter_dir, content)}
    result = Result(chapter_dir, first, runs)
    if main_process():
        stall_statistics(first["srgan"], first["frozen-d"], chapter_dir)
        result.scores = evaluate(cfg, evaluation, methods(cfg, runs), chapter_dir)
        tiling_check(cfg, evaluation, first["srresnet"].generator, chapter_dir)
        result.figures = figures(cfg, result.scores, first, chapter_dir)
        result.claims = check_claims(cfg, result.scores, runs, chapter_dir)
    return result
