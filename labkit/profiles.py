"""Per-chapter defaults for the smoke / cpu / full profiles, and their resolution.

Every notebook's parameters cell sets `profile = "auto"` and each knob to None; the next cell calls
`resolve(chapter, profile, **knobs)`. An explicit (non-None) knob wins over the profile default.
`auto` means $LABKIT_PROFILE if set, else `full` when CUDA is available, else `cpu`.
"""

from __future__ import annotations

import os

import torch

PROFILES = ("smoke", "cpu", "full")

# Knobs shared by every chapter (the same in all profiles unless a chapter overrides them).
COMMON = {"seed": 0, "out_dir": None, "resume": False, "device": "auto", "data_root": None}

CHAPTERS: dict[str, dict[str, dict]] = {
    # Chapter 1: toy GANs (small MLPs on 1-D and 2-D points). CPU-sized on every profile: these
    # networks are too small to gain from a GPU, and on the CPU a run gives the same numbers
    # everywhere. One epoch = data_repeats passes over `points` points in batches of batch_size;
    # a ring setting is {"label", "loss", "lr_d", "lr_g", "d_steps"}.
    "theory": {
        "full": {"device": "cpu", "points": 2048, "batch_size": 256, "nz": 2, "hidden": 128,
                 "layers": 3, "loss": "non_saturating", "lr_d": 1e-3, "lr_g": 1e-3,
                 "dstar_steps": 3000, "mixture_epochs": 12, "ring_std": 0.02,
                 "ring_epochs": 40, "data_repeats": 25, "eval_samples": 2500,
                 "explorer_epochs": 20,
                 "ring_settings": [
                     {"label": "non-saturating", "loss": "non_saturating", "lr_d": 1e-3,
                      "lr_g": 1e-3, "d_steps": 1},
                     {"label": "minimax", "loss": "minimax", "lr_d": 1e-3, "lr_g": 1e-3,
                      "d_steps": 1},
                     {"label": "slow G (lr_g 5e-5)", "loss": "non_saturating", "lr_d": 1e-3,
                      "lr_g": 5e-5, "d_steps": 1},
                     {"label": "2 D steps per G step", "loss": "non_saturating",
                      "lr_d": 1e-3, "lr_g": 1e-3, "d_steps": 2},
                     {"label": "small steps (lr 1e-4)", "loss": "non_saturating",
                      "lr_d": 1e-4, "lr_g": 1e-4, "d_steps": 1},
                     {"label": "5 D steps per G step", "loss": "non_saturating",
                      "lr_d": 1e-3, "lr_g": 1e-3, "d_steps": 5},
                 ]},
        "cpu": {"device": "cpu", "points": 2048, "batch_size": 256, "nz": 2, "hidden": 128,
                "layers": 3, "loss": "non_saturating", "lr_d": 1e-3, "lr_g": 1e-3,
                "dstar_steps": 2000, "mixture_epochs": 12, "ring_std": 0.02,
                "ring_epochs": 20, "data_repeats": 25, "eval_samples": 2500,
                "explorer_epochs": 10,
                "ring_settings": [
                    {"label": "non-saturating", "loss": "non_saturating", "lr_d": 1e-3,
                     "lr_g": 1e-3, "d_steps": 1},
                    {"label": "minimax", "loss": "minimax", "lr_d": 1e-3, "lr_g": 1e-3,
                     "d_steps": 1},
                    {"label": "slow G (lr_g 5e-5)", "loss": "non_saturating", "lr_d": 1e-3,
                     "lr_g": 5e-5, "d_steps": 1},
                    {"label": "2 D steps per G step", "loss": "non_saturating",
                     "lr_d": 1e-3, "lr_g": 1e-3, "d_steps": 2},
                ]},
        "smoke": {"device": "cpu", "points": 1024, "batch_size": 128, "nz": 2, "hidden": 64,
                  "layers": 2, "loss": "non_saturating", "lr_d": 1e-3, "lr_g": 1e-3,
                  "dstar_steps": 300, "mixture_epochs": 3, "ring_std": 0.02,
                  "ring_epochs": 8, "data_repeats": 20, "eval_samples": 1000,
                  "explorer_epochs": 2,
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
        config[key] = default if value is None else _checked(key, value, chapter)
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
TYPES = {"subset": (int,), "out_dir": (str,), "data_root": (str,), "resume": (bool, str)}


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
