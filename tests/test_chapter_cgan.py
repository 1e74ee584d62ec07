"""labkit.chapters.cgan without training: its configuration rule, its claim logic on small fake
histories and values, its measurements and its figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats
from torch import nn

from labkit import viz
from labkit.chapters import cgan as chapter
from labkit.models import cgan

REPORT = {"batch_size": 128, "lr_d": 3e-4, "lr_g": 2e-4, "beta1": 0.9}


def optimiser(cfg) -> dict:
    return {k: getattr(cfg, k) for k in REPORT}


# --------------------------------------------------------------------------- configuration


def test_full_is_the_report_and_cpu_changes_only_the_optimiser():
    assert chapter.SEED_SETTINGS == REPORT
    full, cpu = chapter.Config.resolve("full"), chapter.Config.resolve("cpu")
    assert optimiser(full) == REPORT and full.seed_settings and full.report_optimiser
    assert (full.dataset, full.split, full.test_split, full.subset, full.epochs) == (
        "emnist", "balanced", "balanced-test", 12_800, 100)
    assert optimiser(cpu) == {"batch_size": 64, "lr_d": 2e-4, "lr_g": 2e-4, "beta1": 0.5}
    assert (cpu.dataset, cpu.image_size, cpu.epochs, cpu.data_repeats, cpu.seed_settings) == (
        "digits", 28, 12, 4, False)
    smoke = chapter.Config.resolve("smoke")
    assert (smoke.subset, smoke.epochs, smoke.eval_per_class, smoke.classifier_epochs) == (
        640, 2, 10, 1)


def test_seed_settings_sets_the_report_optimiser_except_what_is_set_by_hand():
    cfg = chapter.Config.resolve("cpu", seed_settings=True)
    assert optimiser(cfg) == REPORT and cfg.report_optimiser
    assert set(cfg.changed()) == {"seed_settings", "batch_size", "lr_d", "beta1"}
    mixed = chapter.Config.resolve("cpu", seed_settings=True, lr_d=1e-4)
    assert optimiser(mixed) == {**REPORT, "lr_d": 1e-4} and not mixed.report_optimiser
    assert optimiser(chapter.Config.resolve("cpu", seed_settings=False)) == optimiser(
        chapter.Config.resolve("cpu"))
    # full's own values are the report's: seed_settings=False keeps them unless set by hand
    assert optimiser(chapter.Config.resolve("full", seed_settings=False)) == REPORT
    assert chapter.Config.resolve("full", beta1=0.5).beta1 == 0.5


@pytest.mark.parametrize("params, message", [
    ({"image_size": 30}, "image_size=30"),
    ({"test_split": "train"}, "test_split='train' is the training split"),
    ({"dataset": "celeba"}, "dataset='celeba'"),
    ({"seed_settings": "yes"}, "seed_settings"),
    ({"eval_per_class": 0}, "eval_per_class=0"),
])
def test_bad_parameters_are_refused_with_the_name_and_value(params, message):
    with pytest.raises(ValueError, match=message):
        chapter.Config.resolve("smoke", **params)


# --------------------------------------------------------------------------- measurements


def fake_history(loss_g_by_epoch: list[float], accuracy: list[float], iters: int = 4) -> dict:
    """A history of len(loss_g_by_epoch) epochs of `iters` steps, one evaluation per epoch."""
    epochs = len(loss_g_by_epoch)
    return {
        "step": list(range(1, epochs * iters + 1)),
        "epoch": [1 + i // iters for i in range(epochs * iters)],
        "loss_g": [g + d for g in loss_g_by_epoch for d in (-0.1, 0.1, -0.05, 0.05)][
            :epochs * iters],
        "loss_d": [1.0] * (epochs * iters),
        "metrics": {"class_accuracy": [{"epoch": e + 1, "value": v}
                                       for e, v in enumerate(accuracy)]},
    }


def test_accuracy_curve_uses_the_last_step_of_each_evaluated_epoch():
    history = fake_history([2.0, 1.5, 1.2], [0.1, 0.95, 0.97])
    curve = chapter.accuracy_curve(history)
    assert [(r["epoch"], r["step"]) for r in curve] == [(1, 4), (2, 8), (3, 12)]
    assert chapter.first_reaching(curve) == curve[1]
    assert chapter.first_reaching(curve, 0.99) is None
    assert chapter.reached_text(curve) == ("The class accuracy first reached 0.9 at epoch 2 "
                                           "(step 8).")
    assert chapter.reached_text(curve, 0.99) == "The class accuracy did not reach 0.99."
    assert chapter.epoch_means(history, "loss_g") == pytest.approx({1: 2.0, 2: 1.5, 3: 1.2})


def test_requested_labels_are_the_engines_default_labels():
    assert chapter.requested_labels(7, 3).tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_spread_ratio_and_its_sentence_follow_the_outcome():
    narrow, wide = chapter.Spread(4.0, 10.0), chapter.Spread(9.5, 10.0)
    assert narrow.ratio == pytest.approx(0.4) and wide.ratio == pytest.approx(0.95)
    assert "fewer styles" in str(narrow) and "ratio 0.40" in str(narrow)
    assert "about as much" in str(wide)


class ThresholdDiscriminator(nn.Module):
    """Says 'real' (logit +5) for images brighter than 0, but only with the label 0."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(()))
        self.calls = []

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        self.calls.append((len(images), self.training))
        bright = images.flatten(1).mean(1) > 0
        return torch.where(bright & (labels == 0), 5.0, -5.0) * self.weight


