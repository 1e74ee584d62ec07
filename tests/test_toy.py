"""Chapter 1's toys: point sets, mixture samplers, toy MLPs, D*, generator gradients, mode coverage,
and the ring explorer widget with its headless fallback."""

from __future__ import annotations

import json
import math
from contextlib import nullcontext

import pytest
import torch
from matplotlib.figure import Figure

from labkit import runtime, widgets
from labkit.data import (
    PointSet,
    gaussian_mixture_1d,
    optimal_discriminator,
    ring_centres,
    ring_of_gaussians,
)
from labkit.metrics.modes import mode_coverage
from labkit.models import mlp_gan
from labkit.train import Labels, TrainConfig, discriminator_step, generator_loss, train_gan


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one thread is as fast and does not stall when the cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------- PointSet


def test_point_set_batches_have_the_right_shape_count_and_order():
    ring = ring_of_gaussians(1000, seed=0)
    batches = list(ring.batches(128, generator=torch.Generator().manual_seed(3)))
    assert len(batches) == ring.num_batches(128) == 7  # drop_last: 1000 // 128
    assert all(b.shape == (128, 2) and b.dtype == torch.float32 for b in batches)
    assert len(list(ring.batches(128, drop_last=False))) == ring.num_batches(128, False) == 8
    again = list(ring.batches(128, generator=torch.Generator().manual_seed(3)))
    assert all(torch.equal(a, b) for a, b in zip(batches, again))
    other = next(iter(ring.batches(128, generator=torch.Generator().manual_seed(4))))
    assert not torch.equal(batches[0], other)
    ordered = next(iter(ring.batches(128, shuffle=False, flip=True)))  # flip is ignored
    assert torch.equal(ordered, ring.points[:128])


def test_point_set_batches_with_labels_and_shards():
    ring = ring_of_gaussians(512, seed=1)
    x, y = next(iter(ring.batches(64, with_labels=True, shuffle=False)))
    assert torch.equal(y, ring.labels[:64]) and x.shape == (64, 2)
    halves = [next(iter(ring.batches(64, shuffle=False, shard=(r, 2)))) for r in (0, 1)]
    assert torch.equal(torch.cat(halves), ring.points[:64])
    with pytest.raises(ValueError, match="split evenly"):
        next(iter(ring.batches(63, shard=(0, 2))))


def test_point_set_validates_its_mixture():
    with pytest.raises(ValueError, match="centres"):
        PointSet(torch.zeros(4, 1), torch.zeros(2, 1), torch.ones(3), torch.ones(2) / 2)


# --------------------------------------------------------------------------- samplers


def test_ring_sampler_has_its_centres_and_std():
    ring = ring_of_gaussians(40_000, modes=8, radius=2.0, std=0.02, seed=0)
    assert ring.centres.shape == (8, 2) and len(ring) == 40_000 and ring.dim == 2
    assert torch.allclose(ring.centres.norm(dim=1), torch.full((8,), 2.0))
    assert torch.allclose(ring.centres[0], torch.tensor([2.0, 0.0]))
    angles = torch.atan2(ring.centres[:, 1], ring.centres[:, 0])
    gaps = torch.diff(torch.sort(torch.remainder(angles, 2 * math.pi)).values)
    assert torch.allclose(gaps, torch.full((7,), 2 * math.pi / 8), atol=1e-5)
    offsets = ring.points - ring.centres[ring.labels]
    assert abs(offsets.std().item() - 0.02) < 0.001
    counts = torch.bincount(ring.labels, minlength=8).float() / len(ring)
    assert (counts - 1 / 8).abs().max() < 0.01
    assert ring.manifest["std"] == 0.02 and torch.equal(ring_centres(8, 2.0), ring.centres)
    assert torch.equal(ring.points, ring_of_gaussians(40_000, seed=0).points)  # seeded


def test_mixture_sampler_and_its_density():
    mix = gaussian_mixture_1d(50_000, means=(-3.0, 0.0, 3.0), stds=0.4,
                              weights=(1, 2, 1), seed=0)
    assert mix.points.shape == (50_000, 1) and torch.allclose(mix.weights,
                                                              torch.tensor([0.25, 0.5, 0.25]))
    middle = mix.points[mix.labels == 1, 0]
    assert abs(middle.mean().item()) < 0.02 and abs(middle.std().item() - 0.4) < 0.01
    x = torch.linspace(-8, 8, 4001)
    assert abs(torch.trapezoid(mix.density(x), x).item() - 1) < 1e-4
    peak = 0.5 / (0.4 * math.sqrt(2 * math.pi))  # the middle component alone at x = 0
    assert abs(mix.density(torch.tensor([0.0])).item() - peak) < 1e-3
    with pytest.raises(ValueError, match="positive"):
        gaussian_mixture_1d(10, stds=0.0)


# --------------------------------------------------------------------------- models


