"""Chapter 6's exercises: a residual block's shape-keeping transform, the samples' spread (the
collapse measure), one-sided label smoothing, two time scales in Adam, and a reading of the
sweep's learning-rate comparison."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..stats import difference_interval
from . import ExerciseFailed, exercise, expect, expect_callable, returned, show

NB = "06_improved_dcgan"




# --------------------------------------------------------------------------- residual block


_BLOCK = "def residual_transform(width):\n    return nn.Sequential(\n"


@exercise("residual_transform", NB, "A residual block's transform keeps the shape",
          ("residual_transform",), wrong={
    "3×3 convolutions without padding": _BLOCK +
        "        nn.Conv2d(width, width, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(),\n"
        "        nn.Conv2d(width, width, 3, bias=False), nn.BatchNorm2d(width))\n",
    "stride 2 in the first convolution": _BLOCK +
        "        nn.Conv2d(width, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),\n"
        "        nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width))\n",
    "a ReLU after the last BatchNorm": _BLOCK +
        "        nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),\n"
        "        nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())\n",
    "one convolution only": _BLOCK +
        "        nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width))\n",
})
def check_residual_transform(residual_transform) -> None:
    """F = conv3×3–BN–ReLU–conv3×3–BN at `width` channels, F(x) of x's shape (so that x + F(x)
    is defined), able to take negative values (no ReLU at the end)."""
    expect_callable(residual_transform, "residual_transform")
    width = 6
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(0)
        block = residual_transform(width)
        returned(block, "residual_transform", nn.Module)
        for shape in ((4, width, 8, 8), (2, width, 7, 7)):
            x = torch.randn(shape)
            try:
                y = block(x)
            except RuntimeError as error:
                raise ExerciseFailed(
                    f"F(x) for x of shape {shape}: expected a tensor of that shape, got "
                    f"RuntimeError: {str(error).splitlines()[0]}.\nHint: both convolutions map "
                    f"`width` channels to `width` channels (nn.Conv2d(width, width, 3, 1, 1))"
                ) from error
            expect(isinstance(y, torch.Tensor) and y.shape == x.shape,
                   f"the shape of F(x) for x of shape {shape}", shape,
                   tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__,
                   "y = x + F(x) adds F(x) to x pixel by pixel, so F must keep the shape: a 3×3 "
                   "convolution keeps the height and width with stride 1 and padding 1, and the "
                   "channels with `width` in and out")
    expect(bool((y < 0).any()), "the signs of F(x)", "some negative values",
           f"none (min {float(y.min()):.3g})", "F ends with BatchNorm, not a ReLU: a residual "
           "that is never negative can only brighten x, never darken it")
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in block.modules() if isinstance(m, nn.BatchNorm2d)]
    kernels = [tuple(c.kernel_size) for c in convs]
    expect(kernels == [(3, 3), (3, 3)] and len(norms) == 2,
           "the layers of F", "two 3×3 convolutions and two BatchNorm layers",
           f"convolutions with kernels {kernels} and {len(norms)} BatchNorm layer(s)",
           "conv3×3 – BN – ReLU – conv3×3 – BN, as in labkit's ResidualBlock (bias=False: the "
           "BatchNorm after each convolution has its own shift)")


# --------------------------------------------------------------------------- sample spread


def _spread(fake: torch.Tensor, real: torch.Tensor) -> float:
    return float(fake.float().std(dim=0).mean() / real.float().std(dim=0).mean())


@exercise("spread_ratio", NB, "The samples' spread, the collapse measure", ("spread_ratio",),
          wrong={
    "each image's own contrast": "def spread_ratio(fake, real):\n"
        "    return float(fake.std(dim=(1, 2, 3)).mean() / real.std(dim=(1, 2, 3)).mean())\n",
    "the std of all pixels at once": "def spread_ratio(fake, real):\n"
                                     "    return float(fake.std() / real.std())\n",
    "real over fake": "def spread_ratio(fake, real):\n"
                      "    return float(real.std(dim=0).mean() / fake.std(dim=0).mean())\n",
    "variances, not standard deviations": "def spread_ratio(fake, real):\n"
        "    return float(fake.var(dim=0).mean() / real.var(dim=0).mean())\n",
})
def check_spread_ratio(spread_ratio) -> None:
    """The samples' mean per-pixel std across the batch over the real images' (chapter 6's
    `sample_spread`): near 0 for one image repeated, 1 for samples that vary as the data."""
    expect_callable(spread_ratio, "spread_ratio")
    g = torch.Generator().manual_seed(0)
    real = torch.rand(64, 1, 8, 8, generator=g) * 2 - 1
    face = torch.rand(1, 1, 8, 8, generator=g) * 2 - 1  # one detailed image
    collapsed = (face + 0.01 * torch.randn(64, 1, 8, 8, generator=g)).clamp(-1, 1)
    got = spread_ratio(collapsed.clone(), real.clone())
    returned(got, "spread_ratio", (numbers.Real, torch.Tensor))
    got, want = float(got), _spread(collapsed, real)
    expect(abs(got - want) < 0.01, "the spread of 64 near-copies of one image (noise std 0.01) "
           "against 64 varied real images", f"{want:.3f} (collapse)", f"{got:.3f}",
           "measure how much each pixel varies from sample to sample (std over dim 0, the "
           "batch), average over the pixels, and divide by the same for the real images. A "
           "collapsed generator can make one detailed face: its pixels vary within the image, "
           "not across the samples")
    cases = [("samples at half the real contrast", 0.5 * (torch.rand(64, 1, 8, 8, generator=g)
                                                          * 2 - 1)),
             ("samples as varied as the real images", torch.rand(64, 1, 8, 8, generator=g) * 2 - 1)]
    for what, fake in cases:
        got, want = float(spread_ratio(fake.clone(), real.clone())), _spread(fake, real)
        expect(abs(got - want) < 1e-3 * max(1.0, want), f"the spread of {what}", f"{want:.3f}",
               f"{got:.3f}", "a ratio of standard deviations, the samples' over the real "
               "images': 1 when they vary as much as the data, 0.5 at half the contrast")


# --------------------------------------------------------------------------- label smoothing


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _targets(loss_fn, smooth: float) -> tuple[float, float]:
    """The targets a BCE-with-logits loss used, read off its gradient at logit 0: with a mean
    over n logits, d loss / d logit = (sigmoid(0) - target) / n."""
    real = torch.zeros(4, requires_grad=True)
    fake = torch.zeros(4, requires_grad=True)
    loss = loss_fn(real, fake, smooth)
    returned(loss, "one_sided_d_loss", torch.Tensor)
    expect(loss.dim() == 0 and loss.requires_grad, "the loss", "one number with a gradient "
           "(a 0-d tensor)", f"shape {tuple(loss.shape)}, requires_grad={loss.requires_grad}",
           "average each BCE over its batch and add the two; keep it a tensor (no .item())")
    value = float(loss.detach())
    expect(abs(value - math.log(4)) < 1e-4, "the loss at logits 0 (D undecided)",
           "ln 4 = 1.3863 whatever the targets (ln 2 for each half)", f"{value:.4f}",
           "D returns logits, not probabilities: F.binary_cross_entropy_with_logits on the real "
           "logits plus the same on the fake logits, each a mean over its batch")
    grad_real, grad_fake = torch.autograd.grad(loss, (real, fake), allow_unused=True)
    read = [0.5 - 4 * float(g.mean()) if g is not None else math.nan
            for g in (grad_real, grad_fake)]
    return read[0], read[1]


@exercise("one_sided_smoothing", NB, "One-sided label smoothing", ("one_sided_d_loss",), wrong={
    "both sides smoothed (the seed's 0.9 / 0.1)": "def one_sided_d_loss(real_logits, "
        "fake_logits, smooth):\n"
        "    real = F.binary_cross_entropy_with_logits(real_logits, "
        "torch.full_like(real_logits, 1 - smooth))\n"
        "    fake = F.binary_cross_entropy_with_logits(fake_logits, "
        "torch.full_like(fake_logits, smooth))\n    return real + fake\n",
    "0.1 on the real images": "def one_sided_d_loss(real_logits, fake_logits, smooth):\n"
        "    real = F.binary_cross_entropy_with_logits(real_logits, "
        "torch.full_like(real_logits, smooth))\n"
        "    fake = F.binary_cross_entropy_with_logits(fake_logits, "
        "torch.zeros_like(fake_logits))\n    return real + fake\n",
    "0.9 written in (smooth ignored)": "def one_sided_d_loss(real_logits, fake_logits, "
        "smooth):\n"
        "    real = F.binary_cross_entropy_with_logits(real_logits, "
        "torch.full_like(real_logits, 0.9))\n"
        "    fake = F.binary_cross_entropy_with_logits(fake_logits, "
        "torch.zeros_like(fake_logits))\n    return real + fake\n",
    "BCE on logits as if they were probabilities": "def one_sided_d_loss(real_logits, "
        "fake_logits, smooth):\n"
        "    t = 1 - smooth\n"
        "    real = -(t * torch.log(real_logits.clamp(1e-6, 1)) + (1 - t) * "
        "torch.log((1 - real_logits).clamp(1e-6, 1))).mean()\n"
        "    fake = -torch.log((1 - fake_logits).clamp(1e-6, 1)).mean()\n"
        "    return real + fake\n",
})
def check_one_sided_smoothing(one_sided_d_loss) -> None:
    """BCE(D(x), 1 − smooth) + BCE(D(G(z)), 0) on logits, each averaged over its batch."""
    expect_callable(one_sided_d_loss, "one_sided_d_loss")
    for smooth in (0.1, 0.2):
        t_real, t_fake = _targets(one_sided_d_loss, smooth)
        expect(abs(t_real - (1 - smooth)) < 1e-4, f"the real images' target with smooth={smooth}",
               f"{1 - smooth:g}", f"{t_real:.4g}",
               "the smoothed target of the real images is 1 − smooth (0.9 for 0.1, as in the "
               "seed), taken from the `smooth` argument" if abs(t_real - smooth) > 1e-4 else
               "`smooth` is how far the real target moves down from 1: the target is 1 − smooth")
        expect(abs(t_fake) < 1e-4, f"the fakes' target with smooth={smooth}", "0",
               f"{t_fake:.4g}", "one-sided smoothing (Salimans et al.) leaves the fakes' target "
               "at 0: a fake target above 0 rewards D for believing the generator's current "
               "samples a little, where the data has none. The seed smoothed both sides")
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(8, generator=g) * 3, torch.randn(8, generator=g) * 3
    got = one_sided_d_loss(real.clone(), fake.clone(), 0.1)
    want = _bce(real, 0.9) + _bce(fake, 0.0)
    expect(torch.allclose(got.detach().float(), want, atol=1e-5),
           f"the loss at real logits {show(real[:3].tolist())}…, fake logits "
           f"{show(fake[:3].tolist())}…, smooth 0.1", f"{float(want):.4f}", f"{float(got):.4f}",
           "D returns logits: F.binary_cross_entropy_with_logits of the real logits against "
           "0.9 plus that of the fake logits against 0, each a mean over its batch")


# --------------------------------------------------------------------------- two time scales


def _pair() -> tuple[nn.Module, nn.Module]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return (nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 6)),
                nn.Sequential(nn.Linear(6, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1)))


def _owner(optimizer: torch.optim.Optimizer, G: nn.Module, D: nn.Module) -> str:
    ids = {id(p) for group in optimizer.param_groups for p in group["params"]}
    g, d = {id(p) for p in G.parameters()}, {id(p) for p in D.parameters()}
    return {(True, False): "G's", (False, True): "D's", (True, True): "both networks'"}.get(
        (bool(ids & g), bool(ids & d)), "no network's") + \
        ("" if ids in (g, d, g | d) else " (some of them)")


@exercise("two_time_scales", NB, "Two time scales: an Adam for each network",
          ("two_time_scale_adam",), wrong={
    "the rates swapped": "def two_time_scale_adam(generator, discriminator, lr_d, lr_g, beta1):\n"
        "    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr_g, betas=(beta1, 0.999))\n"
        "    opt_g = torch.optim.Adam(generator.parameters(), lr=lr_d, betas=(beta1, 0.999))\n"
        "    return opt_d, opt_g\n",
    "Adam's default betas": "def two_time_scale_adam(generator, discriminator, lr_d, lr_g, "
        "beta1):\n"
        "    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr_d)\n"
        "    opt_g = torch.optim.Adam(generator.parameters(), lr=lr_g)\n"
        "    return opt_d, opt_g\n",
    "G's optimizer over D's parameters (copy and paste)": "def two_time_scale_adam(generator, "
        "discriminator, lr_d, lr_g, beta1):\n"
        "    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=(beta1, 0.999))\n"
        "    opt_g = torch.optim.Adam(discriminator.parameters(), lr=lr_g, betas=(beta1, 0.999))\n"
        "    return opt_d, opt_g\n",
    "returned as (opt_g, opt_d)": "def two_time_scale_adam(generator, discriminator, lr_d, lr_g, "
        "beta1):\n"
        "    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=(beta1, 0.999))\n"
        "    opt_g = torch.optim.Adam(generator.parameters(), lr=lr_g, betas=(beta1, 0.999))\n"
        "    return opt_g, opt_d\n",
})
def check_two_time_scales(two_time_scale_adam) -> None:
    """(opt_d, opt_g): Adam over D's parameters at lr_d and over G's at lr_g, betas (β1, 0.999)."""
    expect_callable(two_time_scale_adam, "two_time_scale_adam")
    G, D = _pair()
    lr_d, lr_g, beta1 = 6.4e-3, 1.28e-3, 0.5
    got = two_time_scale_adam(G, D, lr_d, lr_g, beta1)
    returned(got, "two_time_scale_adam", tuple)
    expect(len(got) == 2, "`two_time_scale_adam` returned", "two optimizers (opt_d, opt_g)",
           f"{len(got)} values", "return opt_d, opt_g")
    for opt, name, net, lr in ((got[0], "opt_d", "D's", lr_d), (got[1], "opt_g", "G's", lr_g)):
        expect(isinstance(opt, torch.optim.Adam), f"`{name}`", "a torch.optim.Adam",
               type(opt).__name__, "torch.optim.Adam(network.parameters(), lr=..., betas=...)")
        owner = _owner(opt, G, D)
        expect(owner == net, f"the parameters `{name}` updates", f"{net} (all of them)", owner,
               "one optimizer per network: opt_d over discriminator.parameters(), opt_g over "
               "generator.parameters(), returned in that order")
        rates = sorted({group["lr"] for group in opt.param_groups})
        expect(rates == [lr], f"the learning rate of `{name}` (lr_d={lr_d:g}, lr_g={lr_g:g})",
               f"{lr:g}", ", ".join(f"{r:g}" for r in rates),
               "two time scales: the discriminator learns faster, D 0.0064 against G 0.00128 "
               "in the seed; pass lr_d to D's optimizer and lr_g to G's")
        betas = {tuple(group["betas"]) for group in opt.param_groups}
        expect(betas == {(beta1, 0.999)}, f"the betas of `{name}` (beta1={beta1})",
               f"({beta1}, 0.999)", ", ".join(map(str, sorted(betas))),
               "Adam's default β1 is 0.9; DCGAN training uses 0.5 (the seed's Table 2: β1 0.5, "
               "β2 0.999): betas=(beta1, 0.999)")


# --------------------------------------------------------------------------- read the sweep


@dataclass
class _Study:
    """A stand-in for the chapter's Study (tests only): settings with metric values per epoch."""

    summary: list[dict]
    epochs: list[int]
    metric: str = "swd"

    @property
    def last(self) -> int | None:
        return self.epochs[-1] if self.epochs else None

    def find(self, **params) -> dict | None:
        for setting in self.summary:
            if all(k in setting["params"] and (setting["params"][k] == v or (
                    isinstance(v, float) and math.isclose(setting["params"][k], v,
                                                          rel_tol=1e-9)))
                   for k, v in params.items()):
                return setting
        return None


