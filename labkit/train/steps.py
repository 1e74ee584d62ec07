"""The two steps of GAN training: one discriminator update and one generator update.

Both networks are ordinary `nn.Module`s. The discriminator returns logits, so the losses are
BCE-with-logits: the same value as the seeds' Sigmoid + BCELoss, but numerically safe and usable
under autocast. The probabilities D(x) and D(G(z)) are reported through a sigmoid.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Labels:
    """Targets for the discriminator: real and fake labels (e.g. 0.9 / 0.1 to smooth them)."""

    real: float = 1.0
    fake: float = 0.0


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Binary cross-entropy of logits against a constant target, in float32."""
    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def discriminator_step(
    discriminator: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    labels: Labels,
    autocast,
    cond: tuple = (),
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Update D on a real and a (detached) fake batch; return (loss, D(x), D(G(z))) as tensors.

    Real and fake go through D separately, as in the PyTorch DCGAN tutorial, so each batch has
    its own BatchNorm statistics. `cond` (e.g. class labels) is passed to D after the images.
    """
    optimizer.zero_grad(set_to_none=True)
    with autocast():
        logits_real = discriminator(real, *cond)
        logits_fake = discriminator(fake.detach(), *cond)
    loss = _bce(logits_real, labels.real) + _bce(logits_fake, labels.fake)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    d_x = torch.sigmoid(logits_real.detach().float()).mean()
    d_g_z = torch.sigmoid(logits_fake.detach().float()).mean()
    return loss.detach(), d_x, d_g_z


def generator_loss(logits_fake: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    """The generator's loss on D's logits for fakes.

    non_saturating: -log D(G(z)) (BCE against 1), strong gradients when D rejects the fakes.
    minimax: log(1 - D(G(z))) as in the original game; its gradient vanishes as D(G(z)) -> 0.
    """
    if kind == "non_saturating":
        return _bce(logits_fake, 1.0)
    if kind == "minimax":
        return -F.softplus(logits_fake.float()).mean()
    raise ValueError(f"unknown generator loss {kind!r}; use 'non_saturating' or 'minimax'")


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
) -> tuple[torch.Tensor, torch.Tensor]:
    """Update G through D's verdict on `fake` (still attached to G); return (loss, D(G(z))).

    Super-resolution adds a `content` loss (already computed from `fake`, e.g. MSE or VGG) to
    `adversarial_weight` times the adversarial loss (SRGAN: 1e-3); with weight 0, D is not
    consulted at all (SRResNet pre-training) and D(G(z)) is reported as 0.
    """
    optimizer.zero_grad(set_to_none=True)
    loss = fake.new_zeros((), dtype=torch.float32) if content is None else content.float()
    d_g_z = torch.zeros((), device=fake.device)
    discriminator.requires_grad_(False)  # gradients flow through D to G, D's weights get none
    try:
        if adversarial_weight:
            with autocast():
                logits_fake = discriminator(fake, *cond)
            loss = loss + adversarial_weight * generator_loss(logits_fake, loss_kind)
            d_g_z = torch.sigmoid(logits_fake.detach().float()).mean()
        scaler.scale(loss).backward()
    finally:
        discriminator.requires_grad_(True)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach(), d_g_z
