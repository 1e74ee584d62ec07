"""Per-chapter defaults for the smoke / cpu / full profiles, and their resolution.

Every notebook's parameters cell sets `profile = "auto"` and each knob to None; the next cell calls
`resolve(chapter, profile, **knobs)`. An explicit (non-None) knob wins over the profile default.
`auto` means $LABKIT_PROFILE if set, else `full` when CUDA is available, else `cpu`.
"""

from __future__ import annotations

import copy
import os

import torch

PROFILES = ("smoke", "cpu", "full")

# Knobs shared by every chapter (the same in all profiles unless a chapter overrides them).
COMMON = {"seed": 0, "out_dir": None, "resume": False, "device": "auto", "data_root": None}

# Chapter 1's ring of 8 Gaussians: the settings compared (cpu runs the first three).
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

# The seed's ablation grid (chapter 6): its learning-rate pairs, label smoothing and the two
# models, and its Table 3 (`labkit sweep` runs one notebook per point); full and cpu share it.
ABLATION_GRID = {
    "parameters": {"model": "dcgan", "lr_d": 2e-4, "lr_g": 2e-4,
                   "real_label": 1.0, "fake_label": 0.0},
    "grids": {
        "learning_rate": {"lr": [
            {"lr_d": 2e-4, "lr_g": 2e-4}, {"lr_d": 6.4e-3, "lr_g": 3.2e-3},
            {"lr_d": 6.4e-3, "lr_g": 1.28e-3},
            {"lr_d": 6.4e-3, "lr_g": 6.4e-4}]},
        "label_smoothing": {"lr_d": [6.4e-3], "lr_g": [1.28e-3], "labels": [
            {"real_label": 1.0, "fake_label": 0.0},
            {"real_label": 0.9, "fake_label": 0.1},
            {"real_label": 0.99, "fake_label": 0.01}]},
        "model": {"lr_d": [6.4e-3], "lr_g": [1.28e-3], "real_label": [0.9],
                  "fake_label": [0.1], "model": ["dcgan", "resdcgan"]},
        "table_3": {"experiment": [
            {},
            {"lr_d": 6.4e-3, "lr_g": 1.28e-3},
            {"lr_d": 6.4e-3, "lr_g": 1.28e-3, "real_label": 0.9,
             "fake_label": 0.1},
            {"model": "resdcgan", "lr_d": 6.4e-3, "lr_g": 1.28e-3,
             "real_label": 0.9, "fake_label": 0.1}]},
    }}

# Chapter 3 offline: the three offline sets standing for the seed's three (grey sets in one
# channel, as the seed trained EMNIST); cpu and smoke differ only in budget.
OFFLINE_CROSS_SETS = [
    {"name": "digits", "train": "train", "test": "test", "channels": 1, "classes": None,
     "seed_row": "EMNIST"},
    {"name": "faces", "train": "train", "test": "test", "channels": 1, "classes": None,
     "seed_row": "CelebA"},
    {"name": "photos", "train": "train", "test": "test", "channels": 3, "classes": None,
     "seed_row": "CIFAR-10 airplanes"},
]

