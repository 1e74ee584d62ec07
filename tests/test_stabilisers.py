"""Chapter 7's stabilisers as options of the engine: losses, gradient penalties, spectral norm,
EMA, DiffAugment, TTUR — each checked on values computed by hand and through real training."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labkit.data import synthetic_blobs
from labkit.models import dcgan
from labkit.models.dcgan import Discriminator, apply_spectral_norm
from labkit.train import Labels, TrainConfig, discriminator_step, engine, generator_step, train_gan
from labkit.train import checkpoint as ckpt
from labkit.train.augment import DiffAugment, color, cutout, translation
from labkit.train.device import autocast
from labkit.train.ema import EMA, recalibrate_batchnorm
from labkit.train.losses import (
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    r1_penalty,
)

FAST = dict(batch_size=16, log_every=2, progress=False, num_samples=16)


@pytest.fixture
def blobs():
    return synthetic_blobs(n=64, image_size=32, channels=1, seed=0)


def tiny_gan(seed: int = 0, **options):
    torch.manual_seed(seed)
    return dcgan(image_size=32, channels=1, nz=16, ngf=8, ndf=8, **options)


def no_amp():
    return autocast(torch.device("cpu"), None)


class Squares(nn.Module):
    """A critic D(x) = a · Σ x² per sample, so ∇ₓD = 2a·x: every penalty is known by hand."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(1.0))

    def forward(self, x):
        return self.a * x.flatten(1).pow(2).sum(1)


# --- losses on hand values ------------------------------------------------------------------

REAL = torch.tensor([2.0, 0.5, -1.0])
FAKE = torch.tensor([-2.0, 0.3])


def test_hinge_wgan_and_least_squares_losses_on_hand_values():
    # hinge: D = mean(relu(1 - r)) + mean(relu(1 + f)) = (0 + 0.5 + 2)/3 + (0 + 1.3)/2
    assert discriminator_loss(REAL, FAKE, "hinge").item() == pytest.approx(2.5 / 3 + 0.65)
    assert generator_loss(FAKE, "hinge").item() == pytest.approx(0.85)
    # WGAN: D = mean(f) - mean(r) = -0.85 - 0.5; G = -mean(f)
    assert discriminator_loss(REAL, FAKE, "wgan_gp").item() == pytest.approx(-1.35)
    assert generator_loss(FAKE, "wgan_gp").item() == pytest.approx(0.85)
    # LSGAN: D = ½ mean((r-1)²) + ½ mean(f²) = ½ (1 + .25 + 4)/3 + ½ (4 + .09)/2
    assert discriminator_loss(REAL, FAKE, "lsgan").item() == pytest.approx(0.875 + 1.0225)
    assert discriminator_loss(REAL, FAKE, "lsgan", 0.9, 0.1).item() == pytest.approx(
        0.5 * ((REAL - 0.9) ** 2).mean().item() + 0.5 * ((FAKE - 0.1) ** 2).mean().item())
    assert generator_loss(FAKE, "lsgan").item() == pytest.approx(0.5 * (9 + 0.49) / 2)
    with pytest.raises(ValueError, match="hinge"):
        discriminator_loss(REAL, FAKE, "wasserstein")


def test_the_default_loss_is_exactly_todays_binary_cross_entropy():
    bce = F.binary_cross_entropy_with_logits
    expected = (bce(REAL, torch.full_like(REAL, 0.9)) + bce(FAKE, torch.full_like(FAKE, 0.1)))
    assert torch.equal(discriminator_loss(REAL, FAKE, "non_saturating", 0.9, 0.1), expected)
    assert torch.equal(generator_loss(FAKE), bce(FAKE, torch.ones_like(FAKE)))


def test_default_training_reproduces_the_losses_recorded_before_the_stabilisers(blobs,
                                                                                tmp_path):
    # Recorded at commit fbaac3e (before this module existed) with the same seeds and settings.
    loss_d = [1.294382, 1.242789, 1.200648, 1.199512, 1.129418, 1.083312, 1.01528, 1.023597]
    loss_g = [0.865408, 0.901486, 0.802546, 0.840585, 0.809052, 0.791127, 0.859821, 0.890644]
    run = train_gan(*tiny_gan(), blobs, epochs=2, out_dir=tmp_path, **FAST)
    assert run.history["loss_d"] == pytest.approx(loss_d, abs=2e-5)
    assert run.history["loss_g"] == pytest.approx(loss_g, abs=2e-5)
    assert "penalty" not in run.history and run.ema is None


# --- gradient penalties ---------------------------------------------------------------------