def test_discriminator_verdicts_in_eval_mode_in_batches_and_acceptance():
    d = ThresholdDiscriminator().train()
    real = torch.ones(5, 1, 4, 4)
    fake = torch.cat([torch.ones(1, 1, 4, 4), -torch.ones(3, 1, 4, 4)])
    verdicts = chapter.discriminator_verdicts(d, real, torch.zeros(5, dtype=torch.long), fake,
                                              torch.zeros(4, dtype=torch.long), num_classes=3,
                                              batch_size=2)
    assert d.training and all(not training for _, training in d.calls)  # eval, then restored
    assert max(n for n, _ in d.calls) == 2
    assert chapter.acceptance(verdicts) == {"real": 1.0, "wrong_label": 0.0, "fake": 0.25}


def test_generate_mixed_with_one_hot_weights_is_generate_eval_with_labels():
    torch.manual_seed(0)
    generator, _ = cgan(5, latent_dim=8)
    generator.train()
    labels, z = torch.tensor([0, 3, 4]), torch.randn(3, 8)
    mixed = chapter.generate_mixed(generator, z, torch.eye(5)[labels])
    assert torch.allclose(mixed, viz.generate_eval(generator, z, labels))
    assert generator.training


def test_build_models_is_seeded_and_counts_match_the_report():
    class Data:
        num_classes = 10

    cfg = chapter.Config.resolve("smoke", seed=3)
    first, after_first = chapter.build_models(cfg, Data()), torch.rand(1)
    second, after_second = chapter.build_models(cfg, Data()), torch.rand(1)
    assert torch.equal(first.generator.project[0].weight, second.generator.project[0].weight)
    assert torch.equal(after_first, after_second)  # training continues from the same stream
    rows = chapter.parameter_counts(first)
    assert [r["report (Keras)"] for r in rows] == ["186,689", "2,230,865", "512"]
    assert all(r["as the report"] == "equal" for r in rows)
    trainable = sum(p.numel() for p in first.generator.parameters())
    assert rows[1]["this run, 10 classes"] == f"{trainable:,}"


# --------------------------------------------------------------------------- claims


def ladder_rows(values: dict[str, dict[int, list[float]]]) -> list[dict]:
    """Hand-made ladder rows: {rung name: {step: [class accuracy of seeds 0, 1, 2, ...]}}."""
    return [{"rung": rung, "seed": seed, "step": step, "class accuracy": value, "D(G(z))": 0.3}
            for rung, by_step in values.items() for step, seeds in by_step.items()
            for seed, value in enumerate(seeds)]


