"""labkit.chapters.cgan without training: its configuration rule, its claim logic on small fake
histories and values, its measurements and its figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
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


def curve_reaching(step: int | None, last: float = 0.95) -> list[dict]:
    rows = [{"epoch": 1, "step": 100, "class accuracy": 0.1}]
    if step is not None:
        rows.append({"epoch": 2, "step": step, "class accuracy": last})
    return rows


def test_more_epochs_is_refuted_when_recognisable_within_the_reports_steps():
    claim = chapter.more_epochs_claim(curve_reaching(792), 1_056, profile="cpu", setting="x")
    assert (claim.verdict, claim.leaning, claim.value, claim.seeds) == (
        "inconclusive", "refuted", 792, 1)
    assert "step 792, within the report's 10,000" in claim.why
    with_seeds = chapter.more_epochs_claim(curve_reaching(792), 1_056, profile="cpu",
                                           setting="x", seeds=3)
    assert with_seeds.verdict == "refuted"
    assert "(x)" in with_seeds.measurement


def test_more_epochs_is_supported_when_recognisable_only_after_the_reports_steps():
    claim = chapter.more_epochs_claim(curve_reaching(12_000), 12_000, profile="full",
                                      setting="x", seeds=3)
    assert claim.verdict == "supported" and "12,000" in claim.why


def test_more_epochs_cannot_tell_when_never_recognisable():
    short = chapter.more_epochs_claim(curve_reaching(None), 528, profile="cpu", setting="x",
                                      seeds=3)
    assert short.verdict == "inconclusive" and short.leaning is None and short.value is None
    assert "stopped after 528 steps" in short.why and "0.10" in short.why
    long = chapter.more_epochs_claim(curve_reaching(None), 10_000, profile="full", setting="x",
                                     seeds=3)
    assert long.verdict == "inconclusive" and "stayed below 0.9 for all 10,000 steps" in long.why


@pytest.mark.parametrize("fake, leaning, says", [(0.02, "supported", "so it does tell"),
                                                 (0.4, "refuted", "so it does not tell")])
def test_discriminator_claim_is_judged_by_the_share_of_fakes_it_accepts(fake, leaning, says):
    shares = {"real": 0.9, "wrong_label": 0.3, "fake": fake}
    claim = chapter.discriminator_claim(shares, 0.5, profile="cpu")
    assert (claim.verdict, claim.leaning, claim.value) == ("inconclusive", leaning, fake)
    assert says in claim.why and "Loss_D was 0.500 (Keras d_loss 0.250)" in claim.why
    assert "from 90% to 30%: D checks the label" in claim.why
    assert chapter.discriminator_claim(shares, 0.5, profile="cpu", seeds=3).verdict == leaning
    blind = chapter.discriminator_claim({**shares, "wrong_label": 0.85}, 0.5, profile="cpu")
    assert "D hardly checks the label" in blind.why


def test_generator_loss_claim_uses_the_lowest_epoch_mean():
    above = fake_history([2.0, 1.2], [0.1, 0.5])
    claim = chapter.generator_loss_claim(above, chapter.accuracy_curve(above), profile="cpu",
                                         seeds=3)
    assert claim.verdict == "supported" and claim.value == pytest.approx(1.2)
    assert "stayed above 1 (lowest 1.20)" in claim.why and "from 0.10 to 0.50" in claim.why
    below = fake_history([2.0, 0.8, 0.9], [0.1, 0.6, 0.9])
    claim = chapter.generator_loss_claim(below, chapter.accuracy_curve(below), profile="cpu")
    assert (claim.verdict, claim.leaning) == ("inconclusive", "refuted")
    assert claim.value == pytest.approx(0.8)
    assert "below 1 in epoch 2" in claim.why and "class accuracy was 0.60" in claim.why


def test_smoothing_claim_says_this_run_cannot_test_it():
    plain = chapter.smoothing_claim(chapter.Config.resolve("cpu"))
    assert plain.verdict == "inconclusive" and plain.value is None and plain.leaning is None
    assert plain.why.startswith("not tested") and "no smoothing" in plain.why
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