def test_gradient_penalty_on_a_hand_computed_case():
    critic = Squares()
    real = torch.tensor([[3.0, 0.0], [0.0, 0.0]]).view(2, 1, 1, 2)
    fake = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).view(2, 1, 1, 2)
    eps = torch.tensor([0.5, 0.25])
    # x̂ = (2, 0) and (0, 0.75); ∇D = 2x̂ with norms 4 and 1.5: ((4-1)² + (1.5-1)²)/2
    penalty = gradient_penalty(critic, real, fake, eps=eps)
    assert penalty.item() == pytest.approx((9 + 0.25) / 2)
    # trained through: d/da mean((2a|x̂| - 1)²) = mean(2(2a|x̂| - 1)·2|x̂|) = (24 + 1.5)/2
    penalty.backward()
    assert critic.a.grad.item() == pytest.approx(12.75)


def test_gradient_penalty_of_a_linear_critic_is_its_weight_norm_minus_one_squared():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(4, 1, bias=False))
    with torch.no_grad():
        critic[1].weight.copy_(torch.tensor([[1.0, 2.0, 2.0, 0.0]]))  # norm 3
    real, fake = torch.randn(5, 1, 2, 2), torch.randn(5, 1, 2, 2)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(4.0)


def test_r1_on_a_hand_case_and_its_weight_in_the_step():
    real = torch.tensor([[1.0, 2.0], [0.0, 0.5]]).view(2, 1, 1, 2).requires_grad_(True)
    critic = Squares()
    # ∇D = 2x: ‖·‖² = 4·5 and 4·0.25, mean 10.5
    assert r1_penalty(critic(real), real).item() == pytest.approx(10.5)
    opt = torch.optim.SGD(critic.parameters(), lr=0.0)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    penalty = {}
    loss, _, _ = discriminator_step(critic, real.detach(), torch.zeros(2, 1, 1, 2), opt, scaler,
                                    Labels(), no_amp, r1_weight=2.5, penalty=penalty)
    assert penalty["value"].item() == pytest.approx(2.5 * 10.5)
    bce = F.binary_cross_entropy_with_logits
    logits = critic(real.detach())
    expected = bce(logits, torch.ones(2)) + bce(torch.zeros(2), torch.zeros(2))
    assert loss.item() == pytest.approx(expected.item())  # the loss is reported without it


def test_lazy_r1_is_applied_every_k_updates_weighted_by_k(blobs, tmp_path, monkeypatch):
    weights = []
    real_step = engine.discriminator_step

    def spy(*args, **kwargs):
        weights.append(kwargs["r1_weight"])
        return real_step(*args, **kwargs)

    monkeypatch.setattr(engine, "discriminator_step", spy)
    run = train_gan(*tiny_gan(), blobs, epochs=2, r1_gamma=0.2, r1_every=3, d_steps=2,
                    out_dir=tmp_path, **FAST)
    # 8 iterations × 2 D updates; updates 0, 3, 6, ... carry γ/2 · k = 0.3
    assert weights == pytest.approx([0.3 if u % 3 == 0 else 0.0 for u in range(16)])
    penalties = run.history["penalty"]  # the last D update of each iteration: 1, 3, 5, ...
    assert [p > 0 for p in penalties] == [(2 * i + 1) % 3 == 0 for i in range(8)]


# --- spectral normalisation -----------------------------------------------------------------

def test_spectral_norm_makes_the_largest_singular_value_one():
    torch.manual_seed(0)
    layers = apply_spectral_norm(nn.Sequential(nn.Linear(20, 30), nn.Conv2d(3, 8, 4, 2, 1)))
    with torch.no_grad():
        layers[0].parametrizations.weight.original.mul_(7.0)  # σ far from 1 before
    for _ in range(50):  # each training-mode forward is one power iteration
        layers[0](torch.randn(2, 20))
        layers[1](torch.randn(2, 3, 8, 8))
    for layer in layers:
        matrix = layer.weight.detach().flatten(1)  # conv: (out, in·k·k), as torch normalises
        assert torch.linalg.matrix_norm(matrix, ord=2).item() == pytest.approx(1.0, abs=1e-3)
    assert torch.linalg.matrix_norm(layers[0].parametrizations.weight.original, ord=2) > 5


