"""Figures for the course: sample grids, training curves, real vs fake, latent interpolations.

Images are float tensors in [-1, 1], shaped (N, C, H, W). A training history is the trainer's
dict of per-iteration lists ("step", "epoch", "loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2")
plus "epochs", one record per epoch.

Every plotting function returns its `Figure` and saves a PNG (dpi 100) when given `path`. The
figure is detached from pyplot before it is returned: nothing piles up in a training loop and
Jupyter shows it once, when it is the value of a cell (or through `display(fig)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image
from torch import nn
from torchvision.utils import make_grid

PathLike = str | Path
DPI = 100

# --------------------------------------------------------------------------- image grids


def image_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2) -> np.ndarray:
    """Tile images in [-1, 1] of shape (N, C, H, W) into one (H, W, C) uint8 array (-1→0, 1→255)."""
    if images.dim() == 3:
        images = images.unsqueeze(0)
    channels = images.shape[1]
    grid = make_grid(images.detach().float().cpu(), nrow=nrow, padding=padding,
                     normalize=True, value_range=(-1, 1))
    grid = grid[:channels]  # make_grid repeats one channel three times; keep just one
    pixels = grid.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)  # as torchvision.save_image
    return pixels.permute(1, 2, 0).numpy()


def show_grid(images: torch.Tensor, title: str | None = None, nrow: int = 8,
              path: PathLike | None = None) -> Figure:
    """A figure of images in [-1, 1] as one grid, with an optional title."""
    pixels = image_grid(images, nrow=nrow)
    height, width = pixels.shape[:2]
    size = 8.0
    fig, ax = plt.subplots(figsize=(size, size * height / width + (0.4 if title else 0)))
    _imshow(ax, pixels, title)
    return finish(fig, path)


def plot_real_vs_fake(real: torch.Tensor, fake: torch.Tensor, path: PathLike | None = None,
                      nrow: int = 8) -> Figure:
    """Real and generated images side by side, as at the end of the PyTorch DCGAN tutorial."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 7.4))
    _imshow(left, image_grid(real, nrow=nrow), "Real Images")
    _imshow(right, image_grid(fake, nrow=nrow), "Fake Images")
    return finish(fig, path)


def plot_grids_over_epochs(grids: Mapping[int, np.ndarray | torch.Tensor | PathLike],
                           path: PathLike | None = None) -> Figure:
    """Fixed-noise grids at chosen epochs in one row, each titled "epoch k".

    A value is a ready grid (an (H, W) or (H, W, C) array, e.g. a saved PNG read back), a PNG
    path, or a tensor of images in [-1, 1] to tile.
    """
    if not grids:
        raise ValueError("no grids to plot")
    epochs = sorted(grids)
    fig, axes = plt.subplots(1, len(epochs), figsize=(3.2 * len(epochs), 3.6), squeeze=False)
    for ax, epoch in zip(axes[0], epochs, strict=True):
        _imshow(ax, _as_pixels(grids[epoch]), f"epoch {epoch}")
    fig.suptitle("Samples from the same fixed noise during training")
    return finish(fig, path)


# --------------------------------------------------------------------------- training curves


def plot_losses(history: Mapping, path: PathLike | None = None, smooth: int | None = 50) -> Figure:
    """Loss_D and Loss_G per iteration: thin raw lines, a thick moving average, epoch marks."""
    steps = iterations(history)
    fig, ax = plt.subplots(figsize=(10, 5))
    for key, label in (("loss_d", "Loss_D"), ("loss_g", "Loss_G")):
        plot_raw_and_smoothed(ax, steps, history[key], label, smooth)
    _epoch_boundaries(ax, history)
    ax.set_title("Generator and Discriminator Loss During Training")
    ax.set_xlabel("iterations")
    ax.set_ylabel("Loss")
    smoothing_legend(ax, smooth, len(steps))
    return finish(fig, path)


