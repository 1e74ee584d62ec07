"""Checkpoints, the one owner of their format: written atomically, loaded without executing code
(`weights_only=True`), refused when written for another model."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..atomic import atomic_write

FORMAT = "labkit-gan-checkpoint-v2"


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
        raise ValueError(f"{path} is not a readable labkit checkpoint: {_why(exc)}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a labkit GAN checkpoint (format {FORMAT} expected)")
    return state


def _why(exc: Exception) -> str:
    """Why a checkpoint did not load, in labkit's words (never PyTorch's advice to unpickle
    the file with weights_only=False, which would run any code it holds)."""
    if "weights only load failed" in str(exc).lower() or "weights_only" in str(exc):
        return ("it holds Python objects other than tensors and plain data, and labkit never "
                "unpickles those (loading them could run code from the file). Use checkpoints "
                "that labkit wrote, or load a file you trust with torch.load yourself")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"the file is damaged or not a PyTorch file ({type(exc).__name__}: {first[:200]})"


def save_state(path: str | os.PathLike, *, epoch: int, networks: dict[str, nn.Module],
               optimizers: dict[str, torch.optim.Optimizer], scalers: dict[str, object],
               history: dict, config: dict, extra: dict | None = None) -> Path:
    """Write everything an exact resume needs, atomically: the networks (with their
    architectures), optimisers, gradient scalers, the CPU random state, history and settings.

    `extra` holds further state tensors or numbers (e.g. an EMA of a network's weights).
    """
    state = {
        "format": FORMAT,
        "epoch": epoch,
        "architecture": {role: architecture(m) for role, m in networks.items()},
        **{role: m.state_dict() for role, m in networks.items()},
        "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
        "scalers": {k: s.state_dict() for k, s in scalers.items()},
        "rng": {"torch": torch.get_rng_state()},
        "history": history,
        "train_config": config,
        "extra": extra or {},
    }
    return save_atomic(state, path)


def restore_state(state: dict, *, networks: dict[str, nn.Module],
                  optimizers: dict[str, torch.optim.Optimizer],
                  scalers: dict[str, object]) -> int:
    """Load a `save_state` checkpoint into networks, optimisers and scalers and restore the CPU
    random state; returns the epoch it was written after."""
    for role, module in networks.items():
        module.load_state_dict(state[role])
    for key, optimizer in optimizers.items():
        optimizer.load_state_dict(state["optimizers"][key])
    for key, scaler in scalers.items():
        scaler.load_state_dict(state["scalers"][key])
    torch.set_rng_state(state["rng"]["torch"])
    return int(state["epoch"])


def generator_weights(state: dict, ema: bool = True) -> dict:
    """The generator's weights in a `save_state` checkpoint: the EMA of its weights when the
    run kept one (what it sampled and was evaluated with) and `ema`, else the trained ones."""
    if ema and "ema" in state.get("extra", {}):
        return state["extra"]["ema"]["model"]
    return state["generator"]


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