def test_spectral_norm_as_a_model_option_and_as_a_training_option(blobs, tmp_path):
    _, d = tiny_gan(spectral_norm=True)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(hasattr(m, "parametrizations") for m in convs)
    assert d.config["spectral_norm"] is True
    assert "spectral_norm" not in Discriminator(32, 1, 8).config  # old checkpoints still match
    g, d = tiny_gan()
    run = train_gan(g, d, blobs, epochs=2, spectral_norm=True, out_dir=tmp_path, **FAST)
    assert all(hasattr(m, "parametrizations") for m in d.modules() if isinstance(m, nn.Conv2d))
    assert all(math.isfinite(v) for v in run.history["loss_d"])
    resumed = train_gan(*tiny_gan(), blobs, epochs=3, spectral_norm=True, out_dir=tmp_path,
                        resume=True, **FAST)
    assert resumed.dir == run.dir and resumed.metrics["epochs"] == 3


# --- EMA ------------------------------------------------------------------------------------

def test_ema_update_arithmetic_and_warmup():
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = EMA(model, decay=0.9, warmup=False)
    for value in (1.0, 2.0):
        with torch.no_grad():
            model.weight.fill_(value)
        ema.update(model)
    assert ema.model.weight.item() == pytest.approx(0.9 * 0.1 + 0.1 * 2.0)  # 0.1, then 0.29
    warm = EMA(model, decay=0.999)
    assert [warm.current_decay()] == [pytest.approx(0.1)]
    warm.update(model)
    assert warm.current_decay() == pytest.approx(2 / 11)
    assert not any(p.requires_grad for p in warm.model.parameters())
    with pytest.raises(ValueError, match="decay"):
        EMA(model, decay=1.0)


def test_ema_averages_weights_and_copies_batchnorm_buffers():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ema = EMA(model, decay=0.5, warmup=False)
    before = ema.model[0].weight.clone()
    model(torch.randn(8, 3))  # moves the running statistics
    with torch.no_grad():
        model[0].weight.add_(1.0)
    ema.update(model)
    assert torch.allclose(ema.model[0].weight, 0.5 * before + 0.5 * model[0].weight)
    assert torch.equal(ema.model[1].running_mean, model[1].running_mean)
    assert torch.equal(ema.model[1].num_batches_tracked, model[1].num_batches_tracked)
    inputs = [torch.randn(16, 3) for _ in range(3)]
    recalibrate_batchnorm(ema.model, inputs)
    with torch.no_grad():
        features = torch.cat([ema.model[0](x) for x in inputs])
    assert torch.allclose(ema.model[1].running_mean, features.mean(0), atol=1e-5)
    assert ema.model[1].momentum == model[1].momentum


def test_ema_samples_and_resumes_bit_identically(blobs, tmp_path):
    options = dict(ema_decay=0.9, flip=True, **FAST)
    full = train_gan(*tiny_gan(), blobs, epochs=3, out_dir=tmp_path / "a", **options)
    part = train_gan(*tiny_gan(), blobs, epochs=2, out_dir=tmp_path / "b", **options)
    resumed = train_gan(*tiny_gan(seed=5), blobs, epochs=3, out_dir=tmp_path / "b",
                        resume=True, **options)
    assert resumed.dir == part.dir and resumed.ema.updates == full.ema.updates == 12
    a, b = full.ema.model.state_dict(), resumed.ema.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    live = full.generator.state_dict()
    assert not all(torch.equal(a[k], live[k]) for k in a)  # the average is not G itself
    assert torch.equal(full.generate(8, seed=1), resumed.generate(8, seed=1))
    assert not torch.equal(full.generate(8, seed=1), full.generate(8, seed=1, ema=False))
    state = ckpt.load(full.checkpoint_path)
    assert state["extra"]["ema"]["updates"] == 12


# --- DiffAugment ----------------------------------------------------------------------------