def plot_probabilities(history: Mapping, path: PathLike | None = None,
                       smooth: int | None = None) -> Figure:
    """D(x) and D(G(z)) (before D's update) per iteration, with 0.5, where D cannot tell."""
    steps = iterations(history)
    fig, ax = plt.subplots(figsize=(10, 5))
    for key, label in (("d_x", "D(x)"), ("d_g_z1", "D(G(z))")):
        plot_raw_and_smoothed(ax, steps, history[key], label, smooth)
    ax.axhline(0.5, color="black", linestyle="--", linewidth=1, label="_chance")
    _epoch_boundaries(ax, history)
    ax.set_ylim(0, 1)
    ax.set_title("Discriminator's mean output on real and on generated images")
    ax.set_xlabel("iterations")
    ax.set_ylabel("probability of 'real'")
    smoothing_legend(ax, smooth, len(steps))
    return finish(fig, path)


# --------------------------------------------------------------------------- latent space


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation from z0 (N, D) to z1 (N, D) at fractions t (T,): (N, T, D)."""
    t = t.to(z0)[None, :, None]
    cos = torch.nn.functional.cosine_similarity(z0, z1, dim=1).clamp(-1, 1)
    omega = torch.arccos(cos)[:, None, None]
    sin = torch.sin(omega)
    straight = sin.abs() < 1e-6  # (anti)parallel points: fall back to a straight line
    sin = torch.where(straight, torch.ones_like(sin), sin)
    w0 = torch.where(straight, 1 - t, torch.sin((1 - t) * omega) / sin)
    w1 = torch.where(straight, t, torch.sin(t * omega) / sin)
    return w0 * z0[:, None] + w1 * z1[:, None]


def interpolation_latents(nz: int, *, rows: int = 4, steps: int = 8, seed: int = 0,
                          spherical: bool = True) -> torch.Tensor:
    """(rows*steps, nz) latents: row r goes from z0[r] to z1[r], both drawn in that order.

    z0 and z1 are `torch.randn(rows, nz, generator=torch.Generator().manual_seed(seed))`,
    drawn one after the other; the path is a slerp (or a straight line if not `spherical`).
    """
    rng = torch.Generator().manual_seed(seed)
    z0 = torch.randn(rows, nz, generator=rng)
    z1 = torch.randn(rows, nz, generator=rng)
    t = torch.linspace(0, 1, steps)
    if spherical:
        path = slerp(z0, z1, t)
    else:
        path = (1 - t)[None, :, None] * z0[:, None] + t[None, :, None] * z1[:, None]
    return path.reshape(rows * steps, nz)


@torch.no_grad()
def generate_eval(generator: nn.Module, z: torch.Tensor, *cond) -> torch.Tensor:
    """G(z) in eval mode (BatchNorm on its running averages, so each image depends on its own
    latent only), on the CPU; the generator gets its mode back. Runs on G's device."""
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        return generator(z.to(device), *(c.to(device) for c in cond)).float().cpu()
    finally:
        generator.train(was_training)


def latent_interpolation(generator: nn.Module, nz: int, *, rows: int = 4, steps: int = 8,
                         seed: int = 0, spherical: bool = True) -> torch.Tensor:
    """Images (rows*steps, C, H, W) in [-1, 1], on the CPU, along paths between seeded latents,
    generated in eval mode (`generate_eval`)."""
    z = interpolation_latents(nz, rows=rows, steps=steps, seed=seed, spherical=spherical)
    return generate_eval(generator, z)


def plot_latent_interpolation(generator: nn.Module, nz: int, *, rows: int = 4, steps: int = 8,
                              seed: int = 0, spherical: bool = True,
                              path: PathLike | None = None) -> Figure:
    """One row per pair of latent points, walking from one to the other in `steps` images."""
    images = latent_interpolation(generator, nz, rows=rows, steps=steps, seed=seed,
                                  spherical=spherical)
    kind = "Spherical" if spherical else "Linear"
    return show_grid(images, title=f"{kind} interpolation between pairs of latent points",
                     nrow=steps, path=path)


# --------------------------------------------------------------------------- helpers