def _setting(lr_d: float, lr_g: float, values: dict[int, list[float]]) -> dict:
    params = {"profile": "cpu", "model": "dcgan", "lr_d": lr_d, "lr_g": lr_g,
              "real_label": 1.0, "fake_label": 0.0}
    return {"params": params, "values": values,
            "mean": {e: sum(v) / len(v) for e, v in values.items()}}


def _study_context() -> dict:
    base = _setting(2e-4, 2e-4, {1: [520.0, 540.0, 530.0], 20: [480.0, 470.0, 500.0]})
    fast = _setting(6.4e-3, 1.28e-3, {1: [500.0, 505.0, 498.0], 20: [470.0, 490.0, 440.0]})
    return {"study": _Study([base, fast], [1, 20])}


BASELINE = {"model": "dcgan", "lr_d": 2e-4, "lr_g": 2e-4, "real_label": 1.0, "fake_label": 0.0}
FAST = {**BASELINE, "lr_d": 6.4e-3, "lr_g": 1.28e-3}


@exercise("lr_difference", NB, "Read your sweep: the learning rates' effect against the seed "
          "noise", ("lr_difference", "lr_fast_better", "study"), kind="run",
          context=_study_context, wrong={
    "B − A (sign flipped)": "base = study.find(lr_d=2e-4, lr_g=2e-4, real_label=1.0, "
        "fake_label=0.0, model='dcgan')\n"
        "fast = study.find(lr_d=6.4e-3, lr_g=1.28e-3, real_label=1.0, fake_label=0.0, "
        "model='dcgan')\n"
        "lr_difference = base['mean'][study.last] - fast['mean'][study.last]\n"
        "lr_fast_better = False\n",
    "the first epoch": "base = study.find(lr_d=2e-4, lr_g=2e-4, real_label=1.0, "
        "fake_label=0.0, model='dcgan')\n"
        "fast = study.find(lr_d=6.4e-3, lr_g=1.28e-3, real_label=1.0, fake_label=0.0, "
        "model='dcgan')\n"
        "lr_difference = fast['mean'][1] - base['mean'][1]\n"
        "lr_fast_better = False\n",
    "better judged from the means alone": "base = study.find(lr_d=2e-4, lr_g=2e-4, "
        "real_label=1.0, fake_label=0.0, model='dcgan')\n"
        "fast = study.find(lr_d=6.4e-3, lr_g=1.28e-3, real_label=1.0, fake_label=0.0, "
        "model='dcgan')\n"
        "lr_difference = fast['mean'][study.last] - base['mean'][study.last]\n"
        "lr_fast_better = lr_difference < 0\n",
})
def check_lr_difference(lr_difference, lr_fast_better, study) -> None:
    """mean(D 0.0064 / G 0.00128) − mean(0.0002 / 0.0002) of the metric at the last evaluated
    epoch (DCGAN, labels 1 / 0), and whether its 95 % Welch interval lies below 0."""
    fast, base = study.find(**FAST), study.find(**BASELINE)
    last = study.last
    expect(fast is not None and base is not None and last in fast["values"]
           and last in base["values"], "the learning-rate settings in your sweep",
           "D 0.0064 / G 0.00128 and 0.0002 / 0.0002 (DCGAN, labels 1 / 0), measured at the "
           "last epoch", "not both", "run the chapter's grid (single_run=False): this question "
           "reads the learning-rate claim's row of the comparison table")
    gap = difference_interval(fast["values"][last], base["values"][last])
    expect(isinstance(lr_difference, numbers.Real)
           and not isinstance(lr_difference, (bool, np.bool_)),
           "`lr_difference`", "a number", repr(lr_difference),
           "set it to A − B of the learning-rate claim at the last epoch")
    expect(abs(lr_difference - gap.mean) <= 0.01 * abs(gap.mean) + 1e-9,
           f"mean {study.metric} of D 0.0064 / G "
           f"0.00128 minus that of 0.0002 / 0.0002 at epoch {last}", f"{gap.mean:.4g}",
           f"{lr_difference:.4g}", "A − B in the comparison table, row `learning_rates` at the "
           "last evaluated epoch: the claimed setting (A) minus the baseline (B), so negative "
           "when A has the lower (better) metric")
    expect(isinstance(lr_fast_better, (bool, np.bool_)), "`lr_fast_better`", "True or False",
           repr(lr_fast_better), "True only where the table says A is better")
    better = gap.high < 0
    expect(bool(lr_fast_better) == better, f"`lr_fast_better` for A − B = {gap}", better,
           bool(lr_fast_better), "A is better only when the whole 95 % interval of A − B lies "
           "below 0; a negative mean whose interval reaches above 0 is within the seed noise"
           if not better else "the whole 95 % interval of A − B lies below 0: beyond the seed "
           "noise, A is better")
