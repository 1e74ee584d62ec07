"""Fakes shared by the tests: a training history in the engine's format."""

from __future__ import annotations

import numpy as np


def fake_history(epochs: int = 3, iters: int = 20) -> dict:
    """A history in the trainer's format, with plausible numbers."""
    n = epochs * iters
    rng = np.random.default_rng(0)
    return {
        "step": list(range(1, n + 1)),
        "epoch": [1 + i // iters for i in range(n)],
        "loss_d": (1.4 - np.linspace(0, 0.8, n) + 0.1 * rng.standard_normal(n)).tolist(),
        "loss_g": (0.7 + np.linspace(0, 2, n) + 0.3 * rng.standard_normal(n)).tolist(),
        "d_x": rng.uniform(0.5, 0.9, n).tolist(),
        "d_g_z1": rng.uniform(0.1, 0.5, n).tolist(),
        "d_g_z2": rng.uniform(0.05, 0.4, n).tolist(),
        "epochs": [{"epoch": e, "seconds": 3.2, "images_per_s": 410.0}
                   for e in range(1, epochs + 1)],
    }
