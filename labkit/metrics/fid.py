"""FID and KID through torchmetrics, in Inception-v3 features or in a feature space of yours.

Both take float images in [-1, 1], (N, C, H, W), real first and generated second, and return a
`MetricResult` recording how many images of each were used and which features.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .features import (
    INCEPTION_FEATURES,
    FeatureAdapter,
    Features,
    check_images,
    describe,
    eval_mode,
    inception_extractor,
    owner_module,
    pick_device,
    to_inception_input,
)
from .result import MetricResult


@dataclass
class _Space:
    """A resolved feature space: the module torchmetrics calls and how to prepare its input."""

    module: nn.Module
    prepare: Callable[[torch.Tensor], torch.Tensor]
    name: str
    dim: int
    device: torch.device
    owner: nn.Module | None


def _resolve(features: Features, weights: str | os.PathLike | None, real: torch.Tensor,
             device: str | torch.device | None, name: str | None) -> _Space:
    if isinstance(features, str):
        if features != "inception":
            raise ValueError(f"features must be 'inception' or a module, got {features!r}")
        check_images(real, "real", rgb_or_gray=True)
        module = inception_extractor(weights)
        return _Space(module, to_inception_input, name or INCEPTION_FEATURES,
                      int(module.num_features), pick_device(device, None), None)
    if not callable(features):
        raise TypeError(f"features must be 'inception', an nn.Module or a callable, got "
                        f"{type(features).__name__}")
    owner = owner_module(features)
    target = pick_device(device, owner)
    if owner is not None:
        owner.to(target)
    with torch.no_grad(), eval_mode(owner):
        dim = features(real[:2].float().to(target)).flatten(1).shape[1]
    return _Space(FeatureAdapter(features, dim), lambda x: x.float(),
                  name or describe(features, dim), dim, target, owner)


def _feed(metric, real: torch.Tensor, fake: torch.Tensor, space: _Space, batch_size: int) -> None:
    with eval_mode(space.owner):
        for images, is_real in ((real, True), (fake, False)):
            for chunk in images.split(batch_size):
                metric.update(space.prepare(chunk.to(space.device)), real=is_real)


def _check_pair(real: torch.Tensor, fake: torch.Tensor) -> None:
    check_images(real, "real")
    check_images(fake, "fake")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real images have {real.shape[1]} channels, fake {fake.shape[1]}")
    if len(real) < 2 or len(fake) < 2:
        raise ValueError(f"need at least 2 real and 2 fake images, got {len(real)} and {len(fake)}")


def fid(real: torch.Tensor, fake: torch.Tensor, *, features: Features = "inception",
        weights: str | os.PathLike | None = None, batch_size: int = 64,
        device: str | torch.device | None = None, features_name: str | None = None
        ) -> MetricResult:
    """Fréchet distance between Gaussians fitted to real and fake features (torchmetrics' FID).

    Convention: the squared distance (as every FID paper reports), covariances divided by N - 1.
    `features="inception"` is FID proper: Inception-v3 pool3 (2048) with torch-fidelity's
    weights on uint8 RGB images resized to 299×299 by torchmetrics; the weights come from
    `weights`, else $LABKIT_INCEPTION_WEIGHTS, else torch.hub's cache or a download, and are
    never silently replaced. Any other module maps [-1, 1] images to (N, d) features (it is
    moved to `device` and run in eval mode). Warns when either set has fewer images than
    feature dimensions: the covariance is then rank-deficient and the value is biased upward.
    """
    _check_pair(real, fake)
    from torchmetrics.image.fid import FrechetInceptionDistance

    space = _resolve(features, weights, real, device, features_name)
    _warn_if_rank_deficient(len(real), len(fake), space)
    metric = FrechetInceptionDistance(feature=space.module, normalize=False).to(space.device)
    _feed(metric, real, fake, space, batch_size)
    value = float(metric.compute())
    return MetricResult("fid", value, len(real), len(fake), space.name, {"dims": space.dim})


def kid(real: torch.Tensor, fake: torch.Tensor, *, features: Features = "inception",
        weights: str | os.PathLike | None = None, subset_size: int | None = None,
        subsets: int = 100, degree: int = 3, batch_size: int = 64, seed: int = 0,
        device: str | torch.device | None = None, features_name: str | None = None
        ) -> MetricResult:
    """Kernel Inception Distance (torchmetrics): unbiased MMD² with a cubic polynomial kernel.

    Convention: `value` is the mean over `subsets` random subsets of `subset_size` images
    (default min(1000, n_real, n_fake)) of the MMD² with k(x, y) = (x·y / d + 1)³, not scaled
    (papers often print KID × 10³); `extra["kid_std"]` is the std over subsets. The subsets are
    drawn from torch's CPU generator seeded with `seed`, so a call is repeatable. Features and
    weights as in `fid`. Unlike FID it is unbiased, so it suits small samples.
    """
    _check_pair(real, fake)
    from torchmetrics.image.kid import KernelInceptionDistance

    space = _resolve(features, weights, real, device, features_name)
    subset_size = subset_size or min(1000, len(real), len(fake))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        metric = KernelInceptionDistance(feature=space.module, subsets=subsets,
                                         subset_size=subset_size, degree=degree)
    metric = metric.to(space.device)
    _feed(metric, real, fake, space, batch_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    extra = {"kid_std": float(std), "subset_size": subset_size, "subsets": subsets,
             "degree": degree, "dims": space.dim}
    return MetricResult("kid", float(mean), len(real), len(fake), space.name, extra)


def _warn_if_rank_deficient(n_real: int, n_fake: int, space: _Space) -> None:
    if min(n_real, n_fake) < space.dim:
        warnings.warn(
            f"FID from {n_real} real and {n_fake} generated images in {space.dim}-dimensional "
            f"features ({space.name}): with fewer images than dimensions the covariance is "
            "rank-deficient, so the value is dominated by estimation bias and is comparable "
            f"only with FIDs from the same sample sizes. Use at least {space.dim} of each "
            "(papers use 50,000), or KID, which is unbiased.", stacklevel=3)
