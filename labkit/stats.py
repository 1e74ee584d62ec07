"""Intervals over training seeds: Student-t for a mean and for a difference of means, and Holm's
correction for several comparisons. Small-sample honest: with n = 3 seeds the 95 % interval is
the mean ± 4.30 standard errors, not ± 2."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as _scipy

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean (or a difference of means) with its two-sided confidence interval."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float = CONFIDENCE

    def above(self, threshold: float) -> bool:
        """The whole interval lies above `threshold`."""
        return self.low > threshold

    def below(self, threshold: float) -> bool:
        """The whole interval lies below `threshold`."""
        return self.high < threshold

    def __str__(self) -> str:
        if math.isnan(self.low):
            return f"{self.mean:.3g} (n = {self.n}, no interval)"
        return f"{self.mean:.3g} [{self.low:.3g}, {self.high:.3g}]"

    def to_dict(self) -> dict:
        """The interval as a JSON-ready dict."""
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n,
                "confidence": self.confidence}


def t_quantile(n: int, confidence: float = CONFIDENCE) -> float:
    """The Student-t quantile for a two-sided interval from n values (n - 1 degrees of freedom)."""
    return float(_scipy.t.ppf(0.5 + confidence / 2, n - 1))


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The mean of `values` with its Student-t interval (NaN bounds for fewer than 2 values)."""
    values = [float(v) for v in values]
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, confidence)
    mean = statistics.fmean(values)
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, confidence)
    half = t_quantile(n, confidence) * statistics.stdev(values) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n, confidence)


def difference_interval(a: Sequence[float], b: Sequence[float],
                        confidence: float = CONFIDENCE) -> Interval:
    """mean(a) − mean(b) with Welch's t interval (unequal variances; NaN bounds when either
    side has fewer than 2 values). `n` is the smaller sample size."""
    a, b = [float(v) for v in a], [float(v) for v in b]
    n = min(len(a), len(b))
    if not a or not b:
        return Interval(math.nan, math.nan, math.nan, n, confidence)
    diff = statistics.fmean(a) - statistics.fmean(b)
    if n < 2:
        return Interval(diff, math.nan, math.nan, n, confidence)
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(diff, diff, diff, n, confidence)
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = float(_scipy.t.ppf(0.5 + confidence / 2, dof)) * se
    return Interval(diff, diff - half, diff + half, n, confidence)


def welch_p_value(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of Welch's t-test of mean(a) = mean(b) (NaN with < 2 values a side)."""
    if min(len(a), len(b)) < 2:
        return math.nan
    return float(_scipy.ttest_ind(a, b, equal_var=False).pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the order given (NaN stays NaN)."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    m, adjusted, running = len(indexed), [math.nan] * len(p_values), 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted
