"""`scorer(name)`: a generation metric with its options fixed, as the training engine calls it.

A `Scorer` is called as `scorer(real, fake) -> MetricResult` and carries what the engine's
`Evaluator` needs to know without importing the metrics: its `name`, its `mode` ("min" when lower
is better) and `min_samples`, the fewest images per side for a meaningful value (an FID over
2,048 Inception features needs at least 2,048 images for a full-rank covariance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .classifier import FEATURE_DIM, classifier_fid
from .features import INCEPTION_DIM
from .fid import fid, kid
from .result import MetricResult
from .swd import swd


@dataclass
class Scorer:
    """A metric function with fixed keyword options; lower is better unless mode is "max"."""

    name: str
    function: Callable[..., MetricResult]
    options: dict = field(default_factory=dict)
    mode: str = "min"
    min_samples: int = 0

    def __call__(self, real: torch.Tensor, fake: torch.Tensor) -> MetricResult:
        """The metric of `fake` against `real` (both in [-1, 1])."""
        return self.function(real, fake, **self.options)


def scorer(name: str, **options) -> Scorer:
    """The scorer for "fid" (Inception), "kid" (Inception), "swd" or "classifier_fid" (pass
    `classifier=`), with `options` passed to the metric function."""
    if name == "fid":
        return Scorer("fid", fid, {"features": "inception", **options}, "min", INCEPTION_DIM)
    if name == "kid":
        return Scorer("kid", kid, {"features": "inception", **options}, "min", 0)
    if name == "swd":
        return Scorer("swd", swd, options, "min", 0)
    if name == "classifier_fid":
        return Scorer("classifier_fid", classifier_fid, options, "min", FEATURE_DIM)
    raise ValueError(f"unknown metric {name!r}; use fid, kid, swd or classifier_fid")
