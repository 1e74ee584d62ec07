"""A live training view for Jupyter and Colab: curves and the latest samples, updated in place.

`LiveView()` is passed to `train_gan(..., callbacks=(view,))`. In a notebook with a frontend it
shows one figure — Loss_D / Loss_G, D(x) / D(G(z)) and the latest fixed-noise grid — and
redraws it in place after log lines (at most every `every_s` seconds) and at each epoch's end.
Headless (papermill, jupyter-book, a script) it does nothing: the engine's log lines are the view.
"""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .runtime import headless_reason
from .viz import image_grid, moving_average


class LiveView:
    """Redraw training curves and samples in place while `train_gan` runs (no-op headless)."""

    def __init__(self, every_s: float = 5.0, smooth: int = 25, force: bool = False):
        self.every_s, self.smooth = every_s, smooth
        self.active = force or headless_reason() is None
        self._handle = None
        self._last = 0.0
        self.draws = 0

    def on_log(self, run) -> None:
        """After a log line: redraw if `every_s` seconds have passed."""
        if self.active and time.monotonic() - self._last >= self.every_s:
            self._draw(run, samples=None)

    def __call__(self, run, epoch: int) -> None:
        """At the end of an epoch: redraw with the epoch's fixed-noise samples."""
        if self.active:
            self._draw(run, samples=run.generate(min(32, len(run.fixed_noise))))

    def figure(self, run, samples=None) -> Figure:
        """The view as a figure: losses, D's outputs and (when given) a sample grid."""
        h = run.history
        fig, axes = plt.subplots(1, 3 if samples is not None and samples.dim() == 4 else 2,
                                 figsize=(13, 3.4))
        steps = np.asarray(h["step"])
        for key, label in (("loss_d", "Loss_D"), ("loss_g", "Loss_G")):
            axes[0].plot(steps, moving_average(h[key], self.smooth), label=label)
        for key, label in (("d_x", "D(x)"), ("d_g_z1", "D(G(z))")):
            axes[1].plot(steps, moving_average(h[key], self.smooth), label=label)
        axes[1].axhline(0.5, color="gray", linestyle="--", linewidth=0.8)
        for ax, title in zip(axes[:2], ("losses", "discriminator outputs")):
            ax.set_title(title)
            ax.set_xlabel("iteration")
            ax.legend(loc="upper right")
        if len(axes) == 3:
            grid = image_grid(samples, nrow=8)
            axes[2].imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid, cmap="gray")
            axes[2].set_axis_off()
            axes[2].set_title(f"samples after epoch {h['epoch'][-1]}")
        fig.tight_layout()
        plt.close(fig)
        return fig

    def _draw(self, run, samples) -> None:
        if not run.history["step"]:
            return
        from IPython.display import display

        fig = self.figure(run, samples)
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        self._last = time.monotonic()
        self.draws += 1