RUNGS = [r.name for r in chapter.ladder()]


def test_the_ladder_changes_one_setting_per_rung_from_the_report_to_cpu():
    rungs = chapter.ladder()
    assert [r.name for r in rungs] == ["report's optimiser", "+ beta1 0.5", "+ lr_d 0.0002",
                                       "+ batch_size 64"]
    assert rungs[0].settings == REPORT and rungs[0].factor is None
    for before, after in zip(rungs, rungs[1:]):
        assert chapter.changed_settings(before.settings, after.settings) == [after.factor]
        assert after.before == before.settings[after.factor]
    assert [r.factor for r in rungs[1:]] == ["beta1", "lr_d", "batch_size"]  # cumulative
    assert rungs[-1].settings == optimiser(chapter.Config.resolve("cpu"))
    with pytest.raises(ValueError, match="keeps the rung before's value"):
        chapter.ladder(changes=(("beta1", 0.5), ("beta1", 0.5)))
    with pytest.raises(ValueError, match="'momentum': not one of the settings"):
        chapter.ladder(changes=(("momentum", 0.5),))


def test_ladder_seeds_and_evaluation_steps_follow_the_configuration():
    cfg = chapter.Config.resolve("cpu", seed=4, ladder_seeds=3, ladder_steps=60, ladder_evals=3)
    assert chapter.ladder_seed_ids(cfg) == [4, 5, 6]
    assert chapter.ladder_eval_steps(cfg) == [20, 40, 60]
    assert chapter.Config.resolve("cpu").ladder_seeds >= 3  # a verdict needs 3 seeds
    assert chapter.Config.resolve("full").ladder_steps == chapter.REPORT_STEPS
    with pytest.raises(ValueError, match="ladder_steps must be a multiple of ladder_evals"):
        chapter.Config.resolve("cpu", ladder_steps=50, ladder_evals=3)


def welch(a: list[float], b: list[float]) -> tuple[float, float]:
    """Welch's 95 % interval of mean(b) - mean(a), computed here from its formula."""
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = scipy_stats.t.ppf(0.975, dof) * np.sqrt(va + vb)
    diff = np.mean(b) - np.mean(a)
    return diff - half, diff + half


HAND_MADE = {RUNGS[0]: {10: [0.10, 0.11, 0.09], 20: [0.10, 0.12, 0.11]},
             RUNGS[1]: {10: [0.20, 0.30, 0.25], 20: [0.50, 0.55, 0.60]},  # raised
             RUNGS[2]: {10: [0.20, 0.25, 0.30], 20: [0.52, 0.62, 0.57]},  # straddles 0
             RUNGS[3]: {10: [0.10, 0.12, 0.11], 20: [0.30, 0.32, 0.31]}}  # lowered


def test_each_rung_is_compared_with_the_one_before_by_a_welch_interval():
    rows, rungs = ladder_rows(HAND_MADE), chapter.ladder()
    comparisons = chapter.compare_rungs(rows, rungs)
    assert [c.step for c in comparisons] == [20, 20, 20]  # the last evaluation by default
    assert [c.verdict for c in comparisons] == ["raised", "inconclusive", "lowered"]
    for c, (before, after) in zip(comparisons, zip(RUNGS, RUNGS[1:])):
        a, b = HAND_MADE[before][20], HAND_MADE[after][20]
        assert (c.before, c.after) == (a, b)
        assert (c.difference.low, c.difference.high) == pytest.approx(welch(a, b))
    straddling = comparisons[1].difference
    assert straddling.low < 0 < straddling.high
    row = comparisons[0].row()
    assert row["changed"] == "beta1 0.9 → 0.5" and row["verdict"] == "raised"
    assert chapter.compare_rungs(rows, rungs, step=10)[0].step == 10
    text = chapter.which_factor(comparisons)
    assert text.startswith("At step 20, Adam's β1 (0.9 → 0.5) raised the class accuracy by")
    assert "the batch size (128 → 64) lowered the class accuracy" in text
    assert "the change of D's learning rate made no difference the intervals can tell" in text