CHAPTERS: dict[str, dict[str, dict]] = {
    # Chapter 1: toy GANs (small MLPs on 1-D and 2-D points). CPU-sized on every profile: these
    # networks are too small to gain from a GPU, and on the CPU a run gives the same numbers
    # everywhere. One epoch = data_repeats passes over `points` points in batches of batch_size;
    # a ring setting is {"label", "loss", "lr_d", "lr_g", "d_steps"}.
    "theory": {
        "full": {"device": "cpu", "points": 2048, "batch_size": 256, "nz": 2, "hidden": 128,
                 "layers": 3, "loss": "non_saturating", "lr_d": 1e-3, "lr_g": 1e-3,
                 "dstar_steps": 3000, "mixture_epochs": 20, "mixture_lr_d": 5e-4,
                 "mixture_lr_g": 1e-4, "ring_std": 0.02, "ring_epochs": 40, "data_repeats": 25,
                 "eval_samples": 2500, "explorer_epochs": 20,
                 "ring_settings": RING_SETTINGS},
        "cpu": {"device": "cpu", "points": 2048, "batch_size": 256, "nz": 2, "hidden": 128,
                "layers": 3, "loss": "non_saturating", "lr_d": 1e-3, "lr_g": 1e-3,
                "dstar_steps": 1500, "mixture_epochs": 12, "mixture_lr_d": 5e-4,
                "mixture_lr_g": 1e-4, "ring_std": 0.02, "ring_epochs": 20, "data_repeats": 25,
                "eval_samples": 2500, "explorer_epochs": 10,
                "ring_settings": RING_SETTINGS[:3]},
        "smoke": {"device": "cpu", "points": 1024, "batch_size": 128, "nz": 2, "hidden": 64,
                  "layers": 2, "loss": "non_saturating", "lr_d": 1e-3, "lr_g": 1e-3,
                  "dstar_steps": 300, "mixture_epochs": 3, "mixture_lr_d": 5e-4,
                  "mixture_lr_g": 1e-4, "ring_std": 0.02, "ring_epochs": 8, "data_repeats": 20,
                  "eval_samples": 1000, "explorer_epochs": 2,
                  "ring_settings": [
                      {"label": "non-saturating", "loss": "non_saturating", "lr_d": 1e-3,
                       "lr_g": 1e-3, "d_steps": 1},
                      {"label": "slow G (lr_g 5e-5)", "loss": "non_saturating", "lr_d": 1e-3,
                       "lr_g": 5e-5, "d_steps": 1},
                  ]},
    },
    # Chapter 2: the seed reports' DCGAN (PyTorch tutorial layout, Adam 2e-4, beta1 0.5, batch 128).
    "dcgan": {
        "full": {"dataset": "celeba", "split": "train", "image_size": 64, "channels": 3,
                 "subset": None, "epochs": 5, "batch_size": 128, "nz": 100, "ngf": 64, "ndf": 64,
                 "lr_d": 2e-4, "lr_g": 2e-4, "beta1": 0.5, "real_label": 1.0,
                 "fake_label": 0.0, "flip": False, "data_repeats": 1, "log_every": 200,
                 "metric": "fid", "eval_every": 1, "eval_samples": 10_000},
        "cpu": {"dataset": "faces", "split": "all", "image_size": 32, "channels": 1, "subset": None,
                "epochs": 20, "batch_size": 32, "nz": 100, "ngf": 64, "ndf": 64,
                "lr_d": 2e-4, "lr_g": 2e-4, "beta1": 0.5, "real_label": 1.0,
                "fake_label": 0.0, "flip": True, "data_repeats": 24, "log_every": 36,
                "metric": "swd", "eval_every": 2, "eval_samples": 100},
        "smoke": {"dataset": "faces", "split": "all", "image_size": 32, "channels": 1,
                  "subset": None, "epochs": 2, "batch_size": 16, "nz": 32, "ngf": 16, "ndf": 16,
                  "lr_d": 2e-4, "lr_g": 2e-4, "beta1": 0.5, "real_label": 1.0,
                  "fake_label": 0.0, "flip": True, "data_repeats": 2, "log_every": 5,
                  "metric": "swd", "eval_every": 1, "eval_samples": 64},
    },
    # Chapter 3: one DCGAN (the seed report's 32x32 layout) on three datasets with the same
    # hyper-parameters and budget (epochs x steps_per_epoch iterations of batch_size images).
    # A dataset entry: name, train and test split, channels, classes (None: all) and seed_row,
    # the seed report's dataset it stands for. cpu halves the seed's width 128 (measured on 2
    # cores: width 128 leaves about 120 iterations per dataset in the notebook's 5 minutes).
    "cross_dataset": {
        "full": {"datasets": [
                     {"name": "emnist", "train": "balanced", "test": "balanced-test",
                      "channels": 1, "classes": None, "seed_row": "EMNIST"},
                     {"name": "celeba", "train": "train", "test": "test", "channels": 3,
                      "classes": None, "seed_row": "CelebA"},
                     {"name": "cifar10", "train": "train", "test": "test", "channels": 3,
                      "classes": ["airplane"], "seed_row": "CIFAR-10 airplanes"}],
                 "image_size": 32, "nz": 100, "ngf": 128, "ndf": 128, "epochs": 10,
                 "steps_per_epoch": 880, "batch_size": 128, "lr_d": 2e-4, "lr_g": 2e-4,
                 "beta1": 0.5, "real_label": 1.0, "fake_label": 0.0, "log_every": 220,
                 "eval_samples": 10_000, "memo_samples": 1000, "swd_draws": 3, "quality": "fid"},
        "cpu": {"datasets": OFFLINE_CROSS_SETS,
                "image_size": 32, "nz": 100, "ngf": 64, "ndf": 64, "epochs": 4,
                "steps_per_epoch": 100, "batch_size": 64, "lr_d": 2e-4, "lr_g": 2e-4,
                "beta1": 0.5, "real_label": 1.0, "fake_label": 0.0, "log_every": 50,
                "eval_samples": 500, "memo_samples": 500, "swd_draws": 6, "quality": "swd"},
        "smoke": {"datasets": OFFLINE_CROSS_SETS,
                  "image_size": 32, "nz": 100, "ngf": 16, "ndf": 16, "epochs": 2,
                  "steps_per_epoch": 4, "batch_size": 16, "lr_d": 2e-4, "lr_g": 2e-4,
                  "beta1": 0.5, "real_label": 1.0, "fake_label": 0.0, "log_every": 2,
                  "eval_samples": 64, "memo_samples": 64, "swd_draws": 2, "quality": "swd"},
    },
    # Chapter 4: the CGAN lab report's conditional GAN. `full` is the report's run on
    # EMNIST-balanced (47 classes): the first 100 batches of 128 (`take(100)`), 100 epochs, Keras
    # Adam (beta1 0.9), D lr 3e-4, G lr 2e-4. cpu/smoke train on the offline digits at 28x28
    # with Adam beta1 0.5, lr 2e-4 for both and batch 64 (measured: the report's optimiser stays
    # at chance class accuracy for hundreds of steps); seed_settings=True restores the report's.
    "cgan": {
        "full": {"dataset": "emnist", "split": "balanced", "test_split": "balanced-test",
                 "subset": 12_800, "image_size": 28, "latent_dim": 128, "epochs": 100,
                 "batch_size": 128, "data_repeats": 1, "seed_settings": True, "lr_d": 3e-4,
                 "lr_g": 2e-4, "beta1": 0.9, "real_label": 1.0, "fake_label": 0.0,
                 "log_every": 50, "eval_every": 5, "eval_per_class": 20,
                 "classifier_epochs": 3, "num_samples": 94},
        "cpu": {"dataset": "digits", "split": "train", "test_split": "test", "subset": None,
                "image_size": 28, "latent_dim": 128, "epochs": 12, "batch_size": 64,
                "data_repeats": 4, "seed_settings": False, "lr_d": 2e-4, "lr_g": 2e-4,
                "beta1": 0.5, "real_label": 1.0, "fake_label": 0.0, "log_every": 44,
                "eval_every": 1, "eval_per_class": 50, "classifier_epochs": 3,
                "num_samples": 100},
        "smoke": {"dataset": "digits", "split": "train", "test_split": "test", "subset": 640,
                  "image_size": 28, "latent_dim": 128, "epochs": 2, "batch_size": 64,
                  "data_repeats": 1, "seed_settings": False, "lr_d": 2e-4, "lr_g": 2e-4,
                  "beta1": 0.5, "real_label": 1.0, "fake_label": 0.0, "log_every": 5,
                  "eval_every": 1, "eval_per_class": 10, "classifier_epochs": 1,
                  "num_samples": 100},
    },
    # Chapter 5: SRGAN x4 (Ledig et al. 2017). Two stages through the same engine: SRResNet
    # pre-training with MSE (adversarial weight 0), then SRGAN from those weights (content +
    # 1e-3 x adversarial). full: the paper's networks (16 blocks, D on 96x96 HR crops, VGG54
    # content loss, Adam beta1 0.9, lr 1e-4) on DIV2K train crops, scored on Set5, Set14 and
    # DIV2K valid. cpu/smoke run offline on the scikit-image photographs (crops of 7, scored on
    # the 2 held-out ones) with MSE content loss and a smaller generator that learns a
    # correction to bicubic upsampling (residual="bicubic"). frozen_steps: the run with a
    # discriminator that never learns (the lab report's), for the ln 2 comparison. threads: torch
    # CPU threads (0: torch's choice); one on cpu/smoke: on a busy 2-core machine two threads
    # spent 0.6 CPU-s per SRResNet step against 0.13 for one.
    "srgan": {
        "full": {"dataset": "div2k", "split": "train", "eval_sets": ["set5", "set14", "div2k"],
                 "eval_limit": 0, "scale": 4, "hr_size": 96, "crops": 25_600,
                 "variant": "paper", "blocks": 16, "features": 64, "d_features": 64,
                 "residual": "none", "content": "vgg54", "vgg_weights": "", "batch_size": 16,
                 "lr_pretrain": 1e-4, "lr_gan": 1e-4, "beta1": 0.9, "adversarial_weight": 1e-3,
                 "pretrain_epochs": 10, "gan_epochs": 5, "steps_per_epoch": 0,
                 "frozen_steps": 400, "flip": True, "tile": 128, "overlap": 16,
                 "log_every": 200, "num_samples": 16, "threads": 0},
        "cpu": {"dataset": "photos", "split": "train", "eval_sets": ["photos"], "eval_limit": 0,
                "scale": 4, "hr_size": 48, "crops": 2_000, "variant": "paper", "blocks": 4,
                "features": 32, "d_features": 32, "residual": "bicubic", "content": "mse",
                "vgg_weights": "", "batch_size": 16, "lr_pretrain": 1e-3, "lr_gan": 1e-4,
                "beta1": 0.9, "adversarial_weight": 1e-3, "pretrain_epochs": 6,
                "gan_epochs": 1, "steps_per_epoch": 100, "frozen_steps": 40, "flip": True,
                "tile": 128, "overlap": 16, "log_every": 25, "num_samples": 16, "threads": 1},
        "smoke": {"dataset": "photos", "split": "train", "eval_sets": ["photos"],
                  "eval_limit": 0, "scale": 4, "hr_size": 32, "crops": 128, "variant": "paper",
                  "blocks": 1, "features": 32, "d_features": 16, "residual": "bicubic",
                  "content": "mse", "vgg_weights": "", "batch_size": 8, "lr_pretrain": 1e-3,
                  "lr_gan": 1e-4, "beta1": 0.9, "adversarial_weight": 1e-3,
                  "pretrain_epochs": 1, "gan_epochs": 1, "steps_per_epoch": 6,
                  "frozen_steps": 4, "flip": True, "tile": 64, "overlap": 8, "log_every": 3,
                  "num_samples": 8, "threads": 1},
    },
    # Chapter 6: the improved-DCGAN seed's ablations (Xin; anime faces 96x96) as a sweep. A grid
    # point is one training run (`labkit.sweep.run_point`); `grid` is the grid file's content
    # (fixed `parameters`, named `grids` each a cartesian product, see labkit.sweep) and
    # `seeds` the seeds of every point. The factors run one at a time against the seed's
    # baseline (DCGAN, lr 2e-4 / 2e-4, labels 1 / 0), not as a full product. cpu/smoke: the
    # offline faces at 32x32 grey, SWD, 20 (or 2) short epochs of 10 (or 6) iterations, one
    # CPU thread per run (`threads`; None leaves torch's default).
    "improved_dcgan": {
        "full": {"dataset": "anime", "split": "all", "image_size": 96, "channels": 3,
                 "subset": 10_000, "epochs": 20, "batch_size": 128, "data_repeats": 1,
                 "model": "dcgan", "blocks": 9, "nz": 100, "ngf": 64, "ndf": 64,
                 "lr_d": 2e-4, "lr_g": 2e-4, "beta1": 0.5, "real_label": 1.0,
                 "fake_label": 0.0, "flip": False, "log_every": 20, "metric": "fid",
                 "eval_epochs": [1, 5, 10, 20], "eval_samples": 5000, "seeds": [0, 1, 2],
                 "single_run": False, "sweep_dir": None, "threads": None,
                 "grid": ABLATION_GRID},
        "cpu": {"dataset": "faces", "split": "all", "image_size": 32, "channels": 1,
                "subset": None, "epochs": 20, "batch_size": 20, "data_repeats": 2,
                "model": "dcgan", "blocks": 9, "nz": 100, "ngf": 16, "ndf": 16,
                "lr_d": 2e-4, "lr_g": 2e-4, "beta1": 0.5, "real_label": 1.0,
                "fake_label": 0.0, "flip": True, "log_every": 10, "metric": "swd",
                "eval_epochs": [1, 5, 10, 20], "eval_samples": 100, "seeds": [0, 1, 2],
                "single_run": False, "sweep_dir": None, "threads": 1,
                "grid": ABLATION_GRID},
        "smoke": {"dataset": "faces", "split": "all", "image_size": 32, "channels": 1,
                  "subset": None, "epochs": 2, "batch_size": 16, "data_repeats": 1,
                  "model": "dcgan", "blocks": 9, "nz": 32, "ngf": 8, "ndf": 8,
                  "lr_d": 2e-4, "lr_g": 2e-4, "beta1": 0.5, "real_label": 1.0,
                  "fake_label": 0.0, "flip": True, "log_every": 6, "metric": "swd",
                  "eval_epochs": [1, 2], "eval_samples": 64, "seeds": [0, 1],
                  "single_run": False, "sweep_dir": None, "threads": 1,
                  "grid": {
                      "parameters": {"model": "dcgan", "lr_d": 2e-4, "lr_g": 2e-4,
                                     "real_label": 1.0, "fake_label": 0.0},
                      "grids": {
                          "learning_rate": {"lr": [{"lr_d": 2e-4, "lr_g": 2e-4},
                                                   {"lr_d": 6.4e-3, "lr_g": 1.28e-3}]},
                          "label_smoothing": {"lr_d": [6.4e-3], "lr_g": [1.28e-3], "labels": [
                              {"real_label": 1.0, "fake_label": 0.0},
                              {"real_label": 0.9, "fake_label": 0.1}]},
                          "model": {"lr_d": [6.4e-3], "lr_g": [1.28e-3], "real_label": [0.9],
                                    "fake_label": [0.1], "model": ["dcgan", "resdcgan"]},
                      }}},
    },
}