def test_mlp_gan_shapes_and_configs():
    for dim in (1, 2):
        generator, discriminator = mlp_gan(dim=dim, nz=3, hidden=16, layers=2)
        assert generator.nz == 3
        assert generator(torch.randn(5, 3)).shape == (5, dim)
        assert discriminator(torch.randn(5, dim)).shape == (5,)
        assert generator.config == {"family": "toy_mlp", "dim": dim, "nz": 3, "hidden": 16,
                                    "layers": 2}
        assert discriminator.config["dim"] == dim
    _, discriminator = mlp_gan(dim=2)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        discriminator(torch.randn(5, 3))


def test_train_gan_trains_a_toy_gan_on_points(tmp_path):
    ring = ring_of_gaussians(256, seed=0)
    torch.manual_seed(0)
    generator, discriminator = mlp_gan(dim=2, nz=2, hidden=16, layers=2)
    seen = []
    config = TrainConfig(epochs=2, batch_size=64, data_repeats=2, log_every=100, progress=False,
                         device="cpu", out_dir=str(tmp_path), name="ring", num_samples=16)
    run = train_gan(generator, discriminator, ring, config,
                    callbacks=(lambda r, e: seen.append((e, r.generate(32, seed=1).shape)),))
    assert seen == [(1, (32, 2)), (2, (32, 2))]
    history = json.loads((run.dir.path / "history.json").read_text())
    assert len(history["loss_d"]) == 2 * 4 * 2
    assert all(math.isfinite(v) for v in history["loss_d"] + history["loss_g"])
    assert not (run.dir.path / "samples").exists()  # no image grids for points
    assert run.dir.checkpoint_path.is_file()


# --------------------------------------------------------------------------- theory


def test_a_trained_discriminator_approaches_the_optimal_one():
    p_data = gaussian_mixture_1d(20_000, means=(-1.0,), stds=1.0, seed=1)
    p_g = gaussian_mixture_1d(20_000, means=(1.5,), stds=0.7, seed=2)
    torch.manual_seed(0)
    _, discriminator = mlp_gan(dim=1, hidden=32, layers=2)
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=2e-3, betas=(0.5, 0.999))
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    rng = torch.Generator().manual_seed(0)
    for _ in range(1500):
        real = p_data.points[torch.randint(len(p_data), (512,), generator=rng)]
        fake = p_g.points[torch.randint(len(p_g), (512,), generator=rng)]
        discriminator_step(discriminator, real, fake, optimizer, scaler, Labels(), nullcontext)
    x = torch.linspace(-4, 4, 401)
    with torch.no_grad():
        trained = torch.sigmoid(discriminator(x[:, None]))
    best = optimal_discriminator(x, p_data, p_g)
    where = (p_data.density(x) + p_g.density(x)) / 2 > 0.02
    error = (trained - best)[where].abs()
    assert error.max() < 0.1 and error.mean() < 0.04, (error.max(), error.mean())


def test_optimal_discriminator_is_a_half_where_the_densities_agree_and_bounded():
    a = gaussian_mixture_1d(10, means=(0.0,), stds=1.0)
    b = gaussian_mixture_1d(10, means=(0.0,), stds=1.0, seed=5)
    assert torch.allclose(optimal_discriminator(torch.linspace(-3, 3, 7), a, b),
                          torch.full((7,), 0.5))
    far = gaussian_mixture_1d(10, means=(100.0,), stds=0.01)
    d = optimal_discriminator(torch.tensor([0.0, 100.0, 1e6]), a, far)
    assert d.tolist() == [1.0, 0.0, 0.5]  # 0.5 where both densities underflow


def test_minimax_gradient_vanishes_and_non_saturating_stays_as_d_of_fake_goes_to_zero():
    probs = torch.tensor([1e-1, 1e-2, 1e-4, 1e-6])
    logits = torch.log(probs / (1 - probs)).requires_grad_()
    grads = {}
    for kind in ("minimax", "non_saturating"):
        (grad,) = torch.autograd.grad(generator_loss(logits, kind) * len(logits), logits)
        grads[kind] = grad.abs()
    assert torch.allclose(grads["minimax"], probs, rtol=1e-3)  # |dL/dlogit| = D(G(z)) -> 0
    assert torch.allclose(grads["non_saturating"], 1 - probs, rtol=1e-3)  # = 1 - D(G(z)) -> 1
    assert grads["minimax"][-1] < 1e-5 and grads["non_saturating"][-1] > 0.9999
    assert torch.all(grads["minimax"][1:] < grads["minimax"][:-1])


# --------------------------------------------------------------------------- mode coverage


def test_mode_coverage_of_the_data_itself_covers_every_mode():
    ring = ring_of_gaussians(4000, std=0.02, seed=0)
    result = mode_coverage(ring.points, ring.centres, 0.02)
    assert result["modes"] == 8 and result["modes_covered"] == 8
    assert result["high_quality_share"] > 0.99  # 3 std in 2-D holds ~98.9 % of a Gaussian
    assert sum(result["counts"]) == round(result["high_quality_share"] * 4000)
    json.dumps(result)  # JSON-ready