def test_the_ladder_compares_d_of_g_of_z_the_same_way():
    rows = ladder_rows(HAND_MADE)
    d_of_g = {RUNGS[0]: [0.02, 0.03, 0.04], RUNGS[1]: [0.30, 0.35, 0.40],  # D wins, then not
              RUNGS[2]: [0.40, 0.30, 0.36], RUNGS[3]: [0.33, 0.38, 0.31]}
    for row in rows:
        row["D(G(z))"] = d_of_g[row["rung"]][row["seed"]]
    comparisons = chapter.compare_rungs(rows, chapter.ladder(), key="D(G(z))")
    assert [c.verdict for c in comparisons] == ["raised", "inconclusive", "inconclusive"]
    assert comparisons[0].difference.mean == pytest.approx(0.32)
    assert comparisons[0].row()["measure"] == "D(G(z))"
    assert "β1 (0.9 → 0.5) raised D's mean probability that a fake is real" in (
        chapter.which_factor(comparisons))


def test_a_comparison_with_one_seed_or_no_difference_is_inconclusive():
    one_seed = {name: {20: [v]} for name, v in zip(RUNGS, (0.1, 0.9, 0.9, 0.2))}
    comparisons = chapter.compare_rungs(ladder_rows(one_seed), chapter.ladder())
    assert [c.verdict for c in comparisons] == ["inconclusive"] * 3
    assert chapter.which_factor(comparisons).startswith("At step 20 no single change moved")
    claim = chapter.ladder_claim(comparisons[0], profile="cpu", seed_ids=[0], setting="x")
    assert (claim.verdict, claim.seeds, claim.low, claim.high) == ("inconclusive", 1, None, None)


def test_rungs_that_differ_in_two_settings_are_refused():
    first = chapter.Rung("a", dict(REPORT))
    second = chapter.Rung("b", {**REPORT, "beta1": 0.5, "lr_d": 2e-4}, "beta1", 0.9)
    rows = ladder_rows({"a": {20: [0.1, 0.2]}, "b": {20: [0.3, 0.4]}})
    with pytest.raises(ValueError, match=r"differ in \['beta1', 'lr_d'\], not in one factor"):
        chapter.compare_rungs(rows, [first, second])


def test_ladder_claims_carry_the_interval_seeds_and_verdict():
    comparisons = chapter.compare_rungs(ladder_rows(HAND_MADE), chapter.ladder())
    made = [chapter.ladder_claim(c, profile="cpu", seed_ids=[0, 1, 2], setting="digits")
            for c in comparisons]
    assert [c.id for c in made] == ["ladder_beta1", "ladder_lr_d", "ladder_batch_size"]
    assert [c.verdict for c in made] == ["supported", "inconclusive", "refuted"]
    for claim, comparison in zip(made, comparisons):
        assert (claim.seeds, claim.seed_ids) == (3, [0, 1, 2])
        assert (claim.value, claim.low, claim.high) == pytest.approx(
            (comparison.difference.mean, comparison.difference.low, comparison.difference.high))
        assert "(digits" in claim.measurement
    assert "changing only Adam's β1 from 0.9 to 0.5 raised" in made[0].why


