"""How a distance between image sets behaves with the number of generated images it sees.

The face-generator seed (report 002) kept the weights with the lowest FID "computed on 10
images". A distance estimated from n samples is a random variable: FID's plug-in estimate is
biased upwards by roughly a constant over n (Chong & Forsyth 2020), and its spread over
repeated draws decides whether two generators are told apart. `study` measures both for any
`distance(reference, sample) -> float`:

- for each n in `sizes` and each pool (a large set of images or features of one generator),
  `repeats` random draws of n items from the pool (without replacement), each scored against
  `reference` (kept whole; `paired=True` also draws n reference items, as the seed did);
- the value of the whole pool (the large-n value) against the whole reference, from which the
  bias at n is measured;
- for two pools, the fraction of draws ranking them as their large-n values do, and the
  smallest n from which that fraction stays at or above `level` (`stable_n`).

`Frechet` / `frechet_distance` is FID's estimator (Gaussians fitted to two feature sets,
covariances over n - 1) in any feature space; `gaussian_frechet` its closed form for known
Gaussians, which the tests use as the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

Distance = Callable[[object, object], float]


def _root(cov: np.ndarray) -> np.ndarray:
    """The symmetric square root of a covariance (eigenvalues below 0, rounding, set to 0)."""
    w, v = np.linalg.eigh((cov + cov.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _trace_sqrt(root_1: np.ndarray, factor_2: np.ndarray) -> float:
    """tr (Σ1 Σ2)^½ for Σ1 = root_1² and Σ2 = factor_2ᵀ factor_2: the sum of the singular values
    of factor_2 · root_1, from the eigenvalues of the smaller of its two Gram matrices (exact,
    and fast when one set has fewer items than dimensions)."""
    m = factor_2 @ root_1
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(gram), 0, None)).sum())


def gaussian_frechet(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray
                     ) -> float:
    """Squared Fréchet (2-Wasserstein) distance between N(mu1, cov1) and N(mu2, cov2):
    |mu1 - mu2|² + tr(cov1 + cov2 - 2 (cov1 cov2)^½)."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    cov1, cov2 = np.atleast_2d(cov1).astype(np.float64), np.atleast_2d(cov2).astype(np.float64)
    cross = _trace_sqrt(_root(cov1), _root(cov2))
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2 * cross)
    return max(value, 0.0)


class Frechet:
    """FID's estimator between two feature sets (n, d) (arrays or tensors): Gaussians fitted
    with the sample mean and the covariance over n - 1, then their squared Fréchet distance.

    Called as `distance(a, b)`; the statistics of the last `a` are kept, so scoring many draws
    against one reference set computes its covariance root once. The cross term
    tr (Σa Σb)^½ comes from the n_b × n_b (or d × d) Gram matrix of b's centred items: exact,
    and quick for the small draws this module studies.
    """

    def __init__(self) -> None:
        self._cached: tuple[object, np.ndarray, np.ndarray, float] | None = None

    def __call__(self, a, b) -> float:
        if self._cached is None or self._cached[0] is not a:
            x = _array(a)
            _check_features(x, "first")
            cov = np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])
            self._cached = (a, x.mean(0), _root(cov), float(np.trace(cov)))
        _, mu_a, root_a, trace_a = self._cached
        y = _array(b)
        _check_features(y, "second")
        if y.shape[1] != mu_a.shape[0]:
            raise ValueError(f"feature sets must have the same d, got {mu_a.shape[0]} and "
                             f"{y.shape[1]}")
        centred = (y - y.mean(0)) / np.sqrt(len(y) - 1)
        cross = _trace_sqrt(root_a, centred)
        value = (((mu_a - y.mean(0)) ** 2).sum() + trace_a + (centred ** 2).sum() - 2 * cross)
        return max(float(value), 0.0)


def frechet_distance(a, b) -> float:
    """FID's estimator between two feature sets (n, d): see `Frechet`."""
    return Frechet()(a, b)


def _check_features(x: np.ndarray, role: str) -> None:
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"the {role} feature set must be (n, d) with n >= 2, got {x.shape}")


def pooled_pixels(images: torch.Tensor, size: int = 8) -> np.ndarray:
    """Images (N, C, H, W) average-pooled to size×size, flattened: (N, C·size²) features.

    A feature space that needs no pretrained network (offline): the Fréchet distance in it is
    FID's estimator on coarse pixels, with FID's small-sample behaviour (a covariance of
    C·size² dimensions from n images)."""
    if images.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W), got {tuple(images.shape)}")
    return F.adaptive_avg_pool2d(images.float(), size).flatten(1).double().numpy()


def _array(x) -> np.ndarray:
    return x.detach().cpu().double().numpy() if torch.is_tensor(x) else np.asarray(x, float)


def _take(items, index: np.ndarray):
    if torch.is_tensor(items):
        return items[torch.as_tensor(index)]
    return np.asarray(items)[index]