def moving_average(values, window: int) -> np.ndarray:
    """Trailing mean over `window` values (fewer at the start), same length as `values`."""
    values = np.asarray(values, dtype=float)
    sums = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def iterations(history: Mapping) -> np.ndarray:
    """The iteration numbers of a history; a ValueError if it has none."""
    if not history.get("step"):
        raise ValueError("the history has no iterations yet")
    return np.asarray(history["step"])


def plot_raw_and_smoothed(ax: Axes, steps: np.ndarray, values, label: str,
                          smooth: int | None) -> None:
    """Raw values as a thin line and, when `smooth` > 1, their moving average drawn over it."""
    if not smooth or smooth <= 1:
        ax.plot(steps, values, linewidth=1, label=label)
        return
    (raw,) = ax.plot(steps, values, linewidth=0.6, alpha=0.35, label=f"_{label} per iteration")
    ax.plot(steps, moving_average(values, smooth), linewidth=2, color=raw.get_color(),
            label=label)


def _epoch_boundaries(ax: Axes, history: Mapping) -> None:
    """Faint vertical lines where a new epoch begins."""
    steps, epochs = history["step"], history["epoch"]
    for i in range(1, len(epochs)):
        if epochs[i] != epochs[i - 1]:
            ax.axvline(steps[i] - 0.5, color="gray", linewidth=0.8, alpha=0.3, label="_epoch")


def smoothing_legend(ax: Axes, smooth: int | None, n: int) -> None:
    """The legend, saying what the thick lines are when the curves are smoothed."""
    title = None
    if smooth and smooth > 1:
        title = f"thin: per iteration; thick: mean of last {min(smooth, n)}"
    ax.legend(title=title, title_fontsize="small", fontsize="small")


def _as_pixels(grid: np.ndarray | torch.Tensor | PathLike) -> np.ndarray:
    """A grid to show: arrays as they are, PNG paths read back, image tensors tiled."""
    if isinstance(grid, (str, Path)):
        return np.asarray(Image.open(grid))
    if isinstance(grid, torch.Tensor):
        return image_grid(grid)
    return np.asarray(grid)