class Config(dict):
    """A resolved configuration: a dict whose keys also read as attributes (cfg.epochs)."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def profile_name(profile: str = "auto") -> str:
    """Resolve `auto` to $LABKIT_PROFILE, else full on CUDA, else cpu; validate the name."""
    if profile == "auto":
        profile = os.environ.get("LABKIT_PROFILE") or ("full" if torch.cuda.is_available()
                                                       else "cpu")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {PROFILES} or 'auto'")
    return profile


def knobs(chapter: str) -> tuple[str, ...]:
    """The parameter names a chapter's notebook exposes (besides `profile`)."""
    return tuple(_defaults(chapter, "full"))


def resolve(chapter: str, profile: str = "auto", **params) -> Config:
    """The chapter's configuration: profile defaults overridden by every non-None parameter."""
    name = profile_name(profile)
    defaults = _defaults(chapter, name)
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for chapter {chapter!r}; "
                         f"known: {sorted(defaults)}")
    config = Config(profile=name)
    for key, default in defaults.items():
        value = params.get(key)
        config[key] = copy.deepcopy(default) if value is None else _checked(key, value, chapter)
    return config


def show(config: dict) -> None:
    """Print the resolved configuration as a two-column table."""
    width = max(map(len, config))
    print(f"{'parameter':<{width}}  value")
    print(f"{'-' * width}  -----")
    for key, value in config.items():
        print(f"{key:<{width}}  {value!r}")


def _defaults(chapter: str, profile: str) -> dict:
    if chapter not in CHAPTERS:
        raise ValueError(f"unknown chapter {chapter!r}; choose one of {sorted(CHAPTERS)}")
    return {**COMMON, **CHAPTERS[chapter][profile]}


# Types of the knobs whose defaults are None in some profile.
TYPES = {"subset": (int,), "out_dir": (str,), "data_root": (str,), "resume": (bool, str),
         "sweep_dir": (str,), "threads": (int,)}


def _checked(key: str, value, chapter: str):
    """Check an explicit value against the type the profiles use for that knob."""
    types = TYPES.get(key) or tuple({type(p[key]) for p in CHAPTERS[chapter].values()
                                     if p.get(key) is not None} or {type(COMMON.get(key))})
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        names = " or ".join(t.__name__ for t in types)
        raise ValueError(f"parameter {key}={value!r} should be of type {names}")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        raise ValueError(f"parameter {key}={value!r} must not be negative")
    return value
