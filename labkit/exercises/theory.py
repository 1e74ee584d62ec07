"""Chapter 1's exercises: the optimal discriminator, the Jensen–Shannon divergence, the
non-saturating loss, the discriminator's loss (and its `detach`), and a reading of the run."""

from __future__ import annotations

from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from . import exercise, expect, expect_callable, returned, show

NB = "01_gan_theory"




@exercise("optimal_d", NB, "The optimal discriminator", ("optimal_discriminator",), wrong={
    "the fakes' share": "def optimal_discriminator(p_data, p_g):\n"
                        "    return p_g / (p_data + p_g)\n",
    "the likelihood ratio": "def optimal_discriminator(p_data, p_g):\n    return p_data / p_g\n",
    "one half everywhere": "def optimal_discriminator(p_data, p_g):\n"
                           "    return torch.full_like(p_data, 0.5)\n",
})
def check_optimal_d(optimal_discriminator) -> None:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)), elementwise, on tensors of densities."""
    expect_callable(optimal_discriminator, "optimal_discriminator")
    p_data = torch.tensor([0.4, 0.1, 0.0, 0.25, 0.3])
    p_g = torch.tensor([0.1, 0.1, 0.3, 0.25, 0.0])
    got = optimal_discriminator(p_data.clone(), p_g.clone())
    returned(got, "optimal_discriminator", torch.Tensor)
    want = p_data / (p_data + p_g)
    expect(got.shape == want.shape, "the shape of D*", tuple(want.shape), tuple(got.shape),
           "one value per point x: compute elementwise, without summing")
    expect(torch.allclose(got.float(), want, atol=1e-6),
           f"D* for p_data={show(p_data)}, p_g={show(p_g)}", show(want), show(got),
           "D*(x) is the share of the real density at x: 1 where only real data live, 0 where "
           "only fakes do, 1/2 where the two densities are equal")


def _jsd(p: torch.Tensor, q: torch.Tensor, dx: float) -> torch.Tensor:
    m = (p + q) / 2
    return (0.5 * torch.xlogy(p, p / m).nan_to_num() + 0.5 * torch.xlogy(q, q / m).nan_to_num()
            ).sum() * dx


@exercise("jsd", NB, "The Jensen–Shannon divergence on a grid", ("jensen_shannon",), wrong={
    "in bits (log base 2)": "def jensen_shannon(p, q, dx):\n    m = (p + q) / 2\n"
        "    return (0.5 * torch.xlogy(p, p / m).nan_to_num()\n"
        "            + 0.5 * torch.xlogy(q, q / m).nan_to_num()).sum() * dx / math.log(2)\n",
    "without dx": "def jensen_shannon(p, q, dx):\n    m = (p + q) / 2\n"
        "    return (0.5 * torch.xlogy(p, p / m).nan_to_num()\n"
        "            + 0.5 * torch.xlogy(q, q / m).nan_to_num()).sum()\n",
    "KL(p || q) instead": "def jensen_shannon(p, q, dx):\n"
        "    return (p * torch.log(p / q)).sum() * dx\n",
    "0 log 0 left as NaN": "def jensen_shannon(p, q, dx):\n    m = (p + q) / 2\n"
        "    return (0.5 * p * torch.log(p / m) + 0.5 * q * torch.log(q / m)).sum() * dx\n",
})
def check_jsd(jensen_shannon) -> None:
    """JSD(p || q) in nats from densities sampled on a grid of spacing dx (0 log 0 = 0)."""
    expect_callable(jensen_shannon, "jensen_shannon")
    x = torch.linspace(-6, 6, 1201, dtype=torch.float64)
    dx = float(x[1] - x[0])
    normal = torch.exp(-x ** 2 / 2) / (2 * torch.pi) ** 0.5
    shifted = torch.exp(-(x - 1.5) ** 2 / 2) / (2 * torch.pi) ** 0.5
    left = ((x > -4) & (x < -2)).double() / 2  # two uniform densities that never overlap
    right = ((x > 2) & (x < 4)).double() / 2
    cases = [("two equal Gaussians", normal, normal, "0: a distribution does not diverge from "
              "itself"),
             ("two uniform densities that do not overlap", left, right,
              "log 2 = 0.6931 nats, the largest value: where only one density lives, m is half "
              "of it. Use natural logs, and 0 log 0 = 0 (torch.xlogy)"),
             ("N(0, 1) and N(1.5, 1)", normal, shifted,
              "½ KL(p || m) + ½ KL(q || m) with m = (p + q) / 2, each integral a sum times dx")]
    for name, p, q, hint in cases:
        got = jensen_shannon(p.clone(), q.clone(), dx)
        returned(got, "jensen_shannon", (torch.Tensor, float))
        got, want = float(got), float(_jsd(p, q, dx))
        expect(abs(got - want) < 1e-4, f"JSD of {name}", f"{want:.4f}", f"{got:.4f}", hint)


@exercise("nonsaturating", NB, "The non-saturating generator loss", ("nonsaturating_loss",),
          wrong={
    "the minimax (saturating) loss": "def nonsaturating_loss(fake_logits):\n"
        "    return torch.log1p(-torch.sigmoid(fake_logits)).mean()\n",
    "a sign error": "def nonsaturating_loss(fake_logits):\n"
        "    return F.logsigmoid(fake_logits).mean()\n",
    "log of a sigmoid (overflows)": "def nonsaturating_loss(fake_logits):\n"
        "    return -torch.log(torch.sigmoid(fake_logits)).mean()\n",
})
def check_nonsaturating(nonsaturating_loss) -> None:
    """-log D(G(z)) = softplus(-logit), averaged, finite for any logit, gradient -> -1/N."""
    expect_callable(nonsaturating_loss, "nonsaturating_loss")
    logits = torch.tensor([-3.0, 0.0, 2.0])
    got = nonsaturating_loss(logits.clone())
    returned(got, "nonsaturating_loss", torch.Tensor)
    want = F.softplus(-logits).mean()
    expect(got.dim() == 0, "the loss", "one number (the mean over the batch)",
           f"a tensor of shape {tuple(got.shape)}", "average over the fakes with .mean()")
    expect(torch.allclose(got, want, atol=1e-5), f"the loss at logits {show(logits)}",
           f"{want:.4f}", f"{float(got):.4f}",
           "the non-saturating loss is -log D(G(z)) = -log sigmoid(logit), averaged; it is "
           "positive and falls as D is fooled")
    rejected = torch.tensor([-200.0, -100.0], requires_grad=True)
    loss = nonsaturating_loss(rejected)
    expect(bool(torch.isfinite(loss)), "the loss where D rejects the fakes (logits -200, -100)",
           "150.0 (a finite number)", f"{float(loss.detach())}",
           "sigmoid(-200) underflows to 0 and log(0) = -inf: use F.logsigmoid or "
           "F.softplus(-logits), which stay finite")
    (grad,) = torch.autograd.grad(loss, rejected)
    expect(torch.allclose(grad, torch.full_like(grad, -0.5), atol=1e-3),
           "the gradient on each logit where D rejects the fakes", "[-0.5, -0.5] (-1/N)",
           show(grad), "this is the point of the loss: a strong gradient exactly where the "
           "generator is worst; the minimax loss log(1 - D) gives ~0 there")


class _Tiny(nn.Module):
    def __init__(self, n_in: int, n_out: int, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.net(x).squeeze(-1) if self.net.out_features == 1 else self.net(x)


def _reference_d_loss(D, G, real, z):
    fake = G(z).detach()
    real_logits, fake_logits = D(real), D(fake)
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


@exercise("d_loss", NB, "The discriminator's loss, and its detach", ("discriminator_loss",),
          wrong={
    "no detach": "def discriminator_loss(D, G, real, z):\n    fake = G(z)\n"
        "    r, f = D(real), D(fake)\n"
        "    return (F.binary_cross_entropy_with_logits(r, torch.ones_like(r))\n"
        "            + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))\n",
    "targets swapped": "def discriminator_loss(D, G, real, z):\n    fake = G(z).detach()\n"
        "    r, f = D(real), D(fake)\n"
        "    return (F.binary_cross_entropy_with_logits(r, torch.zeros_like(r))\n"
        "            + F.binary_cross_entropy_with_logits(f, torch.ones_like(f)))\n",
    "BCE on logits as if they were probabilities": "def discriminator_loss(D, G, real, z):\n"
        "    fake = G(z).detach()\n    r, f = D(real), D(fake)\n"
        "    return -(torch.log(r.clamp(1e-6, 1)).mean() + torch.log((1 - f).clamp(1e-6, 1))"
        ".mean())\n",
})
def check_d_loss(discriminator_loss) -> None:
    """BCE(D(real), 1) + BCE(D(G(z)), 0) on logits, with the fakes detached from G."""
    expect_callable(discriminator_loss, "discriminator_loss")
    D, G = _Tiny(2, 1, seed=0), _Tiny(3, 2, seed=1)
    real, z = torch.randn(8, 2, generator=torch.Generator().manual_seed(2)), \
        torch.randn(8, 3, generator=torch.Generator().manual_seed(3))
    got = discriminator_loss(D, G, real, z)
    returned(got, "discriminator_loss", torch.Tensor)
    want = _reference_d_loss(D, G, real, z)
    expect(got.dim() == 0 and torch.allclose(got, want, atol=1e-5),
           "the loss of a small D and G", f"{float(want.detach()):.4f}",
           f"{float(got.detach()):.4f}" if got.dim() == 0 else f"shape {tuple(got.shape)}",
           "BCE-with-logits of D(real) against 1 plus that of D(G(z)) against 0 "
           "(F.binary_cross_entropy_with_logits: D returns logits, not probabilities)")
    got.backward()
    leaked = [n for n, p in G.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0]
    expect(not leaked, "gradients reaching the generator", "none", f"gradients on {leaked}",
           "detach the fakes (G(z).detach()) before D sees them: the discriminator's update "
           "must not train the generator")
    expect(all(p.grad is not None for p in D.parameters()), "gradients on the discriminator",
           "on every parameter", "missing", "the loss must depend on D's outputs")


def _optimal_context() -> dict:
    return {"optimal": SimpleNamespace(error=torch.tensor([0.012, 0.087, 0.031, 0.004]))}


@exercise("largest_gap", NB, "Read your run: where the trained D misses D*",
          ("largest_gap", "optimal"), kind="run", context=_optimal_context, wrong={
    "the mean gap": "largest_gap = float(optimal.error.mean())\n",
    "a percentage": "largest_gap = 100 * float(optimal.error.max())\n",
})
def check_largest_gap(largest_gap, optimal) -> None:
    """The largest |D_trained - D*| of this run's experiment, to two decimals."""
    want = float(optimal.error.max())
    expect(isinstance(largest_gap, (int, float)) and not isinstance(largest_gap, bool),
           "`largest_gap`", "a number", repr(largest_gap),
           "set largest_gap to the number the experiment printed (max of |D_trained - D*|)")
    expect(abs(largest_gap - want) <= 0.01, "the largest gap in your run", f"{want:.3f}",
           f"{largest_gap}", "the printed line gives the mean and the max of |D_trained - D*| "
           "where there is data: this asks for the max, as a fraction (not a percentage)")