def _imshow(ax: Axes, pixels: np.ndarray, title: str | None) -> None:
    """Show an (H, W) or (H, W, C) image without axes; one channel in gray."""
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    gray = {"cmap": "gray", "vmin": 0, "vmax": 255 if pixels.dtype == np.uint8 else 1}
    ax.imshow(pixels, **(gray if pixels.ndim == 2 else {}), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def _parent_made(path: PathLike) -> Path:
    """`path` as a Path, its parent folder created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def finish(fig: Figure, path: PathLike | None) -> Figure:
    """Lay out, save when asked, and detach the figure from pyplot."""
    fig.tight_layout()
    if path is not None:
        fig.savefig(_parent_made(path), dpi=DPI)
    plt.close(fig)
    return fig


def plot_metric(history: Mapping, name: str, *, path: PathLike | None = None,
                lower_is_better: bool = True) -> Figure:
    """A metric recorded by an `Evaluator` against the epoch, the best epoch marked."""
    entries = history.get("metrics", {}).get(name, [])
    if not entries:
        raise ValueError(f"the history holds no metric {name!r}; "
                         f"recorded: {sorted(history.get('metrics', {}))}")
    epochs = [e["epoch"] for e in entries]
    values = [e["value"] for e in entries]
    choose = min if lower_is_better else max
    best = choose(range(len(values)), key=lambda i: values[i])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(epochs, values, marker="o")
    ax.plot([epochs[best]], [values[best]], marker="*", markersize=14, linestyle="none",
            label=f"best: {values[best]:.4g} at epoch {epochs[best]}")
    n = entries[-1].get("n_fake")
    ax.set_title(f"{name} of the fixed samples" + (f" ({n} generated images)" if n else ""))
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{name} ({'lower' if lower_is_better else 'higher'} is better)")
    ax.legend()
    return finish(fig, path)


# --------------------------------------------------------------------------- conditional GANs


def plot_labelled_grid(images: torch.Tensor, nrow: int, *, row_labels=None, col_labels=None,
                       title: str | None = None, tile_inches: float = 0.45,
                       path: PathLike | None = None) -> Figure:
    """Images in [-1, 1] tiled `nrow` per row, with names beside the rows and above the columns.

    For a conditional GAN: one row per class (`row_labels` = class names), the same latent
    vector down a column, or mixing weights along a row (`col_labels`). A label list may be
    shorter than the rows/columns; missing ones stay blank.
    """
    padding = 2
    pixels = image_grid(images, nrow=nrow, padding=padding)
    rows, cols = -(-len(images) // nrow), min(nrow, len(images))
    tile_h, tile_w = images.shape[-2] + padding, images.shape[-1] + padding
    fig, ax = plt.subplots(figsize=(max(5.0, cols * tile_inches + 1.0),
                                    rows * tile_inches + (0.9 if title or col_labels else 0.3)))
    shown = pixels[..., 0] if pixels.shape[-1] == 1 else pixels
    ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=255,
              interpolation="nearest")
    ax.set_xticks([padding + c * tile_w + tile_w / 2 - 1 for c in range(len(col_labels or []))],
                  [str(name) for name in col_labels or []])
    ax.set_yticks([padding + r * tile_h + tile_h / 2 - 1 for r in range(len(row_labels or []))],
                  [str(name) for name in row_labels or []])
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    return finish(fig, path)


def plot_curves(panels: Mapping[str, Mapping[str, Mapping]], metric: str, *,
                path: PathLike | None = None, lower_is_better: bool = True) -> Figure:
    """A metric against the epoch, one panel per factor and one line per setting: the mean over
    seeds with its 95 % interval as a band.

    `panels` maps a panel title to {setting label: {"epoch": [...], "mean": [...], "low": [...],
    "high": [...]}} (low/high NaN where only one run reached an epoch: no band there).
    """
    if not panels:
        raise ValueError("no settings to plot")
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), squeeze=False,
                             sharey=True)
    for ax, (title, settings) in zip(axes[0], panels.items()):
        for label, series in settings.items():
            epochs = np.asarray(series["epoch"], dtype=float)
            mean = np.asarray(series["mean"], dtype=float)
            low = np.asarray(series["low"], dtype=float)
            high = np.asarray(series["high"], dtype=float)
            (line,) = ax.plot(epochs, mean, marker="o", label=label)
            ax.fill_between(epochs, np.where(np.isnan(low), mean, low),
                            np.where(np.isnan(high), mean, high), color=line.get_color(),
                            alpha=0.2, linewidth=0)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_xticks(sorted({e for series in settings.values() for e in series["epoch"]}))
        ax.legend(fontsize="small")
    axes[0][0].set_ylabel(f"{metric} ({'lower' if lower_is_better else 'higher'} is better)")
    fig.suptitle(f"{metric} per epoch: mean over seeds, 95 % t-interval shaded")
    return finish(fig, path)


def plot_closest_pairs(fake: torch.Tensor, train: torch.Tensor, result,
                       n: int = 8, path: str | Path | None = None) -> Figure:
    """The `n` generated images closest to the training set (top) above their nearest
    training images (bottom), each pair titled with its distance, from a
    `labkit.metrics.memorisation` result; saved as PNG if `path`."""
    n = min(n, len(result.extra["closest_fake"]))
    if n < 1:
        raise ValueError("the result holds no closest pairs")
    fake_index = result.extra["closest_fake"][:n]
    train_index = result.extra["closest_train"][:n]
    pixels = image_grid(torch.cat([fake[fake_index], train[train_index]]), nrow=n)
    if pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    fig, ax = plt.subplots(figsize=(1.3 * n, 3.0))
    ax.imshow(pixels, cmap="gray" if pixels.ndim == 2 else None, vmin=0, vmax=255,
              interpolation="nearest")
    ax.set_axis_off()
    step = pixels.shape[1] / n
    for k, distance in enumerate(result.extra["closest_distance"][:n]):
        ax.text((k + 0.5) * step, -2, f"{distance:.2f}", ha="center", va="bottom", fontsize=8)
    ax.set_title("generated (top) and nearest training image (bottom), L2 distance above",
                 fontsize=9, pad=14)
    fig.tight_layout()
    return finish(fig, path)
