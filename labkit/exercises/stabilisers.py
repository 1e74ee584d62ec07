"""Chapter 7's exercises: the hinge loss, WGAN-GP's gradient penalty, an EMA update of G's
weights, and a reading of the run's DiffAugment comparison."""

from __future__ import annotations

import math
import numbers
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..stats import difference_interval
from . import exercise, expect, expect_callable, number, returned

NB = "07_stabilisers"


# --------------------------------------------------------------------------- the hinge loss


def _hinge(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean(), -fake.mean()


_HINGE = "def hinge_losses(real_scores, fake_scores):\n"


@exercise("hinge_losses", NB, "The hinge loss", ("hinge_losses",), wrong={
    "no margin (the Wasserstein critic's loss)": _HINGE +
        "    return fake_scores.mean() - real_scores.mean(), -fake_scores.mean()\n",
    "the margins' signs swapped": _HINGE +
        "    loss_d = torch.relu(1 + real_scores).mean() + torch.relu(1 - fake_scores).mean()\n"
        "    return loss_d, -fake_scores.mean()\n",
    "a hinge in G's loss too": _HINGE +
        "    loss_d = torch.relu(1 - real_scores).mean() + torch.relu(1 + fake_scores).mean()\n"
        "    return loss_d, torch.relu(1 - fake_scores).mean()\n",
    "sums instead of means": _HINGE +
        "    loss_d = torch.relu(1 - real_scores).sum() + torch.relu(1 + fake_scores).sum()\n"
        "    return loss_d, -fake_scores.sum()\n",
})
def check_hinge_losses(hinge_losses) -> None:
    """(L_D, L_G) = (E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))], −E[D(G(z))]) on raw scores."""
    expect_callable(hinge_losses, "hinge_losses")
    g = torch.Generator().manual_seed(0)
    cases = [("scores inside the margins", torch.randn(8, generator=g) * 0.5,
              torch.randn(8, generator=g) * 0.5),
             ("confident scores: reals above +1, fakes below −1",
              2 + torch.rand(6, generator=g), -2 - torch.rand(6, generator=g)),
             ("batches of different sizes", torch.randn(5, generator=g) * 2,
              torch.randn(7, generator=g) * 2)]
    for what, real, fake in cases:
        got = hinge_losses(real.clone(), fake.clone())
        expect(isinstance(got, tuple) and len(got) == 2, "`hinge_losses` returned",
               "a pair (loss_d, loss_g)", type(got).__name__, "return loss_d, loss_g")
        want = _hinge(real, fake)
        for name, value, target in (("loss_d", got[0], want[0]), ("loss_g", got[1], want[1])):
            value = number(value, f"hinge_losses's {name}")
            expect(math.isclose(value, float(target), rel_tol=1e-5, abs_tol=1e-6),
                   f"{name} for {what}", f"{float(target):.5g}", f"{value:.5g}",
                   "D: the mean of max(0, 1 − D(x)) over the reals plus the mean of "
                   "max(0, 1 + D(G(z))) over the fakes (torch.relu), so a real scored above +1 "
                   "or a fake below −1 adds nothing; G: minus the mean score of the fakes, no "
                   "hinge (Lim & Ye; Miyato et al.)")


# --------------------------------------------------------------------------- gradient penalty


def _penalty(critic, real, fake, eps):
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


_GP = ("def gradient_penalty(critic, real, fake, eps):\n"
       "    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)\n"
       "    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)\n")


def _detached(value):
    return value.detach() if isinstance(value, torch.Tensor) else value


class _Linear(nn.Module):
    """A critic whose input gradient is `w` everywhere: the penalty is (‖w‖ − 1)²."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.w).flatten(1).sum(1)


class _Curved(nn.Module):
    """A small nonlinear critic (its input gradient depends on the point)."""

    def __init__(self, seed: int = 0):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.Tanh(), nn.Linear(8, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


@exercise("gradient_penalty", NB, "WGAN-GP's gradient penalty", ("gradient_penalty",), wrong={
    "the squared norm against 1": _GP +
        "    return ((grad.flatten(1).pow(2).sum(1) - 1) ** 2).mean()\n",
    "one norm over the whole batch": _GP + "    return (grad.norm() - 1) ** 2\n",
    "one-sided (only norms above 1)": _GP +
        "    return (torch.relu(grad.flatten(1).norm(dim=1) - 1) ** 2).mean()\n",
    "no create_graph (D's weights get no gradient from it)":
        "def gradient_penalty(critic, real, fake, eps):\n"
        "    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)\n"
        "    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed)\n"
        "    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()\n",
    "at the real images, not between real and fake":
        "def gradient_penalty(critic, real, fake, eps):\n"
        "    x = real.clone().requires_grad_(True)\n"
        "    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)\n"
        "    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()\n",
})
def check_gradient_penalty(gradient_penalty) -> None:
    """E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = ε·x + (1 − ε)·G(z), one norm per sample, differentiable in D's
    weights (create_graph=True)."""
    expect_callable(gradient_penalty, "gradient_penalty")
    g = torch.Generator().manual_seed(0)
    shape = (4, 3, 2, 2)
    real, fake = torch.randn(shape, generator=g), torch.randn(shape, generator=g)
    eps = torch.rand(4, 1, 1, 1, generator=g)
    w = torch.full((1, 3, 2, 2), 0.5)  # ‖w‖ = sqrt(12 × 0.25) = 1.732
    got = gradient_penalty(_Linear(w.clone()), real.clone(), fake.clone(), eps.clone())
    want = (math.sqrt(12 * 0.25) - 1) ** 2
    value = number(_detached(got), "gradient_penalty")
    expect(math.isclose(value, want, rel_tol=1e-4), "the penalty of a linear critic D(x) = w·x "
           "with ‖w‖ = 1.732 (its gradient is w at every point)", f"{want:.5g}", f"{value:.5g}",
           "the norm of the gradient of each sample, over all its pixels and channels "
           "(grad.flatten(1).norm(dim=1)), minus 1, squared, averaged over the batch")
    critic = _Curved()
    got = gradient_penalty(critic, real.clone(), fake.clone(), eps.clone())
    want = float(_penalty(_Curved(), real, fake, eps).detach())
    value = number(_detached(got), "gradient_penalty")
    expect(math.isclose(value, want, rel_tol=1e-4, abs_tol=1e-7), "the penalty of a small "
           "nonlinear critic", f"{want:.5g}", f"{value:.5g}", "take the gradient at the mixed "
           "points x̂ = eps·real + (1 − eps)·fake, where WGAN-GP asks D to be 1-Lipschitz: "
           "between the two distributions, not at the real images")
    returned(got, "gradient_penalty", torch.Tensor)
    expect(got.requires_grad, "the penalty's gradient with respect to D's weights",
           "a penalty D can be trained with (requires_grad)", "a constant",
           "torch.autograd.grad(..., create_graph=True): the penalty must itself be "
           "differentiated when D's loss is backpropagated")


# --------------------------------------------------------------------------- EMA


_EMA = "def ema_update(average, model, beta):\n    with torch.no_grad():\n"


@exercise("ema_update", NB, "An EMA of G's weights", ("ema_update",), wrong={
    "β and 1 − β swapped": _EMA +
        "        for a, p in zip(average.parameters(), model.parameters()):\n"
        "            a.copy_((1 - beta) * a + beta * p)\n"
        "        for a, b in zip(average.buffers(), model.buffers()):\n"
        "            a.copy_(b)\n",
    "the weights copied, not averaged": _EMA +
        "        for a, p in zip(average.parameters(), model.parameters()):\n"
        "            a.copy_(p)\n"
        "        for a, b in zip(average.buffers(), model.buffers()):\n"
        "            a.copy_(b)\n",
    "BatchNorm's statistics left behind": _EMA +
        "        for a, p in zip(average.parameters(), model.parameters()):\n"
        "            a.copy_(beta * a + (1 - beta) * p)\n",
    "a new module returned, the average unchanged": _EMA +
        "        import copy\n"
        "        return copy.deepcopy(model)\n",
})
def check_ema_update(ema_update) -> None:
    """In place: every parameter θ_EMA ← β·θ_EMA + (1 − β)·θ, every buffer (BatchNorm's
    running statistics) copied from the model (labkit.train.ema.EMA.update)."""
    expect_callable(ema_update, "ema_update")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
        average = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
        model.train()(torch.randn(16, 3))  # running statistics that differ from the average's
    before = [p.detach().clone() for p in average.parameters()]
    ema_update(average, model, 0.9)
    for (name, a), b, p in zip(average.named_parameters(), before, model.parameters()):
        want = 0.9 * b + 0.1 * p.detach()
        expect(torch.allclose(a.detach(), want, atol=1e-6), f"the average's {name} after one "
               "update with β = 0.9", "0.9 × average + 0.1 × model", "something else",
               "update the average in place, a tensor at a time: a.copy_(beta * a + (1 - beta) "
               "* p) (or a.lerp_(p, 1 - beta)); with β = 0.9 it moves a tenth of the way to G")
    for (name, a), b in zip(average.named_buffers(), model.buffers()):
        expect(torch.equal(a, b), f"the average's buffer {name}", "copied from the model",
               "different", "BatchNorm's running mean and variance are statistics, not weights: "
               "copy them (zip(average.buffers(), model.buffers()))")


# --------------------------------------------------------------------------- read your run


def _row(method: str, seed: int, swd: float, first: float) -> dict:
    return {"method": method, "seed": seed, "grids": ["few_shot"], "status": "finished",
            "curves": {"swd": {1: first, 2: swd}}}


def _study_context() -> dict:
    rows = ([_row("baseline", s, v, v + 50) for s, v in enumerate([520.0, 450.0, 505.0])]
            + [_row("diffaugment", s, v, v + 120) for s, v in enumerate([430.0, 490.0, 415.0])])

    def runs(experiment, method=None, finished=True):
        return [r for r in rows if experiment in r["grids"]
                and (method is None or r["method"] == method)]

    return {"study": SimpleNamespace(rows=rows, runs=runs)}


def _final_swd(study, method: str) -> list[float]:
    return [r["curves"]["swd"][max(r["curves"]["swd"])] for r in study.runs("few_shot", method)
            if r["curves"].get("swd")]


_READ = ("aug = [r['curves']['swd'][max(r['curves']['swd'])] "
         "for r in study.runs('few_shot', 'diffaugment')]\n"
         "base = [r['curves']['swd'][max(r['curves']['swd'])] "
         "for r in study.runs('few_shot', 'baseline')]\n")


@exercise("diffaugment_gap", NB, "Read your run: DiffAugment on the 100 faces",
          ("diffaugment_gap", "diffaugment_better", "study"), kind="run",
          context=_study_context, wrong={
    "none − DiffAugment (sign flipped)": _READ +
        "diffaugment_gap = sum(base) / len(base) - sum(aug) / len(aug)\n"
        "diffaugment_better = diffaugment_gap < 0\n",
    "the first evaluation": "aug = [r['curves']['swd'][1] for r in study.runs('few_shot', "
        "'diffaugment')]\nbase = [r['curves']['swd'][1] for r in study.runs('few_shot', "
        "'baseline')]\ndiffaugment_gap = sum(aug) / len(aug) - sum(base) / len(base)\n"
        "diffaugment_better = False\n",
    "better judged from the means alone": _READ +
        "diffaugment_gap = sum(aug) / len(aug) - sum(base) / len(base)\n"
        "diffaugment_better = diffaugment_gap < 0\n",
})
def check_diffaugment_gap(diffaugment_gap, diffaugment_better, study) -> None:
    """mean final SWD (EMA) with DiffAugment − without, on the few-shot faces, and whether its
    95 % Welch interval lies below 0."""
    aug, base = _final_swd(study, "diffaugment"), _final_swd(study, "baseline")
    expect(len(aug) > 0 and len(base) > 0, "the few-shot experiment in your run",
           "finished runs with and without DiffAugment", "not both",
           "run the chapter's grid (single_run=False): this question reads its `few_shot` runs")
    gap = difference_interval(aug, base)
    expect(isinstance(diffaugment_gap, numbers.Real)
           and not isinstance(diffaugment_gap, (bool, np.bool_)), "`diffaugment_gap`",
           "a number", repr(diffaugment_gap), "the mean over seeds with DiffAugment minus the "
           "mean without, of the SWD at the last evaluation")
    expect(abs(diffaugment_gap - gap.mean) <= 0.01 * abs(gap.mean) + 1e-9,
           "mean final SWD with DiffAugment minus without", f"{gap.mean:.4g}",
           f"{diffaugment_gap:.4g}", "take each run's last evaluation "
           "(r['curves']['swd'][max(r['curves']['swd'])]), average over the seeds, and "
           "subtract the baseline's mean from DiffAugment's: negative when DiffAugment is better")
    expect(isinstance(diffaugment_better, (bool, np.bool_)), "`diffaugment_better`",
           "True or False", repr(diffaugment_better), "True only beyond the seed noise")
    better = bool(gap.n >= 2 and gap.high < 0)
    expect(bool(diffaugment_better) == better, f"`diffaugment_better` for the difference {gap}",
           better, bool(diffaugment_better), "better only when the whole 95 % Welch interval "
           "(labkit.stats.difference_interval(aug, base)) lies below 0" if not better else
           "the whole 95 % interval lies below 0: beyond the seed noise")
