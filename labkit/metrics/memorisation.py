"""Memorisation: are generated images closer to the training set than unseen real images are?

A generator that copies its training images produces samples whose nearest training image is
much closer than the nearest training image of a held-out real image. The ratio of the two
median distances is ≈ 1 for a generator that generalises like unseen data and ≪ 1 for copies.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .features import check_images, describe, eval_mode, owner_module, pick_device
from .result import MetricResult

CLOSEST_KEPT = 64  # closest (fake, train) pairs stored in the result
HELD_OUT_QUANTILE = 0.05


@torch.no_grad()
def _embed(images: torch.Tensor, features: Callable | None, batch_size: int) -> torch.Tensor:
    """(N, d) float32 vectors on the CPU: flattened pixels, or `features` in eval mode."""
    if features is None:
        return images.float().flatten(1).cpu()
    owner = owner_module(features)
    device = pick_device(None, owner)
    with eval_mode(owner):
        return torch.cat([features(chunk.float().to(device)).flatten(1).float().cpu()
                          for chunk in images.split(batch_size)])


def nearest_neighbours(queries: torch.Tensor, references: torch.Tensor, batch_size: int = 256
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Euclidean distance from each query row to its nearest reference row, and that row's index."""
    distances, indices = [], []
    for chunk in queries.split(batch_size):
        d = torch.cdist(chunk.double(), references.double())
        best = d.min(dim=1)
        distances.append(best.values)
        indices.append(best.indices)
    return torch.cat(distances), torch.cat(indices)


def memorisation(fake: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor, *,
                 features: nn.Module | Callable | None = None, batch_size: int = 256
                 ) -> MetricResult:
    """Median nearest-training-image distance of fakes over that of held-out real images.

    Convention: L2 distance between images in [-1, 1] flattened to vectors (or between their
    `features`, a module mapping images to (N, d), in eval mode); for each fake and each
    held-out image, the distance to its nearest training image. `value` = median(fake) /
    median(held-out): ≈ 1 generalises like unseen data, ≪ 1 memorises. `extra` has both
    medians, the share of fakes closer to the training set than the 5th percentile of the
    held-out distances, and the closest (fake index, train index, distance) pairs, closest first.
    """
    for images, role in ((fake, "fake"), (train, "train"), (held_out, "held-out")):
        check_images(images, role)
    train_vectors = _embed(train, features, batch_size)
    fake_d, fake_nn = nearest_neighbours(_embed(fake, features, batch_size), train_vectors,
                                         batch_size)
    held_d, _ = nearest_neighbours(_embed(held_out, features, batch_size), train_vectors,
                                   batch_size)
    median_fake, median_held = float(fake_d.median()), float(held_d.median())
    threshold = float(torch.quantile(held_d, HELD_OUT_QUANTILE))
    order = fake_d.argsort()[:CLOSEST_KEPT]
    space = ("pixels" if features is None else describe(features, train_vectors.shape[1]))
    extra = {
        "median_fake_to_train": median_fake,
        "median_held_out_to_train": median_held,
        "held_out_p5": threshold,
        "share_closer_than_held_out_p5": float((fake_d < threshold).float().mean()),
        "closest_fake": order.tolist(),
        "closest_train": fake_nn[order].tolist(),
        "closest_distance": fake_d[order].tolist(),
        "n_held_out": len(held_out),
    }
    value = median_fake / median_held if median_held > 0 else float("nan")
    return MetricResult("memorisation", value, len(train), len(fake),
                        f"L2 nearest neighbour in {space} ({train_vectors.shape[1]} dims)", extra)
