"""The two steps of GAN training: one discriminator update and one generator update.

Both networks are ordinary `nn.Module`s. The discriminator returns logits (raw scores), so the
default losses are BCE-with-logits: the same value as the seeds' Sigmoid + BCELoss, but
numerically safe and usable under autocast. The probabilities D(x) and D(G(z)) are reported
through a sigmoid (for the hinge, WGAN and least-squares losses, whose D outputs scores rather
than logits, the sigmoid of the score is reported only to keep the log's columns).

The stabilisers of chapter 7 are options of these two functions, all off by default: the loss
(`labkit.train.losses`), D's gradient penalties (WGAN-GP's, R1), and a differentiable
augmentation of D's inputs (`labkit.train.augment`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .losses import discriminator_loss, generator_loss, gradient_penalty, r1_penalty

__all__ = ["Labels", "discriminator_step", "generator_loss", "generator_step"]


@dataclass
class Labels:
    """Targets for the discriminator: real and fake labels (e.g. 0.9 / 0.1 to smooth them)."""

    real: float = 1.0
    fake: float = 0.0


def discriminator_step(
    discriminator: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    labels: Labels,
    autocast,
    cond: tuple = (),
    *,
    loss_kind: str = "non_saturating",
    gp_weight: float = 0.0,
    r1_weight: float = 0.0,
    augment: Callable | None = None,
    rng: torch.Generator | None = None,
    penalty: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Update D on a real and a (detached) fake batch; return (loss, D(x), D(G(z))) as tensors.

    Real and fake go through D separately, as in the PyTorch DCGAN tutorial, so each batch has
    its own BatchNorm statistics. `cond` (e.g. class labels) is passed to D after the images.

    Options: `augment(images, rng)` is applied to both batches before D (DiffAugment);
    `gp_weight` λ adds λ·WGAN-GP's gradient penalty; `r1_weight` adds that times R1 on D's
    (augmented) real inputs — γ/2, times k under lazy regularisation every k steps. D minimises
    the loss plus these penalties; the loss returned is the adversarial loss alone, and the
    weighted penalty is stored in `penalty["value"]` when a dict is given.
    """
    optimizer.zero_grad(set_to_none=True)
    fake = fake.detach()
    if augment is not None:
        real, fake = augment(real, rng), augment(fake, rng)
    if r1_weight:
        real = real.detach().requires_grad_(True)
    with autocast():
        logits_real = discriminator(real, *cond)
        logits_fake = discriminator(fake, *cond)
    loss = discriminator_loss(logits_real, logits_fake, loss_kind, labels.real, labels.fake)
    total, extra = loss, None
    scale = scaler.get_scale() if scaler.is_enabled() else 1.0
    if gp_weight:
        extra = gp_weight * gradient_penalty(discriminator, real, fake, cond, generator=rng,
                                             autocast=autocast, scale=scale)
    if r1_weight:
        r1 = r1_weight * r1_penalty(logits_real, real, scale)
        extra = r1 if extra is None else extra + r1
    if extra is not None:
        total = loss + extra
    if penalty is not None:
        penalty["value"] = extra.detach() if extra is not None else torch.zeros_like(loss)
    scaler.scale(total).backward()
    scaler.step(optimizer)
    scaler.update()
    d_x = torch.sigmoid(logits_real.detach().float()).mean()
    d_g_z = torch.sigmoid(logits_fake.detach().float()).mean()
    return loss.detach(), d_x, d_g_z


def generator_step(
    discriminator: nn.Module,
    fake: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    autocast,
    loss_kind: str = "non_saturating",
    cond: tuple = (),
    *,
    content: torch.Tensor | None = None,
    adversarial_weight: float = 1.0,
    augment: Callable | None = None,
    rng: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Update G through D's verdict on `fake` (still attached to G); return (loss, D(G(z))).

    Super-resolution adds a `content` loss (already computed from `fake`, e.g. MSE or VGG) to
    `adversarial_weight` times the adversarial loss (SRGAN: 1e-3); with weight 0, D is not
    consulted at all (SRResNet pre-training) and D(G(z)) is reported as 0. `augment(images,
    rng)` (DiffAugment) is applied to the fakes before D, as in D's step; G's gradient passes
    through it.
    """
    optimizer.zero_grad(set_to_none=True)
    loss = fake.new_zeros((), dtype=torch.float32) if content is None else content.float()
    d_g_z = torch.zeros((), device=fake.device)
    discriminator.requires_grad_(False)  # gradients flow through D to G, D's weights get none
    try:
        if adversarial_weight:
            seen = augment(fake, rng) if augment is not None else fake
            with autocast():
                logits_fake = discriminator(seen, *cond)
            loss = loss + adversarial_weight * generator_loss(logits_fake, loss_kind)
            d_g_z = torch.sigmoid(logits_fake.detach().float()).mean()
        scaler.scale(loss).backward()
    finally:
        discriminator.requires_grad_(True)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach(), d_g_z