def test_mode_coverage_of_a_collapsed_generator_counts_one_mode():
    centres = ring_centres(8, 2.0)
    one_mode = centres[3] + 0.02 * torch.randn(1000, 2, generator=torch.Generator().manual_seed(0))
    result = mode_coverage(one_mode, centres, 0.02)
    assert result["modes_covered"] == 1 and result["covered"][3]
    assert result["high_quality_share"] > 0.97 and result["counts"][3] > 970


def test_mode_coverage_of_far_away_samples_is_zero():
    far = torch.full((500, 2), 10.0) + torch.randn(500, 2)
    result = mode_coverage(far, ring_centres(), 0.02)
    assert result["modes_covered"] == 0 and result["high_quality_share"] == 0.0
    assert result["counts"] == [0] * 8


def test_mode_coverage_needs_a_minimal_share_for_a_mode_to_count():
    centres = ring_centres()
    samples = torch.cat([centres[0].expand(995, 2), centres[1].expand(5, 2)])
    assert mode_coverage(samples, centres, 0.02)["modes_covered"] == 1  # 5 < 1 % of 1000
    assert mode_coverage(samples, centres, 0.02, min_share=0.0)["modes_covered"] == 2
    with pytest.raises(ValueError, match="same d"):
        mode_coverage(torch.zeros(3, 1), centres, 0.02)


# --------------------------------------------------------------------------- widgets


def fake_run(calls):
    def run(**settings):
        calls.append(settings)
        return Figure()
    return run


def test_headless_reason_follows_the_environment_variable(monkeypatch):
    monkeypatch.setenv("LABKIT_HEADLESS", "1")
    assert "LABKIT_HEADLESS" in widgets.headless_reason()
    monkeypatch.setenv("LABKIT_HEADLESS", "0")
    assert widgets.headless_reason() is None
    monkeypatch.delenv("LABKIT_HEADLESS")
    assert widgets.headless_reason() == "not running in a Jupyter kernel"  # plain pytest


def test_executor_detection_walks_up_the_process_tree(monkeypatch):
    tree = {10: (9, ["/usr/bin/python", "-m", "ipykernel_launcher", "-f", "k.json"]),
            9: (8, ["/venv/bin/python", "/venv/bin/papermill", "in.ipynb", "out.ipynb"]),
            20: (19, ["python", "-m", "ipykernel_launcher"]),
            19: (18, ["/venv/bin/python", "/venv/bin/jupyter-lab"]),
            18: (1, ["/venv/bin/python", "-m", "pytest"])}
    monkeypatch.setattr(runtime, "_parent", lambda pid: tree.get(pid))
    assert runtime._executor_ancestor(10) == "papermill"
    assert runtime._executor_ancestor(20) is None  # stops at the Jupyter server
    assert runtime._program_names(["python", "-m", "pytest", "-q"]) == ["python", "pytest"]


def test_ring_explorer_headless_shows_one_static_figure(capsys):
    calls = []
    figure = widgets.ring_explorer(fake_run(calls), lr_g=5e-5, epochs=3, headless=True)
    assert isinstance(figure, Figure)
    assert calls == [{"loss": "non_saturating", "lr_d": 1e-3, "lr_g": 5e-5, "d_steps": 1,
                      "epochs": 3}]
    assert "Static figure instead of the interactive widget" in capsys.readouterr().out


def test_ring_explorer_interactive_builds_controls_that_retrain():
    pytest.importorskip("ipywidgets")
    calls = []
    box = widgets.ring_explorer(fake_run(calls), loss="minimax", epochs=4, headless=False)
    assert calls == []  # nothing trains until the button is pressed
    descriptions = [child.description for child in box.children[:-1]]
    assert descriptions == ["generator loss", "lr of D", "lr of G", "D steps per G", "epochs",
                            "Train"]
    box.children[3].value = 2
    box.train()
    assert calls == [{"loss": "minimax", "lr_d": 1e-3, "lr_g": 1e-3, "d_steps": 2, "epochs": 4}]
    assert box.children[-2].description == "Train" and not box.children[-2].disabled


def test_latent_explorer_headless_shows_one_static_figure(capsys):
    from matplotlib.figure import Figure

    from labkit.widgets import latent_explorer

    calls = []

    def show(a, b, t):
        calls.append((a, b, t))
        return Figure()  # not registered with pyplot: nothing left open for other tests

    figure = latent_explorer(show, seed_a=3, seed_b=7, t=0.25, headless=True)
    assert calls == [(3, 7, 0.25)] and figure is not None
    assert "Static figure instead of the interactive widget" in capsys.readouterr().out


def test_latent_explorer_interactive_redraws_on_every_control():
    from matplotlib.figure import Figure

    from labkit.widgets import latent_explorer

    calls = []
    box = latent_explorer(lambda a, b, t: calls.append((a, b, t)) or Figure(), headless=False)
    first, second, position = box.controls
    position.value = 0.75
    second.value = 9
    assert calls == [(0, 1, 0.5), (0, 1, 0.75), (0, 9, 0.75)]