def test_diffaugment_keeps_shapes_is_differentiable_and_random_per_image():
    x = (torch.rand(6, 3, 16, 16) * 2 - 1).requires_grad_(True)
    out = DiffAugment()(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    same = torch.ones(4, 1, 16, 16)
    moved = translation(same, torch.Generator().manual_seed(1))
    assert set(moved.unique().tolist()) <= {0.0, 1.0}  # shifted, zeros fill in
    holes = (cutout(same, torch.Generator().manual_seed(1)) == 0).flatten(1).sum(1)
    assert (holes > 0).all() and (holes <= 64).all()  # at most an 8×8 square of 16×16
    tinted = color(same, torch.Generator().manual_seed(1))
    assert not torch.allclose(tinted[0], tinted[1])  # each image its own draw


def test_diffaugment_is_the_identity_when_disabled_and_refuses_unknown_transforms():
    x = torch.randn(2, 1, 8, 8)
    assert DiffAugment("")(x) is x and not DiffAugment(None)
    with pytest.raises(ValueError, match="color, translation, cutout"):
        DiffAugment("colour,translation")
    with pytest.raises(ValueError, match="unknown DiffAugment"):
        TrainConfig(diffaugment="flip")


def test_the_same_augmentation_reaches_d_for_real_and_fake_in_both_steps():
    seen = []

    def augment(images, rng):
        seen.append(images.detach().clone())
        return images.flip(-1)

    d = nn.Sequential(nn.Flatten(), nn.Linear(4, 1), nn.Flatten(0))
    real, fake = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2, requires_grad=True)
    opt = torch.optim.SGD(d.parameters(), lr=0.0)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    discriminator_step(d, real, fake, opt, scaler, Labels(), no_amp, augment=augment)
    generator_step(d, fake, torch.optim.SGD([fake], lr=0.0), scaler, no_amp, augment=augment)
    assert [torch.equal(s, t) for s, t in zip(seen, (real, fake, fake))] == [True] * 3
    assert len(seen) == 3 and fake.grad is not None  # G's gradient passes through it
    # One policy, one random stream: the same draws for the same images.
    policy = DiffAugment("color,translation,cutout")
    a = policy(real, torch.Generator().manual_seed(3))
    b = policy(real, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, real)


# --- through the real engine ----------------------------------------------------------------

OPTIONS = {
    "hinge": dict(loss="hinge"),
    "wgan_gp": dict(loss="wgan_gp", lr_d=1e-4, lr_g=1e-4, betas_d=(0.0, 0.9),
                    betas_g=(0.0, 0.9)),
    "lsgan": dict(loss="lsgan", real_label=0.9),
    "spectral_norm": dict(spectral_norm=True),
    "r1": dict(r1_gamma=1.0),
    "r1_lazy": dict(r1_gamma=1.0, r1_every=4),
    "ema": dict(ema_decay=0.99),
    "diffaugment": dict(diffaugment="color,translation,cutout"),
    "ttur": dict(lr_d=4e-4, lr_g=1e-4),
    "all": dict(loss="hinge", spectral_norm=True, r1_gamma=0.5, r1_every=2, ema_decay=0.99,
                diffaugment="translation,cutout"),
}


@pytest.mark.parametrize("name", list(OPTIONS))
def test_each_option_trains_a_few_steps_without_nan(name, blobs, tmp_path):
    norm = {"norm": "layer"} if name == "wgan_gp" else {}
    run = train_gan(*tiny_gan(**norm), blobs, epochs=1, out_dir=tmp_path, **FAST,
                    **OPTIONS[name])
    h = run.history
    assert len(h["loss_d"]) == 4
    assert all(math.isfinite(v) for k in run.stat_names for v in h[k])
    assert torch.isfinite(run.generate(8)).all()
    recorded = json.loads((run.dir.path / "config.json").read_text())["train"]
    assert {k: recorded[k] for k in OPTIONS[name]} == {
        k: list(v) if isinstance(v, tuple) else v for k, v in OPTIONS[name].items()}


def test_wgan_gp_defaults_to_the_papers_lambda_and_n_critic(blobs, tmp_path, monkeypatch):
    config = TrainConfig(loss="wgan_gp")
    assert (config.gp_weight, config.d_steps) == (10.0, 5)
    assert (TrainConfig().gp_weight, TrainConfig().d_steps) == (0.0, 1)
    assert (TrainConfig().replace(loss="wgan_gp").d_steps,
            TrainConfig().replace(loss="wgan_gp").gp_weight) == (5, 10.0)
    assert TrainConfig(loss="wgan_gp", d_steps=2, gp_weight=1.0).d_steps == 2
    calls = []
    real_step = engine.discriminator_step
    monkeypatch.setattr(engine, "discriminator_step",
                        lambda *a, **k: calls.append(k["gp_weight"]) or real_step(*a, **k))
    run = train_gan(*tiny_gan(norm="none"), blobs, epochs=1, loss="wgan_gp", out_dir=tmp_path,
                    max_steps_per_epoch=2, **FAST)
    assert calls == [10.0] * 10  # 2 iterations × n_critic 5
    assert all(p > 0 for p in run.history["penalty"])


def test_a_gradient_penalty_on_a_batchnorm_critic_warns(blobs, tmp_path):
    with pytest.warns(UserWarning, match="layer normalisation"):
        train_gan(*tiny_gan(), blobs, epochs=1, loss="wgan_gp", d_steps=1, out_dir=tmp_path,
                  max_steps_per_epoch=2, **FAST)