@dataclass
class SizeStudy:
    """The values of one distance at each sample size for each pool, and what they imply.

    `values[pool][n]`: the `repeats` values of the draws of n; `large[pool]`: the value of the
    whole pool (the large-n reference value); `order`: the pools' names, best (lowest large-n
    value) first.
    """

    name: str
    sizes: list[int]
    values: dict[str, dict[int, list[float]]]
    large: dict[str, float]
    large_n: dict[str, int]
    repeats: int
    paired: bool
    level: float = 0.95
    extra: dict = field(default_factory=dict)

    @property
    def order(self) -> list[str]:
        """The pools, best first by their large-n values."""
        return sorted(self.large, key=self.large.get)

    def rows(self) -> list[dict]:
        """One row per pool and n: mean, standard deviation, bias against the large-n value
        (absolute and relative) of the draws."""
        rows = []
        for pool, by_n in self.values.items():
            for n in self.sizes:
                v = np.asarray(by_n[n], float)
                bias = float(v.mean() - self.large[pool])
                rows.append({"distance": self.name, "pool": pool, "n": n,
                             "mean": float(v.mean()), "std": float(v.std(ddof=1)),
                             "large-n value": self.large[pool], "bias": bias,
                             "relative bias": bias / self.large[pool] if self.large[pool]
                             else float("nan")})
        return rows

    def correct(self, better: str | None = None, worse: str | None = None) -> dict[int, float]:
        """{n: fraction of draws in which `better` scores below `worse`} (default: the best and
        the worst pool by their large-n values); draw i of one pool is compared with draw i
        of the other (independent draws)."""
        better = better or self.order[0]
        worse = worse or self.order[-1]
        return {n: float(np.mean(np.asarray(self.values[better][n])
                                 < np.asarray(self.values[worse][n]))) for n in self.sizes}

    def stable_n(self, better: str | None = None, worse: str | None = None) -> int | None:
        """The smallest n from which every larger n studied ranks the pools correctly in at
        least `level` of the draws (None: not even the largest)."""
        return stable_n(self.correct(better, worse), self.level)

    def to_dict(self) -> dict:
        """The study as JSON-ready data."""
        return {"name": self.name, "sizes": self.sizes, "repeats": self.repeats,
                "paired": self.paired, "level": self.level, "large": self.large,
                "large_n": self.large_n,
                "values": {p: {str(n): v for n, v in by_n.items()}
                           for p, by_n in self.values.items()},
                "correct": {str(n): f for n, f in self.correct().items()},
                "stable_n": self.stable_n(), "extra": self.extra}


def stable_n(fractions: Mapping[int, float], level: float = 0.95) -> int | None:
    """The smallest n such that the fraction is at least `level` at n and at every larger n
    (None when the largest n falls short)."""
    found = None
    for n in sorted(fractions, reverse=True):
        if fractions[n] < level:
            break
        found = n
    return found


def study(distance: Distance, reference, pools: Mapping[str, object], sizes: Sequence[int],
          *, repeats: int = 50, seed: int = 0, paired: bool = False, name: str = "distance",
          level: float = 0.95) -> SizeStudy:
    """`distance(reference, draw)` for `repeats` random draws of each size n from each pool.

    `reference` and the pools are tensors or arrays whose first axis indexes items (images or
    features); each draw takes n distinct items of a pool (seeded by `seed`, the same draws of
    indices for every pool). With `paired`, the reference is drawn down to n items too (its own
    random draw per repeat), else it is kept whole. A pool must hold more items than the
    largest n, or every draw of that n would be the same set: the large-n value is the whole
    pool's. Returns a `SizeStudy`.
    """
    sizes = sorted({int(n) for n in sizes})
    if not sizes or sizes[0] < 2:
        raise ValueError(f"sizes must be at least 2, got {sizes}")
    if repeats < 2:
        raise ValueError(f"repeats must be at least 2 for a spread, got {repeats}")
    if not 0 < level <= 1:
        raise ValueError(f"level must lie in (0, 1], got {level}")
    smallest = min(len(p) for p in pools.values())
    if smallest <= sizes[-1]:
        raise ValueError(f"every pool must hold more than the largest n ({sizes[-1]}); the "
                         f"smallest holds {smallest}: draw a larger pool or study smaller n")
    if paired and len(reference) < sizes[-1]:
        raise ValueError(f"paired draws of {sizes[-1]} need as many reference items; there "
                         f"are {len(reference)}")
    rng = np.random.default_rng(seed)
    draws = {n: [rng.choice(smallest, n, replace=False) for _ in range(repeats)] for n in sizes}
    ref_draws = ({n: [rng.choice(len(reference), n, replace=False) for _ in range(repeats)]
                  for n in sizes} if paired else None)
    values: dict[str, dict[int, list[float]]] = {}
    large, large_n = {}, {}
    for pool_name, pool in pools.items():
        values[pool_name] = {}
        for n in sizes:
            values[pool_name][n] = [
                float(distance(_take(reference, ref_draws[n][i]) if paired else reference,
                               _take(pool, index)))
                for i, index in enumerate(draws[n])]
        whole = min(len(pool), len(reference)) if paired else len(pool)
        large[pool_name] = float(distance(_take(reference, np.arange(whole)) if paired
                                          else reference, _take(pool, np.arange(whole))))
        large_n[pool_name] = whole
    return SizeStudy(name, sizes, values, large, large_n, repeats, paired, level)


def inception_features(images: torch.Tensor, *, weights=None, batch_size: int = 200,
                       device: str | torch.device | None = None) -> np.ndarray:
    """The 2048 Inception-v3 pool3 features FID uses (torch-fidelity's weights, uint8 RGB
    input, as `labkit.metrics.fid`) of images in [-1, 1], as a float64 array (N, 2048)."""
    from .features import inception_extractor, pick_device, to_inception_input

    network = inception_extractor(weights)
    target = pick_device(device, None)
    network = network.to(target).eval()
    with torch.no_grad():
        return torch.cat([network(to_inception_input(chunk).to(target)).flatten(1).double().cpu()
                          for chunk in images.split(batch_size)]).numpy()
