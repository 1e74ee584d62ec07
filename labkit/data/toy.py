"""Toy data for chapter 1: points drawn from known Gaussian mixtures in 1-D and 2-D.

A `PointSet` holds the points (float32, N×d) and the mixture they came from (centres, standard
deviations, weights), so a notebook can evaluate the true density — for the optimal
discriminator D* = p_data / (p_data + p_g) — and measure mode coverage against the centres.
It gives batches with the same call as `ImageSet.batches`, so `labkit.train.train_gan` trains
on it unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(repr=False, eq=False)
class PointSet:
    """Points (float32, N×d) drawn from an isotropic Gaussian mixture, with that mixture."""

    points: torch.Tensor
    centres: torch.Tensor  # K×d mode centres
    stds: torch.Tensor  # K standard deviations (isotropic)
    weights: torch.Tensor  # K mixture weights, summing to 1
    labels: torch.Tensor | None = None  # the component each point was drawn from (int64, N)
    name: str = "points"
    manifest: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.points = torch.as_tensor(self.points, dtype=torch.float32)
        if self.points.ndim == 1:
            self.points = self.points[:, None]
        if self.points.ndim != 2:
            raise ValueError(f"points must be N×d, got shape {tuple(self.points.shape)}")
        self.centres = torch.as_tensor(self.centres, dtype=torch.float32).reshape(-1, self.dim)
        self.stds = torch.as_tensor(self.stds, dtype=torch.float32).reshape(-1)
        self.weights = torch.as_tensor(self.weights, dtype=torch.float32).reshape(-1)
        k = len(self.centres)
        if len(self.stds) != k or len(self.weights) != k:
            raise ValueError(f"{k} centres but {len(self.stds)} stds and "
                             f"{len(self.weights)} weights")
        if self.labels is not None and len(self.labels) != len(self.points):
            raise ValueError(f"{len(self.labels)} labels for {len(self.points)} points")

    @property
    def dim(self) -> int:
        """The dimension d of each point."""
        return self.points.shape[1]

    def __len__(self) -> int:
        return self.points.shape[0]

    def __repr__(self) -> str:
        return (f"PointSet({self.name!r}, {len(self)} points in {self.dim}-D, "
                f"{len(self.centres)} modes)")

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """The mixture's probability density at points x (shape (M,) in 1-D or (M, d)): (M,)."""
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.ndim == 1:
            x = x[:, None]
        squared = torch.cdist(x.double(), self.centres.double()) ** 2  # M×K
        var = self.stds.double() ** 2
        normal = torch.exp(-squared / (2 * var)) / (2 * math.pi * var) ** (self.dim / 2)
        return (normal * self.weights.double()).sum(dim=1).float()

    def num_batches(self, batch_size: int, drop_last: bool = True) -> int:
        """How many batches ``batches(batch_size, drop_last=...)`` yields."""
        count = len(self) / batch_size
        return math.floor(count) if drop_last else math.ceil(count)

    def batches(
        self,
        batch_size: int,
        *,
        device: str | torch.device = "cpu",
        shuffle: bool = True,
        flip: bool = False,
        drop_last: bool = True,
        generator: torch.Generator | None = None,
        with_labels: bool = False,
        shard: tuple[int, int] = (0, 1),
    ) -> Iterator[torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of float batches (B×d) on ``device``, as ``ImageSet.batches`` gives images.

        The order is drawn on the CPU from ``generator``; ``flip`` is ignored (points have no
        mirror image); ``with_labels`` adds each point's mixture component; ``shard=(rank,
        world)`` yields this process's slice of every global batch.
        """
        rank, world = shard
        if not 0 <= rank < world or batch_size % world:
            raise ValueError(f"shard={shard}: batch_size {batch_size} must split evenly over "
                             f"{world} processes and rank must be in 0..{world - 1}")
        if with_labels and self.labels is None:
            raise ValueError(f"{self.name!r} has no labels")
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        return self._iterate(batch_size, torch.device(device), order, drop_last, with_labels,
                             rank * (batch_size // world), batch_size // world)

    def _iterate(self, batch_size: int, device: torch.device, order: torch.Tensor,
                 drop_last: bool, with_labels: bool, offset: int,
                 local: int) -> Iterator[torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
        points = self.points.to(device)
        labels = self.labels.to(device) if with_labels else None
        order = order.to(device)
        stop = self.num_batches(batch_size, drop_last) * batch_size
        for start in range(0, min(stop, len(order)), batch_size):
            index = order[start + offset : start + offset + local]
            if with_labels:
                yield points[index], labels[index]
            else:
                yield points[index]


def _mixture(n: int, centres: torch.Tensor, stds: torch.Tensor, weights: torch.Tensor,
             seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n points from an isotropic Gaussian mixture, and the component of each."""
    rng = torch.Generator().manual_seed(seed)
    labels = torch.multinomial(weights, n, replacement=True, generator=rng)
    noise = torch.randn(n, centres.shape[1], generator=rng)
    return centres[labels] + stds[labels, None] * noise, labels


