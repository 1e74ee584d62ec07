"""Checkpoints: written atomically, loaded without executing code, refused if from another model."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..atomic import atomic_write

FORMAT = "labkit-gan-checkpoint-v1"


class CheckpointMismatchError(ValueError):
    """A checkpoint was written for a different architecture than the one being trained."""


def architecture(module: nn.Module) -> dict:
    """A JSON-ready description of a module: its `config` (if any) and its tensor shapes."""
    shapes = {k: list(v.shape) for k, v in module.state_dict().items()}
    return {"class": type(module).__name__, "config": dict(getattr(module, "config", {}) or {}),
            "shapes": shapes}


def save_atomic(obj: dict, path: str | os.PathLike) -> Path:
    """torch.save to a temporary file beside `path`, then rename: never a half-written file."""
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint with `weights_only=True` (no code from the file is ever run)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # unpickling refused or file damaged
        raise ValueError(f"{path} is not a readable labkit checkpoint ({exc})") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a labkit GAN checkpoint (format {FORMAT} expected)")
    return state


def check_compatible(state: dict, networks: dict[str, nn.Module], path: str | os.PathLike) -> None:
    """Raise CheckpointMismatchError unless each network matches the architecture saved."""
    for role, module in networks.items():
        saved = state["architecture"].get(role)
        current = architecture(module)
        if saved is None:
            raise CheckpointMismatchError(f"checkpoint {path} holds no {role}")
        if saved["config"] != current["config"] or saved["shapes"] != current["shapes"]:
            diff = _first_difference(saved, current)
            raise CheckpointMismatchError(
                f"checkpoint {path} was written for a different {role}: saved "
                f"{saved['class']}({_fmt(saved['config'])}), this run has "
                f"{current['class']}({_fmt(current['config'])}); {diff}. Start a new run "
                "(resume=False) or build the model the checkpoint was trained with.")


def _fmt(config: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in config.items())


def _first_difference(saved: dict, current: dict) -> str:
    for key in sorted(set(saved["shapes"]) | set(current["shapes"])):
        a, b = saved["shapes"].get(key), current["shapes"].get(key)
        if a != b:
            return f"first difference at {key}: saved {a}, now {b}"
    return "the shapes agree but the model settings differ"
