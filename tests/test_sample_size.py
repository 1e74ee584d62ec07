"""labkit.metrics.sample_size on Gaussians whose Fréchet distance is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.metrics.sample_size import (
    frechet_distance,
    gaussian_frechet,
    pooled_pixels,
    stable_n,
    study,
)

D = 8


def gaussian(n: int, shift: float, seed: int, scale: float = 1.0) -> np.ndarray:
    """n points of N(shift·e1, scale²·I) in D dimensions."""
    points = np.random.default_rng(seed).standard_normal((n, D)) * scale
    points[:, 0] += shift
    return points


def test_the_closed_form_of_two_gaussians():
    # means 0 and (3, 4): |Δμ|² = 25; covariances I and 4I: tr(I + 4I - 2·2I) = D
    assert gaussian_frechet(np.zeros(D), np.eye(D), np.r_[3.0, 4.0, np.zeros(D - 2)],
                            4 * np.eye(D)) == pytest.approx(25 + D)
    assert gaussian_frechet(np.zeros(D), np.eye(D), np.zeros(D), np.eye(D)) == 0.0


def test_the_estimator_approaches_the_true_distance_with_many_samples():
    a, b = gaussian(20_000, 0.0, 1), gaussian(20_000, 1.0, 2, scale=1.5)
    true = 1.0 + D * (1 + 2.25 - 2 * 1.5)  # |Δμ|² + tr(I + 2.25 I - 2 · 1.5 I)
    assert frechet_distance(a, b) == pytest.approx(true, rel=0.05)
    assert frechet_distance(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(
        frechet_distance(a, b))
    with pytest.raises(ValueError, match="same d"):
        frechet_distance(a, b[:, :3])


@pytest.fixture(scope="module")
def gaussians():
    reference = gaussian(20_000, 0.0, 0)
    pools = {"close": gaussian(3000, 0.5, 1), "far": gaussian(3000, 1.0, 2)}  # FD 0.25, 1.0
    return reference, pools, study(frechet_distance, reference, pools, [10, 30, 100, 300, 1000],
                                   repeats=60, seed=0, name="fd")


def test_the_bias_shrinks_with_n_towards_the_known_distance(gaussians):
    _, _, found = gaussians
    assert found.large["close"] == pytest.approx(0.25, abs=0.05)  # the whole pool ≈ the truth
    assert found.large["far"] == pytest.approx(1.0, abs=0.08)
    for pool in ("close", "far"):
        rows = [r for r in found.rows() if r["pool"] == pool]
        bias = [r["bias"] for r in rows]
        std = [r["std"] for r in rows]
        assert bias[0] > 1.0  # 10 points in 8 dimensions: the estimate is mostly bias
        assert all(b1 > b2 for b1, b2 in zip(bias, bias[1:])), bias  # shrinks with every n
        assert bias[-1] < 0.1 * bias[0]
        assert std[-1] < std[0]
        assert all(r["mean"] > 0 for r in rows)


def test_the_ranking_becomes_reliable_from_a_measured_n(gaussians):
    _, _, found = gaussians
    assert found.order == ["close", "far"]
    correct = found.correct()
    assert correct[10] < 0.95 and correct[1000] == 1.0
    n = found.stable_n()
    assert n is not None and 10 < n <= 1000
    assert all(correct[m] >= 0.95 for m in found.sizes if m >= n)
    data = found.to_dict()
    assert data["stable_n"] == n and len(data["values"]["far"]["10"]) == 60


def test_paired_draws_shrink_the_reference_too():
    reference = gaussian(500, 0.0, 0)
    pools = {"a": gaussian(800, 1.0, 1)}
    calls = []

    def distance(ref, sample):
        calls.append((len(ref), len(sample)))
        return frechet_distance(ref, sample)

    found = study(distance, reference, pools, [20, 50], repeats=3, paired=True)
    assert calls[:3] == [(20, 20)] * 3 and found.large_n["a"] == 500
    with pytest.raises(ValueError, match="paired draws of 600"):
        study(distance, reference, {"a": gaussian(900, 1.0, 1)}, [600], repeats=2, paired=True)


def test_bad_studies_are_refused_before_any_work():
    reference = gaussian(100, 0.0, 0)
    with pytest.raises(ValueError, match="more than the largest n"):
        study(frechet_distance, reference, {"a": gaussian(50, 0.0, 1)}, [10, 50])
    with pytest.raises(ValueError, match="repeats"):
        study(frechet_distance, reference, {"a": gaussian(500, 0.0, 1)}, [10], repeats=1)


def test_stable_n_is_where_every_larger_n_ranks_correctly():
    assert stable_n({10: 0.6, 50: 0.97, 100: 0.9, 500: 0.99, 1000: 1.0}) == 500
    assert stable_n({10: 0.96, 50: 1.0}) == 10
    assert stable_n({10: 0.5, 50: 0.8}) is None


def test_pooled_pixels_are_coarse_images():
    images = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4)
    features = pooled_pixels(images, size=2)
    assert features.shape == (2, 4)
    assert features[0, 0] == pytest.approx(images[0, 0, :2, :2].mean().item())