def gaussian_mixture_1d(n: int = 4096, means: Sequence[float] = (-2.0, 2.0),
                        stds: Sequence[float] | float = 0.5,
                        weights: Sequence[float] | None = None, seed: int = 0) -> PointSet:
    """n points from a 1-D mixture of Gaussians (a single Gaussian with one mean), as N×1."""
    centres = torch.tensor(means, dtype=torch.float32).reshape(-1, 1)
    k = len(centres)
    stds_t = torch.as_tensor(stds, dtype=torch.float32).reshape(-1).expand(k).clone()
    if (stds_t <= 0).any():
        raise ValueError(f"standard deviations must be positive, got {stds}")
    w = torch.ones(k) if weights is None else torch.tensor(weights, dtype=torch.float32)
    if len(w) != k or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be {k} non-negative numbers, got {weights}")
    w = w / w.sum()
    points, labels = _mixture(n, centres, stds_t, w, seed)
    manifest = {"name": "gaussian_mixture_1d", "n": n, "means": centres[:, 0].tolist(),
                "stds": stds_t.tolist(), "weights": w.tolist(), "seed": seed}
    return PointSet(points, centres, stds_t, w, labels, "gaussian_mixture_1d", manifest)


def ring_centres(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """The centres of `modes` Gaussians evenly spaced on a circle, starting at (radius, 0)."""
    angle = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    return (radius * torch.stack((angle.cos(), angle.sin()), dim=1)).float()


def ring_of_gaussians(n: int = 8192, modes: int = 8, radius: float = 2.0, std: float = 0.02,
                      seed: int = 0) -> PointSet:
    """n 2-D points from `modes` equally likely Gaussians (std `std`) on a circle of `radius`.

    With the defaults this is the ring of 8 Gaussians of Metz et al. (2017, unrolled GANs),
    used by Srivastava et al. (2017, VEEGAN) to measure mode collapse.
    """
    if modes < 1 or std <= 0 or radius <= 0:
        raise ValueError(f"need modes >= 1, std > 0, radius > 0; got {modes}, {std}, {radius}")
    centres = ring_centres(modes, radius)
    stds = torch.full((modes,), float(std))
    weights = torch.full((modes,), 1.0 / modes)
    points, labels = _mixture(n, centres, stds, weights, seed)
    manifest = {"name": "ring_of_gaussians", "n": n, "modes": modes, "radius": radius,
                "std": std, "seed": seed}
    return PointSet(points, centres, stds, weights, labels, "ring_of_gaussians", manifest)


def optimal_discriminator(x: torch.Tensor, p_data: PointSet, p_g: PointSet) -> torch.Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)), the best discriminator against a fixed G.

    Where both densities underflow to 0 the ratio is undefined; it is returned as 0.5.
    """
    a, b = p_data.density(x).double(), p_g.density(x).double()
    total = a + b
    return torch.where(total > 0, a / total.clamp_min(1e-300), 0.5).float()