def test_ladder_curves_give_the_t_interval_over_seeds():
    curves = chapter.ladder_curves(ladder_rows(HAND_MADE), chapter.ladder())
    first = curves[0]
    assert (first["rung"], first["step"], first["seeds"]) == (RUNGS[0], 10, 3)
    values = HAND_MADE[RUNGS[0]][10]
    half = 4.303 * np.std(values, ddof=1) / np.sqrt(3)  # t(0.975, 2 dof) = 4.30
    assert first["class accuracy"] == pytest.approx(0.10)
    assert (first["low"], first["high"]) == pytest.approx((0.10 - half, 0.10 + half), abs=1e-4)
    rows = ladder_rows(HAND_MADE)  # D(G(z)) 0.2, 0.3, 0.4 over seeds 0, 1, 2: its own interval
    for row in rows:
        row["D(G(z))"] = 0.2 + 0.1 * row["seed"]
    contest = chapter.ladder_curves(rows, chapter.ladder())[0]
    half = 4.303 * 0.1 / np.sqrt(3)
    assert contest["D(G(z))"] == pytest.approx(0.3)
    assert (contest["D(G(z)) low"], contest["D(G(z)) high"]) == pytest.approx(
        (0.3 - half, 0.3 + half), abs=1e-4)
    one = chapter.ladder_curves([r for r in rows if r["seed"] == 0], chapter.ladder())[0]
    assert one["seeds"] == 1 and np.isnan(one["D(G(z)) low"]) and np.isnan(one["high"])
    fig = chapter.plot_ladder(curves, 0.1)
    assert len(fig.axes[0].get_legend().get_texts()) == 5  # four rungs and chance


def test_more_epochs_is_judged_by_each_seeds_gain_from_half_way_to_the_end():
    assert chapter.earlier_step([16, 32, 48]) == 16
    assert chapter.earlier_step([2000, 4000, 6000, 8000, 10_000]) == 4000
    assert chapter.earlier_step([1, 2]) == 1
    rising = ladder_rows({RUNGS[0]: {10: [0.1, 0.1, 0.12], 20: [0.3, 0.35, 0.4]}})
    claim = chapter.more_epochs_claim(rising, RUNGS[0], profile="cpu", seed_ids=[0, 1, 2],
                                      setting="x")
    gains = [0.2, 0.25, 0.28]
    half = 4.303 * np.std(gains, ddof=1) / np.sqrt(3)
    assert claim.verdict == "supported" and claim.value == pytest.approx(np.mean(gains))
    assert (claim.low, claim.high) == pytest.approx((np.mean(gains) - half,
                                                     np.mean(gains) + half), abs=1e-3)
    assert "rose by" in claim.why and "not yet fixed" in claim.why
    assert "20 steps, fewer than the report's 10,000" in claim.why
    flat = ladder_rows({RUNGS[0]: {10: [0.1, 0.12, 0.09], 20: [0.11, 0.1, 0.1]}})
    claim = chapter.more_epochs_claim(flat, RUNGS[0], profile="cpu", seed_ids=[0, 1, 2],
                                      setting="x")
    assert claim.verdict == "inconclusive" and claim.leaning is None
    assert "does not exclude 0" in claim.why
    falling = ladder_rows({RUNGS[0]: {10: [0.5, 0.6, 0.55], 20: [0.1, 0.12, 0.11]}})
    assert chapter.more_epochs_claim(falling, RUNGS[0], profile="full", seed_ids=[0, 1, 2],
                                     setting="x").verdict == "refuted"
    few = chapter.more_epochs_claim(rising, RUNGS[0], profile="cpu", seed_ids=[0, 1, 2][:3],
                                    setting="x")
    assert few.seed_ids == [0, 1, 2]


def test_the_ladder_budget_sentence_follows_this_runs_curve():
    class Data:
        num_classes = 10

        class train:
            name = "digits"

    cfg = chapter.Config.resolve("cpu", ladder_steps=48, ladder_evals=3)
    late = [{"epoch": 1, "step": 88, "class accuracy": 0.1},
            {"epoch": 4, "step": 352, "class accuracy": 0.3}]
    assert "at step 352, after the 48 steps" in chapter.ladder_budget_text(cfg, Data, late)
    early = [{"epoch": 1, "step": 40, "class accuracy": 0.5}]
    assert "within the 48 steps" in chapter.ladder_budget_text(cfg, Data, early)
    assert "never rose above twice chance" in chapter.ladder_budget_text(cfg, Data, late[:1])


@pytest.mark.parametrize("fake, leaning, says", [(0.02, "supported", "so it does tell"),
                                                 (0.4, "refuted", "so it does not tell")])
