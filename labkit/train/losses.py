"""The adversarial losses and the discriminator's gradient penalties, as plain functions.

Every loss takes D's raw outputs (logits, or a critic's scores): the discriminator never ends in
a Sigmoid. With D(x) written for the raw output,

    non_saturating  D: BCE(D(x), real) + BCE(D(G(z)), fake)    G: -log σ(D(G(z)))   (today's)
    minimax         D: as non_saturating                       G: log(1 - σ(D(G(z))))
    hinge           D: E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]    G: -E[D(G(z))]
    wgan_gp         D: E[D(G(z))] - E[D(x)]  (+ λ · gradient penalty)  G: -E[D(G(z))]
    lsgan           D: ½E[(D(x) - real)²] + ½E[(D(G(z)) - fake)²]     G: ½E[(D(G(z)) - 1)²]

(Goodfellow et al. 2014; Lim & Ye 2017 / Miyato et al. 2018 for hinge; Gulrajani et al. 2017
for WGAN-GP; Mao et al. 2017 for LSGAN, with a = fake, b = real, c = 1.) Losses are computed in
float32 whatever the autocast dtype.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LOSSES = ("non_saturating", "minimax", "hinge", "wgan_gp", "lsgan")
BCE_LOSSES = ("non_saturating", "minimax")  # D's loss is binary cross-entropy against labels


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Binary cross-entropy of logits against a constant target, in float32."""
    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _unknown(kind: str) -> ValueError:
    return ValueError(f"unknown loss {kind!r}; use one of {', '.join(LOSSES)}")


def discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor,
                       kind: str = "non_saturating", real: float = 1.0,
                       fake: float = 0.0) -> torch.Tensor:
    """D's loss on its raw outputs for a real and a fake batch (`real`/`fake`: the BCE and
    LSGAN targets, e.g. 0.9 / 0.1 for smoothed labels; hinge and WGAN have none)."""
    if kind in BCE_LOSSES:
        return _bce(logits_real, real) + _bce(logits_fake, fake)
    scores_real, scores_fake = logits_real.float(), logits_fake.float()
    if kind == "hinge":
        return F.relu(1 - scores_real).mean() + F.relu(1 + scores_fake).mean()
    if kind == "wgan_gp":
        return scores_fake.mean() - scores_real.mean()
    if kind == "lsgan":
        return 0.5 * ((scores_real - real) ** 2).mean() + 0.5 * ((scores_fake - fake) ** 2).mean()
    raise _unknown(kind)


def generator_loss(logits_fake: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    """The generator's loss on D's raw outputs for fakes.

    non_saturating: -log D(G(z)) (BCE against 1), strong gradients when D rejects the fakes.
    minimax: log(1 - D(G(z))) as in the original game; its gradient vanishes as D(G(z)) -> 0.
    hinge and wgan_gp: -E[D(G(z))]; lsgan: ½E[(D(G(z)) - 1)²].
    """
    if kind == "non_saturating":
        return _bce(logits_fake, 1.0)
    if kind == "minimax":
        return -F.softplus(logits_fake.float()).mean()
    if kind in ("hinge", "wgan_gp"):
        return -logits_fake.float().mean()
    if kind == "lsgan":
        return 0.5 * ((logits_fake.float() - 1) ** 2).mean()
    raise ValueError(f"unknown generator loss {kind!r}; use 'non_saturating', 'minimax', "
                     "'hinge', 'wgan_gp' or 'lsgan'")


def input_gradient(outputs: torch.Tensor, inputs: torch.Tensor, scale: float = 1.0
                   ) -> torch.Tensor:
    """d(sum of outputs)/d(inputs), kept in the graph (a penalty on it is trained through).

    `scale` is the fp16 gradient scaler's factor: the gradient is taken of the scaled sum (no
    underflow in half precision) and divided back, as torch.amp's documentation advises.
    """
    (grad,) = torch.autograd.grad(outputs.float().sum() * scale, inputs, create_graph=True)
    return grad.float() / scale


def gradient_penalty(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     cond: tuple = (), *, eps: torch.Tensor | None = None,
                     generator: torch.Generator | None = None, autocast=None,
                     scale: float = 1.0) -> torch.Tensor:
    """WGAN-GP's penalty E[(‖∇D(x̂)‖₂ - 1)²] at x̂ = ε·real + (1-ε)·fake, ε ~ U[0, 1] per sample
    (Gulrajani et al. 2017); the loss adds λ times it (λ = 10). `eps` fixes ε (tests).

    The norm is per sample, so a critic with BatchNorm (which mixes the samples of a batch)
    is not what the paper penalises: it recommends layer normalisation, or none.
    """
    real, fake = real.detach(), fake.detach()
    if eps is None:
        device = generator.device if generator is not None else real.device
        eps = torch.rand(real.shape[0], generator=generator, device=device).to(real.device)
    eps = eps.view(-1, *([1] * (real.dim() - 1))).to(real.dtype)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    if autocast is None:
        scores = discriminator(mixed, *cond)
    else:
        with autocast():
            scores = discriminator(mixed, *cond)
    grad = input_gradient(scores, mixed, scale)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def r1_penalty(logits_real: torch.Tensor, real: torch.Tensor, scale: float = 1.0
               ) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E[‖∇ₓD(x)‖²] on real data, from D's outputs for `real`
    (which must have been built with requires_grad); the loss adds γ/2 times it."""
    grad = input_gradient(logits_real, real, scale)
    return grad.flatten(1).pow(2).sum(dim=1).mean()
