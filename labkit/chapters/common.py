"""What every chapter does the same way: say where it runs, and who writes the files."""

from __future__ import annotations

import os

import torch

import labkit

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