def test_discriminator_claim_is_judged_by_the_share_of_fakes_it_accepts(fake, leaning, says):
    shares = {"real": 0.9, "wrong_label": 0.3, "fake": fake}
    claim = chapter.discriminator_claim(shares, 0.5, profile="cpu", seed_ids=[0])
    assert (claim.verdict, claim.leaning, claim.value) == ("inconclusive", leaning, fake)
    assert says in claim.why and "Loss_D was 0.500 (Keras d_loss 0.250)" in claim.why
    assert "from 90% to 30%: D checks the label" in claim.why
    assert chapter.discriminator_claim(shares, 0.5, profile="cpu",
                                       seed_ids=[0, 1, 2]).verdict == leaning
    blind = chapter.discriminator_claim({**shares, "wrong_label": 0.85}, 0.5, profile="cpu",
                                        seed_ids=[0])
    assert "D hardly checks the label" in blind.why


def test_generator_loss_claim_uses_the_lowest_epoch_mean():
    above = fake_history([2.0, 1.2], [0.1, 0.5])
    claim = chapter.generator_loss_claim(above, chapter.accuracy_curve(above), profile="cpu",
                                         seed_ids=[0, 1, 2])
    assert claim.verdict == "supported" and claim.value == pytest.approx(1.2)
    assert "stayed above 1 (lowest 1.20)" in claim.why and "from 0.10 to 0.50" in claim.why
    below = fake_history([2.0, 0.8, 0.9], [0.1, 0.6, 0.9])
    claim = chapter.generator_loss_claim(below, chapter.accuracy_curve(below), profile="cpu",
                                         seed_ids=[5])
    assert claim.seed_ids == [5]
    assert (claim.verdict, claim.leaning) == ("inconclusive", "refuted")
    assert claim.value == pytest.approx(0.8)
    assert "below 1 in epoch 2" in claim.why and "class accuracy was 0.60" in claim.why


def test_smoothing_claim_says_this_run_cannot_test_it():
    plain = chapter.smoothing_claim(chapter.Config.resolve("cpu"))
    assert plain.verdict == "inconclusive" and plain.value is None and plain.leaning is None
    assert plain.why.startswith("not tested") and "no smoothing" in plain.why
    assert (plain.seeds, plain.seed_ids) == (1, [0])
    smoothed = chapter.smoothing_claim(chapter.Config.resolve("cpu", real_label=0.9))
    assert "real_label=0.9" in smoothed.why and ": smoothed" in smoothed.why


# --------------------------------------------------------------------------- figures (from viz)


def test_class_accuracy_bars_and_reference_lines(tmp_path):
    per_class = {"0": 1.0, "1": 0.5, "2": 0.25}
    fig = chapter.plot_class_accuracy(per_class, overall=0.6, chance=0.1,
                                      path=tmp_path / "acc.png")
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [1.0, 0.5, 0.25]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["all classes: 0.60", "chance: 0.10"]
    assert (tmp_path / "acc.png").is_file()
    with pytest.raises(ValueError, match="no classes"):
        chapter.plot_class_accuracy({})


def test_confusion_matrix_rows_are_requested_classes(tmp_path):
    requested = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2])
    predicted = torch.tensor([0, 0, 0, 1, 1, 1, 0, 2])
    counts = chapter.confusion_matrix(requested, predicted, 3)
    assert counts.tolist() == [[3, 1, 0], [0, 2, 0], [1, 0, 1]]
    fig = chapter.plot_confusion_matrix(requested, predicted, ["a", "b", "c"],
                                        path=tmp_path / "cm.png")
    ax = fig.axes[0]
    shares = ax.images[0].get_array()
    assert np.allclose(shares, [[0.75, 0.25, 0], [0, 1, 0], [0.5, 0, 0.5]])
    assert "0.75" in [t.get_text() for t in ax.texts]
    assert (tmp_path / "cm.png").is_file()
    many = chapter.plot_confusion_matrix(torch.arange(47), torch.arange(47), list(range(47)))
    assert len(many.axes[0].texts) == 0  # too many classes to write the shares
