"""Figures: grids map [-1, 1] to 0..255, plots carry the expected lines and save PNGs."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from fakes import fake_history
from matplotlib.figure import Figure
from PIL import Image
from torchvision.utils import save_image

from labkit import viz
from labkit.models import dcgan


def legend_labels(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def png_size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        image.load()
        return image.size


@pytest.mark.parametrize("channels", [1, 3])
def test_image_grid_shape_dtype_and_values(channels):
    images = torch.zeros(6, channels, 8, 10)
    images[0] = -1
    images[1] = 1
    grid = viz.image_grid(images, nrow=3, padding=2)
    # 2 rows × 3 columns of 8×10 images, 2 px of padding around and between them
    assert grid.shape == (2 + 2 * (8 + 2), 2 + 3 * (10 + 2), channels)
    assert grid.dtype == np.uint8
    assert (grid[2:10, 2:12] == 0).all()  # image 0: -1 -> 0
    assert (grid[2:10, 14:24] == 255).all()  # image 1: 1 -> 255
    assert (grid[2:10, 26:36] == 128).all()  # image 2: 0 -> 127.5, rounded
    assert (grid[0:2] == 0).all()  # padding is black


def test_image_grid_clamps_and_takes_one_image():
    grid = viz.image_grid(torch.full((3, 4, 4), 5.0), padding=0)
    assert grid.shape == (4, 4, 3) and (grid == 255).all()


def test_show_grid_figure_and_file(tmp_path):
    plt.close("all")  # figures other tests left open are not this test's business
    fig = viz.show_grid(torch.rand(4, 1, 8, 8) * 2 - 1, title="digits", path=tmp_path / "g.png")
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_title() == "digits"
    assert fig.axes[0].images[0].get_array().ndim == 2  # one channel shown as gray
    assert png_size(tmp_path / "g.png")[0] == 800  # 8 inches at dpi 100
    assert not plt.get_fignums()  # detached from pyplot


def test_plot_losses(tmp_path):
    history = fake_history(epochs=3, iters=20)
    fig = viz.plot_losses(history, path=tmp_path / "losses.png", smooth=5)
    ax = fig.axes[0]
    assert ax.get_title() == "Generator and Discriminator Loss During Training"
    assert ax.get_xlabel() == "iterations" and ax.get_ylabel() == "Loss"
    assert legend_labels(fig) == ["Loss_D", "Loss_G"]
    labels = [line.get_label() for line in ax.lines]
    assert labels.count("_epoch") == 2  # boundaries before epochs 2 and 3
    assert len(ax.lines) == 4 + 2  # raw and smoothed for D and G, two epoch marks
    raw_d, smooth_d = ax.lines[0], ax.lines[1]
    assert raw_d.get_linewidth() < smooth_d.get_linewidth()
    np.testing.assert_allclose(raw_d.get_ydata(), history["loss_d"])
    np.testing.assert_allclose(smooth_d.get_ydata()[4], np.mean(history["loss_d"][:5]))
    assert png_size(tmp_path / "losses.png") == (1000, 500)


def test_plot_losses_unsmoothed_and_empty():
    fig = viz.plot_losses(fake_history(epochs=1), smooth=None)
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(ValueError, match="no iterations"):
        viz.plot_losses(fake_history(epochs=0))


def test_plot_probabilities(tmp_path):
    history = fake_history(epochs=2)
    fig = viz.plot_probabilities(history, path=tmp_path / "p.png")
    ax = fig.axes[0]
    assert legend_labels(fig) == ["D(x)", "D(G(z))"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), history["d_g_z1"])
    half = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(half) == 1 and tuple(half[0].get_ydata()) == (0.5, 0.5)
    assert ax.get_ylim() == (0, 1)
    assert (tmp_path / "p.png").stat().st_size > 0


def test_moving_average():
    np.testing.assert_allclose(viz.moving_average([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])


def test_plot_real_vs_fake(tmp_path):
    fig = viz.plot_real_vs_fake(torch.rand(8, 3, 8, 8) * 2 - 1, torch.rand(8, 3, 8, 8) * 2 - 1,
                                path=tmp_path / "rf.png")
    assert [ax.get_title() for ax in fig.axes] == ["Real Images", "Fake Images"]
    assert (tmp_path / "rf.png").exists()


def test_plot_grids_over_epochs(tmp_path):
    png = tmp_path / "epoch_005.png"
    save_image(torch.rand(4, 3, 8, 8), png, nrow=2)  # as the engine saves its grids
    grids = {10: torch.rand(4, 1, 8, 8) * 2 - 1, 1: np.zeros((20, 20, 3), np.uint8), 5: png}
    fig = viz.plot_grids_over_epochs(grids, path=tmp_path / "over.png")
    assert [ax.get_title() for ax in fig.axes] == ["epoch 1", "epoch 5", "epoch 10"]
    assert fig.axes[1].images[0].get_array().shape == (22, 22, 3)
    assert (tmp_path / "over.png").exists()


def test_slerp_endpoints_and_norm():
    z0, z1 = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    path = viz.slerp(z0, z1, torch.linspace(0, 1, 5))[0]
    assert torch.equal(path[0], z0[0]) and torch.equal(path[-1], z1[0])
    torch.testing.assert_close(path.norm(dim=1), torch.ones(5))  # stays on the circle
    same = viz.slerp(z0, z0, torch.linspace(0, 1, 3))  # parallel: no division by zero
    assert torch.isfinite(same).all() and torch.allclose(same[0], z0.expand(3, 2))


@pytest.mark.parametrize("spherical", [True, False])
def test_latent_interpolation_endpoints_and_mode(spherical):
    torch.manual_seed(0)
    generator, _ = dcgan(image_size=32, nz=8, ngf=4)
    generator.train()
    images = viz.latent_interpolation(generator, 8, rows=3, steps=5, seed=7,
                                      spherical=spherical)
    assert images.shape == (15, 3, 32, 32)
    assert generator.training  # mode restored

    rng = torch.Generator().manual_seed(7)  # the endpoints, as documented
    z0, z1 = torch.randn(3, 8, generator=rng), torch.randn(3, 8, generator=rng)
    generator.eval()
    with torch.no_grad():
        start, end = generator(z0), generator(z1)
    torch.testing.assert_close(images.view(3, 5, 3, 32, 32)[:, 0], start)
    torch.testing.assert_close(images.view(3, 5, 3, 32, 32)[:, -1], end)


def test_latent_interpolation_keeps_eval_mode_and_plots(tmp_path):
    generator, _ = dcgan(image_size=32, nz=8, ngf=4)
    generator.eval()
    fig = viz.plot_latent_interpolation(generator, 8, rows=2, steps=4,
                                        path=tmp_path / "interp.png")
    assert not generator.training
    assert fig.axes[0].images[0].get_array().shape == (2 + 2 * 34, 2 + 4 * 34, 3)
    assert "interpolation" in fig.axes[0].get_title()
    assert (tmp_path / "interp.png").exists()


def test_plot_metric_marks_the_best_epoch(tmp_path):
    history = {"metrics": {"swd": [{"epoch": 1, "value": 9.0, "n_fake": 100},
                                   {"epoch": 2, "value": 4.0, "n_fake": 100},
                                   {"epoch": 3, "value": 6.0, "n_fake": 100}]}}
    fig = viz.plot_metric(history, "swd", path=tmp_path / "m.png")
    ax = fig.axes[0]
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3]
    assert list(ax.lines[1].get_xdata()) == [2] and list(ax.lines[1].get_ydata()) == [4.0]
    assert "best: 4 at epoch 2" in ax.get_legend().get_texts()[0].get_text()
    assert (tmp_path / "m.png").is_file()
    higher = viz.plot_metric(history, "swd", lower_is_better=False)
    assert list(higher.axes[0].lines[1].get_xdata()) == [1]
    with pytest.raises(ValueError, match="no metric 'fid'"):
        viz.plot_metric(history, "fid")


def test_labelled_grid_names_rows_and_columns(tmp_path):
    images = torch.linspace(-1, 1, 6 * 28 * 28).reshape(6, 1, 28, 28)
    fig = viz.plot_labelled_grid(images, 3, row_labels=["A", "b"], col_labels=[0, 0.5, 1],
                                 title="mix", path=tmp_path / "grid.png")
    ax = fig.axes[0]
    assert ax.images[0].get_array().shape == (2 + 2 * 30, 2 + 3 * 30)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "b"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "0.5", "1"]
    # the labels sit at the centres of the tiles (28 pixels + 2 of padding each)
    assert list(ax.get_yticks()) == [16.0, 46.0] and ax.get_title() == "mix"
    assert (tmp_path / "grid.png").is_file()
    plain = viz.plot_labelled_grid(images, 6)
    assert len(plain.axes[0].get_yticks()) == 0 and len(plain.axes[0].get_xticks()) == 0


def test_curves_one_panel_per_factor_with_interval_bands(tmp_path):
    nan = float("nan")
    panels = {
        "learning rate": {"2e-4/2e-4": {"epoch": [1, 5], "mean": [30.0, 20.0],
                                        "low": [28.0, 19.0], "high": [32.0, 21.0]},
                          "6.4e-3/1.28e-3": {"epoch": [1, 5], "mean": [25.0, 15.0],
                                             "low": [nan, 12.0], "high": [nan, 18.0]}},
        "model": {"dcgan": {"epoch": [1, 5], "mean": [25.0, 15.0], "low": [24.0, 14.0],
                            "high": [26.0, 16.0]}},
    }
    fig = viz.plot_curves(panels, "swd", path=tmp_path / "sweep.png")
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "learning rate"
    assert legend_labels(fig) == ["2e-4/2e-4", "6.4e-3/1.28e-3"]
    assert len(fig.axes[0].collections) == 2  # one interval band per setting
    band = fig.axes[0].collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == 19.0 and band.max() == 32.0
    assert "lower is better" in fig.axes[0].get_ylabel()
    assert "t-interval" in fig._suptitle.get_text()
    assert png_size(tmp_path / "sweep.png")[0] > 500
    with pytest.raises(ValueError):
        viz.plot_curves({}, "swd")
