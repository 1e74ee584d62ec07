"""Chapter 1's module without training: its configuration, the outcome rules (mode collapse,
the 1-D equilibrium), the sentences they choose, the claims' rules and the figures."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from labkit.chapters import theory
from labkit.data import gaussian_mixture_1d

# --------------------------------------------------------------------------- configuration


def test_profiles_keep_the_values_of_the_former_profile_table():
    cpu = theory.Config.resolve("cpu")
    assert (cpu.points, cpu.batch_size, cpu.hidden, cpu.layers, cpu.dstar_steps,
            cpu.dstar_seeds) == (2048, 256, 128, 3, 1500, 3)
    assert (cpu.mixture_epochs, cpu.ring_epochs, cpu.data_repeats, cpu.eval_samples,
            cpu.explorer_epochs, cpu.device) == (12, 20, 25, 2500, 10, "cpu")
    assert cpu.ring_settings == theory.RING_SETTINGS[:3]
    full = theory.Config.resolve("full")
    assert (full.dstar_steps, full.mixture_epochs, full.ring_epochs, full.explorer_epochs) == (
        3000, 20, 40, 20) and full.ring_settings == theory.RING_SETTINGS
    smoke = theory.Config.resolve("smoke")
    assert [s["label"] for s in smoke.ring_settings] == ["non-saturating", "slow G (lr_g 5e-5)"]
    assert (smoke.points, smoke.hidden, smoke.layers, smoke.ring_epochs) == (1024, 64, 2, 8)


@pytest.mark.parametrize(("params", "message"), [
    ({"ring_std": 0.0}, "ring_std=0.0 must be positive"),
    ({"batch_size": 4096}, "batch_size=4096 must not exceed points=1024"),
    ({"loss": "wasserstein"}, "loss='wasserstein'"),
    ({"ring_settings": []}, "at least one setting"),
    ({"ring_settings": [{"label": "a", "loss": "non_saturating", "lr_d": 1e-3}]},
     r"lacks \['lr_g'\]"),
    ({"ring_settings": [{"label": "a", "loss": "quadratic", "lr_d": 1e-3, "lr_g": 1e-3}]},
     "loss 'quadratic'"),
    ({"ring_settings": [{"label": "A b", "loss": "minimax", "lr_d": 1e-3, "lr_g": 1e-3},
                        {"label": "a-B", "loss": "minimax", "lr_d": 1e-3, "lr_g": 1e-3}]},
     "must differ"),
])
def test_bad_parameters_are_refused_with_the_parameter_named(params, message):
    with pytest.raises(ValueError, match=message):
        theory.Config.resolve("smoke", **params)


def test_check_ready_refuses_a_setting_the_engine_would_refuse():
    cfg = theory.Config.resolve("smoke", ring_settings=[
        {"label": "frozen D", "loss": "minimax", "lr_d": 0.0, "lr_g": 1e-3}])
    with pytest.raises(ValueError, match="lr_d must be a learning rate"):
        theory.check_ready(cfg)
    theory.check_ready(theory.Config.resolve("smoke"))


def test_ring_run_names_are_folder_names():
    assert theory.ring_run_name("slow G (lr_g 5e-5)") == "ring-slow-g-lr-g-5e-5"
    assert theory.ring_run_name("2 D steps per G step") == "ring-2-d-steps-per-g-step"


# --------------------------------------------------------------------------- outcome rules


def coverage(modes_covered: int, share: float) -> dict:
    return {"modes_covered": modes_covered, "high_quality_share": share, "modes": 8}


@pytest.mark.parametrize(("covered", "share", "low", "outcome"), [
    (2, 0.95, 2, "collapse"),  # few modes, yet nearly every sample on one: good points, few kinds
    (2, 0.80, 1, "collapse"),  # the 80 % boundary counts as collapse
    (5, 0.79, 0, "unconverged"),  # few modes and mass between them
    (8, 0.95, 3, "unstable"),  # all modes at the end only
    (8, 0.95, 8, "covered"),
    (8, 0.30, 8, "covered"),  # coverage, not sample quality, decides "covered"
])
def test_verdict_follows_the_rule(covered, share, low, outcome):
    found, sentence = theory.verdict(coverage(covered, share), low, 8)
    assert found == outcome
    assert f"{covered} of 8" in sentence or "all 8" in sentence


def row(label: str, outcome: str) -> dict:
    return {"label": label, "loss": "non_saturating", "lr_d": 1e-3, "lr_g": 1e-3, "d_steps": 1,
            "iterations": 100, "outcome": outcome, "verdict": f"{outcome} sentence"}


def test_findings_are_chosen_by_the_outcomes():
    lines = theory.findings([row("a", "collapse"), row("b", "unstable"), row("c", "covered")])
    assert lines[:3] == [f"- {x} (non_saturating, lr_d 0.001, lr_g 0.001, 1 D step(s) per G "
                         f"step, 100 iterations): {o} sentence."
                         for x, o in (("a", "collapse"), ("b", "unstable"), ("c", "covered"))]
    assert "collapsed under a but reached all 8 modes under c, b" in lines[3]
    assert "Coverage fell during the second half under b" in lines[4]
    assert len(lines) == 5  # nothing is unconverged: no sentence about it
    only = theory.findings([row("a", "collapse"), row("d", "unconverged")])
    assert "Mode collapse in this run: a; no setting reached all 8 modes." in only
    assert any("Still spreading mass between modes at the end: d" in s for s in only)
    none = theory.findings([row("c", "covered")])
    assert none[-1].startswith("No setting collapsed in this run")


def test_equilibrium_outcome_needs_log4_and_matching_densities():
    assert theory.equilibrium_outcome(math.log(4) + 0.01, 0.05)[0] == "equilibrium"
    assert theory.equilibrium_outcome(math.log(4) - 0.04, 0.3)[0] == "undetected"
    assert theory.equilibrium_outcome(1.2, 0.05)[0] == "separating"  # D still separates


# --------------------------------------------------------------------------- claims


def fake_optimal(error: float, identity_gap: float) -> theory.OptimalD:
    """An OptimalD whose trained D is off by `error` and whose V(D*) misses Theorem 1 by
    `identity_gap`."""
    x = np.linspace(-6, 6, 13)
    d_star = np.full(13, 0.5)
    jsd = 0.2
    return theory.OptimalD(x=x, dens_data=np.ones(13), dens_g=np.ones(13), d_star=d_star,
                           d_trained=d_star + error, support=np.ones(13, dtype=bool), jsd=jsd,
                           value_star=-math.log(4) + 2 * jsd + identity_gap, value_trained=-1.2)


def claims_of(*errors: float, identity_gap: float = 1e-5, first_seed: int = 0) -> dict:
    """The claims of trained discriminators off D* by `errors`, one per training seed."""
    cfg = theory.Config.resolve("smoke")
    optima = {first_seed + i: fake_optimal(e, identity_gap) for i, e in enumerate(errors)}
    return {c.id: c for c in theory.claims(optima, cfg)}


def test_claims_supported_when_the_theory_holds():
    found = claims_of(0.01, 0.012, 0.011)
    assert found["value_at_optimum"].verdict == "supported"
    assert found["saturation"].verdict == "supported"
    assert found["saturation"].value == pytest.approx(1e-3, rel=0.01)  # D(G(z)) / (1 - D(G(z)))
    for exact in ("value_at_optimum", "saturation"):  # no training: no seeds
        assert found[exact].deterministic and found[exact].seeds == 0
        assert found[exact].seed_ids is None
    trained = found["optimal_d"]
    assert trained.verdict == "supported" and trained.seeds == 3 and not trained.deterministic
    assert trained.seed_ids == [0, 1, 2]
    assert all(c.seed_report == "gan-2014" for c in found.values())


def test_one_trained_discriminator_leans_but_decides_nothing():
    found = claims_of(0.01, first_seed=7)
    trained = found["optimal_d"]
    assert trained.verdict == "inconclusive" and trained.leaning == "supported"
    assert trained.seeds == 1 and trained.seed_ids == [7]
    assert "1 training seed" in trained.why
    with pytest.raises(ValueError, match="at least one trained discriminator"):
        theory.claims({}, theory.Config.resolve("smoke"))


def test_the_interval_is_student_t_over_the_seeds_not_over_the_grid():
    # Per seed, the error is the same at all 13 grid points: an interval over the points
    # would be [e, e]. Over the 3 seeds: mean 0.02, sd 0.01, t(0.975, 2) = 4.303.
    trained = claims_of(0.01, 0.02, 0.03)["optimal_d"]
    half = 4.302653 * 0.01 / math.sqrt(3)
    assert trained.value == pytest.approx(0.02)
    assert (trained.low, trained.high) == (pytest.approx(0.02 - half), pytest.approx(0.02 + half))
    assert trained.verdict == "supported"  # the whole interval lies below 0.05
    # One seed far off: the same mean error spreads the interval across the tolerance.
    spread = claims_of(0.01, 0.02, 0.09)["optimal_d"]
    assert spread.value == pytest.approx(0.04) and spread.verdict == "inconclusive"
    assert spread.leaning is None and "straddles 0.05" in spread.why


def test_claims_refuted_when_the_numbers_contradict_the_theory():
    found = claims_of(0.2, 0.21, 0.19, identity_gap=0.01)
    identity = found["value_at_optimum"]
    assert identity.verdict == "refuted" and identity.deterministic  # no seed rule applies
    assert identity.value == pytest.approx(0.01) and "above 0.001" in identity.why
    assert found["optimal_d"].verdict == "refuted" and found["optimal_d"].seeds == 3
    assert found["optimal_d"].value == pytest.approx(0.2)


def test_the_seeds_of_the_dstar_experiment():
    assert theory.Config.resolve("cpu").dstar_seeds == 3
    assert theory.dstar_seed_ids(theory.Config.resolve("cpu")) == [0, 1, 2]
    assert theory.dstar_seed_ids(theory.Config.resolve("smoke", seed=5)) == [5, 6, 7]
    assert theory.dstar_seed_ids(theory.Config.resolve("full")) == [0, 1, 2, 3, 4]


def test_the_identity_holds_on_the_chapters_grid_for_any_pair_of_densities():
    p_data = gaussian_mixture_1d(10, means=(-1.0, 1.5), stds=0.5)
    p_g = gaussian_mixture_1d(10, means=(0.0,), stds=1.0)
    critic = torch.nn.Linear(1, 1)  # any discriminator: V at it can only be below V at D*
    opt = theory.compare_with_optimal(lambda x: critic(x)[:, 0], p_data, p_g)
    assert abs(opt.value_star - opt.identity) < theory.IDENTITY_TOLERANCE
    assert opt.value_trained <= opt.value_star


def test_gradient_rows_show_the_minimax_loss_saturating():
    rows = theory.gradient_rows((0.5, 1e-4))
    assert rows[0]["|dL/dlogit| minimax"] == pytest.approx(0.5)
    assert rows[1]["|dL/dlogit| minimax"] == pytest.approx(1e-4, rel=1e-3)
    assert rows[1]["|dL/dlogit| non-saturating"] == pytest.approx(1 - 1e-4, rel=1e-4)


# --------------------------------------------------------------------------- figures


def fake_toy(setting: dict, epochs: int = 4, dim: int = 2, collapse: bool = False):
    """A ToyRun over a stand-in run: snapshots and coverage in its history, as train_toy
    leaves them."""
    centres = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    points = (centres[torch.arange(50) % (1 if collapse else 2)] + 0.01 * torch.randn(50, 2))
    points = points[:, :dim]
    history = {"epochs": [{"iterations": 10}] * epochs,
               "snapshots": {str(e): points.tolist() for e in (1, epochs)},
               "metrics": {"modes_covered": [
                   {"epoch": e, "modes": 8, "modes_covered": min(e, 8),
                    "high_quality_share": 0.5, "value": min(e, 8)}
                   for e in range(1, epochs + 1)]}}
    return theory.ToyRun(SimpleNamespace(history=history), setting)


def test_ring_figures_have_one_row_per_setting_and_save_pngs(tmp_path):
    from labkit.data import ring_of_gaussians

    ring = ring_of_gaussians(100, seed=0)
    runs = [fake_toy({"label": "a"}), fake_toy({"label": "b"}, collapse=True)]
    figure = theory.plot_ring_over_training(runs, ring, 50, tmp_path / "ring.png")
    assert isinstance(figure, Figure) and len(figure.axes) == 2 * 3  # real + 2 snapshots each
    assert figure.axes[1].get_title() == "iter 10: 1/8 modes, 50% HQ"
    assert figure.axes[2].get_title() == "iter 40: 4/8 modes, 50% HQ"
    curves = theory.plot_coverage_curves(runs, tmp_path / "curves.png")
    left = curves.axes[0]
    assert [line.get_label() for line in left.get_lines()] == ["a", "b"]
    assert list(left.get_lines()[0].get_xdata()) == [10, 20, 30, 40]
    for name in ("ring.png", "curves.png"):
        with Image.open(tmp_path / name) as image:
            assert image.width > 300


def test_density_figure_shows_each_snapshot_over_the_true_density(tmp_path):
    data = gaussian_mixture_1d(200, means=(-3.0, 0.0, 3.0), stds=0.4, seed=0)
    toy = fake_toy({"label": "1-D"}, epochs=3, dim=1)
    figure = theory.plot_density_over_training(toy, data, tmp_path / "density.png")
    assert [ax.get_title() for ax in figure.axes] == ["epoch 1 (10 iterations)",
                                                      "epoch 3 (30 iterations)"]
    assert (tmp_path / "density.png").stat().st_size > 1000


def test_summary_is_an_html_table_of_the_rows():
    cfg = theory.Config.resolve("smoke")
    rows = [{**row("a", "collapse"), "modes": 8, "modes_covered": 2, "high_quality_share": 0.9,
             "min_modes_covered_second_half": 2}]
    html = theory.summary(rows, cfg).data
    assert html.startswith("<table>") and "<td>2/8</td>" in html and "collapse" in html
    assert "smoke profile" in html