def test_ttur_is_two_learning_rates(blobs, tmp_path):
    """The two-time-scale update rule (Heusel et al. 2017) is lr_d ≠ lr_g, e.g. 4e-4 and
    1e-4: each network's Adam runs at its own rate."""
    run = train_gan(*tiny_gan(), blobs, epochs=1, lr_d=4e-4, lr_g=1e-4, out_dir=tmp_path,
                    **FAST)
    state = ckpt.load(run.checkpoint_path)
    assert state["optimizers"]["d"]["param_groups"][0]["lr"] == 4e-4
    assert state["optimizers"]["g"]["param_groups"][0]["lr"] == 1e-4


@pytest.mark.parametrize("settings, message", [
    (dict(loss="relativistic"), "loss must be one of"),
    (dict(d_steps=0), "n_critic"),
    (dict(loss="wgan_gp", d_steps=0), "n_critic"),
    (dict(gp_weight=-1.0), "gp_weight"),
    (dict(r1_gamma=-0.5), "r1_gamma"),
    (dict(r1_gamma=float("nan")), "r1_gamma"),
    (dict(r1_every=0), "r1_every"),
    (dict(ema_decay=1.0), "ema_decay"),
    (dict(ema_decay=-0.1), "ema_decay"),
    (dict(spectral_norm="yes"), "spectral_norm"),
    (dict(diffaugment="colour"), "color, translation, cutout"),
    (dict(loss="hinge", real_label=0.9), "label smoothing"),
])
def test_bad_stabiliser_settings_fail_before_any_work(settings, message, blobs, tmp_path):
    with pytest.raises(ValueError, match=message):
        train_gan(*tiny_gan(), blobs, epochs=1, out_dir=tmp_path, **FAST, **settings)
    assert not any(tmp_path.iterdir())


def test_a_run_recorded_before_the_stabilisers_still_resumes(blobs, tmp_path):
    run = train_gan(*tiny_gan(), blobs, epochs=1, out_dir=tmp_path, **FAST)
    path = run.dir.path / "config.json"
    record = json.loads(path.read_text())
    for key in ("gp_weight", "r1_gamma", "r1_every", "spectral_norm", "ema_decay",
                "ema_warmup", "diffaugment"):
        del record["train"][key]
    path.write_text(json.dumps(record))
    resumed = train_gan(*tiny_gan(), blobs, epochs=2, out_dir=tmp_path, resume=True, **FAST)
    assert resumed.dir == run.dir and resumed.metrics["epochs"] == 2
    with pytest.raises(ValueError, match="r1_gamma"):  # but not with a stabiliser added
        train_gan(*tiny_gan(), blobs, epochs=3, out_dir=tmp_path, resume=True, r1_gamma=1.0,
                  **FAST)


def test_fp16_gradient_scaling_leaves_the_penalties_and_gradients_unchanged():
    """Under fp16 the penalties' inner gradient is taken of the scaled output (no underflow)
    and divided back: the same penalty and the same update as without a scaler."""
    real = torch.tensor([[1.0, 2.0], [0.0, 0.5]]).view(2, 1, 1, 2)
    fake = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).view(2, 1, 1, 2)
    results = []
    for enabled in (False, True):
        critic = Squares()
        scaler = torch.amp.GradScaler("cpu", enabled=enabled, init_scale=2.0**16)
        penalty = {}
        discriminator_step(critic, real, fake, torch.optim.SGD(critic.parameters(), lr=0.0),
                           scaler, Labels(), no_amp, r1_weight=1.0, gp_weight=1.0,
                           penalty=penalty, rng=torch.Generator().manual_seed(0))
        results.append((penalty["value"].item(), critic.a.grad.item()))
    assert results[1] == pytest.approx(results[0], rel=1e-6)
    assert results[0][0] > 1  # the penalties were on


def test_a_checkpoint_gives_the_generator_that_sampled(blobs, tmp_path):
    run = train_gan(*tiny_gan(), blobs, epochs=1, ema_decay=0.9, out_dir=tmp_path, **FAST)
    state = ckpt.load(run.checkpoint_path)
    generator, _ = tiny_gan(seed=9)
    generator.load_state_dict(ckpt.generator_weights(state))
    z = torch.randn(4, 16)
    with torch.no_grad():
        assert torch.equal(generator(z), run.ema.model(z))
    generator.load_state_dict(ckpt.generator_weights(state, ema=False))
    assert all(torch.equal(a, b) for a, b in zip(generator.state_dict().values(),
                                                 run.generator.state_dict().values()))
    plain = ckpt.load(train_gan(*tiny_gan(), blobs, epochs=1, out_dir=tmp_path / "p",
                                **FAST).checkpoint_path)
    assert ckpt.generator_weights(plain) is plain["generator"]
