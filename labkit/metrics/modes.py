"""Mode coverage of generated points against known mode centres (the toy ring of chapter 1).

The measures are those Srivastava et al. (2017, VEEGAN) report for the ring of 8 Gaussians of
Metz et al. (2017): the share of "high-quality" samples — within `threshold` (3) standard
deviations of the nearest mode centre — and the number of modes covered.
"""

from __future__ import annotations

import math

import torch


def mode_coverage(samples: torch.Tensor, centres: torch.Tensor, std: float, *,
                  threshold: float = 3.0, min_share: float = 0.01,
                  min_count: int = 1) -> dict:
    """Modes covered, share of high-quality samples and per-mode counts of generated points.

    The rule: each sample is assigned to its nearest centre; it is *high quality* when its
    distance to that centre is at most ``threshold * std``. A mode is *covered* when the
    high-quality samples assigned to it number at least ``max(min_count, ceil(min_share * N))``
    of the N samples — with the defaults, 1 % of the samples (so a stray point or two near a
    mode does not count as having learned it; a mode of a uniform 8-mode ring gets 12.5 %).

    Returns a JSON-ready dict: ``modes`` (number of centres), ``modes_covered``,
    ``high_quality_share`` (in [0, 1]), ``counts`` (high-quality samples per mode),
    ``covered`` (per mode), ``samples`` (N), and the rule's ``threshold``, ``std`` and
    ``min_count_used``.
    """
    samples = torch.as_tensor(samples, dtype=torch.float32).detach().cpu()
    centres = torch.as_tensor(centres, dtype=torch.float32).detach().cpu()
    if samples.ndim == 1:
        samples = samples[:, None]
    if centres.ndim == 1:
        centres = centres[:, None]
    if samples.ndim != 2 or centres.ndim != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(f"samples {tuple(samples.shape)} and centres {tuple(centres.shape)} "
                         "must be N×d and K×d with the same d")
    if std <= 0 or threshold <= 0:
        raise ValueError(f"std and threshold must be positive, got {std}, {threshold}")
    n, k = len(samples), len(centres)
    if n == 0:
        raise ValueError("no samples")
    distance, nearest = torch.cdist(samples, centres).min(dim=1)
    finite = torch.isfinite(samples).all(dim=1)
    good = finite & (distance <= threshold * std)
    counts = torch.bincount(nearest[good], minlength=k)
    needed = max(int(min_count), math.ceil(min_share * n))
    covered = counts >= needed
    return {
        "modes": k,
        "modes_covered": int(covered.sum()),
        "high_quality_share": float(good.float().mean()),
        "counts": counts.tolist(),
        "covered": covered.tolist(),
        "samples": n,
        "threshold": float(threshold),
        "std": float(std),
        "min_count_used": needed,
    }
