"""What every chapter does the same way: say where it runs, and who writes the files."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import torch

import labkit

from ..data import DatasetNotFoundError
from ..train import pick_device


def main_process() -> bool:
    """True except in the non-zero ranks of a torchrun job (only rank 0 writes and reports)."""
    return os.environ.get("RANK", "0") == "0"


def environment(device: str = "auto", profile: str = "cpu") -> torch.device:
    """Print labkit's and torch's versions and the device found (with the way to a GPU on
    Colab when a GPU profile runs without one); returns the device."""
    found = pick_device(device)
    threads = f", {torch.get_num_threads()} CPU threads" if found.type == "cpu" else ""
    print(f"labkit {labkit.__version__}, torch {torch.__version__}, device: {found}{threads}")
    if found.type == "cpu" and profile == "full":
        print("No GPU found. On Colab: Runtime > Change runtime type > GPU, then run all cells "
              "again.")
    return found


def obtain(cfg, load: Callable):
    """`(cfg, load(cfg))`: the chapter's data and the configuration they were loaded with.

    When `auto` chose `full` (a GPU) but the real data cannot be obtained (not on disk and the
    download refused: Google Drive's quota, no Kaggle token, no network), the notebook does not
    stop: one box says which data are missing, why and how to get them, and the chapter goes on
    with the offline data at full's scale (profile `gpu-offline`; every result it records names
    that profile). A profile chosen by hand (`profile="full"`, $LABKIT_PROFILE) keeps the error.
    """
    try:
        return cfg, load(cfg)
    except DatasetNotFoundError as error:
        if not cfg.fallback:
            raise
        offline = cfg.offline()
        notice("The full profile's data could not be obtained: this run continues on the "
               "offline data at GPU scale (profile 'gpu-offline')",
               [str(error).splitlines()[0],
                "Every number, figure and verdict below comes from the offline data, and the "
                "run folder records profile 'gpu-offline'. For the real data, get it as below "
                "and run the notebook again (profile='full' stops here instead).", "",
                *str(error).splitlines()[1:]])
        return offline, load(offline)


def notice(title: str, lines: Sequence[str]) -> None:
    """Print one framed box: a title and its lines (plain text reads the same in Colab, Jupyter,
    the built book and a terminal)."""
    rule = "━" * 78
    print("\n".join([rule, f"⚠  {title}", rule, *lines, rule]))


def validate_grid_run(cfg) -> None:
    """The knobs every grid chapter shares (chapters 6 and 7): at least one seed, and either
    one point (`single_run`) or a grid to continue (`sweep_dir`), not both."""
    if not cfg.seeds:
        raise ValueError("parameter seeds=[]: give at least one seed")
    if cfg.single_run and cfg.sweep_dir:
        raise ValueError(f"parameter sweep_dir={cfg.sweep_dir!r} continues a grid; it "
                         "cannot be combined with single_run=True")
