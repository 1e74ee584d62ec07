"""`Evaluator`: a quality metric measured during `train_gan`, keeping the best checkpoint.

The metric is any callable `metric(real, fake)` returning a number or an object with
`float()` and `to_dict()` (labkit.metrics' `MetricResult`); `labkit.metrics.scorer(name)`
builds one that also carries its `name`, `mode` (lower or higher is better) and
`min_samples` (the fewest images for a meaningful value). The engine knows nothing of metrics.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable

import torch

MODES = ("min", "max")


def metric_name(metric: Callable) -> str:
    """A metric's name: its `name`, else the function's (through functools.partial)."""
    if getattr(metric, "name", None):
        return metric.name
    while isinstance(metric, functools.partial):
        metric = metric.func
    return getattr(metric, "__name__", type(metric).__name__)


class Evaluator:
    """Evaluate `metric(real, fake)` every `every` epochs (and at the last) during `train_gan`.

    Convention: the fakes are `run.generate(n_samples, seed=seed)`, the same latent vectors at
    every evaluation, so epochs are comparable. Each evaluation appends `{"epoch", "value",
    **result.to_dict()}` to `run.history["metrics"][name]` and sets `run.metrics`
    `"metric_<name>"`, `"metric_<name>_best"` and `"metric_<name>_best_epoch"`; when the value
    improves (lower for mode "min", higher for "max"; NaN never does) and `keep_best`, the
    engine copies that epoch's checkpoint to checkpoints/best.pt. Give one evaluator per run
    keep_best=True: they would share that file. `epochs` (a set) restricts evaluation to those
    epochs (the last is always evaluated).

    The sample-size rule: `min_samples` (default: the metric's own `min_samples`) is the fewest
    generated and real images from which the metric ranks checkpoints reliably. An evaluator
    that keeps the best checkpoint refuses fewer (ValueError at construction, before any
    training: a "best" chosen on too few images is chosen by chance, as chapter 2's model
    selection study of report 002's FID on 10 images measures); one that only records the
    curve (keep_best=False) warns.
    """

    def __init__(self, metric: Callable, real: torch.Tensor, *, every: int = 1,
                 epochs: set[int] | None = None, n_samples: int | None = None,
                 name: str | None = None, mode: str | None = None, keep_best: bool = True,
                 seed: int = 0, verbose: bool = True, min_samples: int | None = None):
        mode = mode or getattr(metric, "mode", "min")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.metric, self.real, self.every, self.mode = metric, real, every, mode
        self.epochs = set(epochs) if epochs is not None else None
        self.n_samples = n_samples or len(real)
        self.name = name or metric_name(metric)
        self.keep_best, self.seed, self.verbose = keep_best, seed, verbose
        self.best: float | None = None
        self.best_epoch: int | None = None
        needed = getattr(metric, "min_samples", 0) if min_samples is None else min_samples
        self.min_samples = needed
        if needed and min(self.n_samples, len(real)) < needed:
            message = (
                f"Evaluator({self.name}): {self.n_samples} generated and {len(real)} real "
                f"images, but {self.name} needs at least {needed} of each to rank checkpoints: "
                "with fewer the value mostly measures the sample size (an FID's covariance is "
                "rank-deficient below its feature dimensions; the face-generator seed kept its "
                "'best' weights by an FID of 10 images)")
            if keep_best:
                raise ValueError(f"{message}. Use more images (n_samples and real), or "
                                 "keep_best=False to record the curve without choosing a "
                                 "best checkpoint.")
            warnings.warn(f"{message}; the curve is recorded, no best checkpoint is chosen.",
                          stacklevel=2)

    def due(self, epoch: int, last: int) -> bool:
        """Whether `epoch` is evaluated."""
        if epoch == last:
            return True
        return epoch in self.epochs if self.epochs is not None else epoch % self.every == 0

    def __call__(self, run, epoch: int) -> None:
        """Evaluate after `epoch` if due; record it; mark the epoch best when it improves."""
        if not self.due(epoch, run.config.epochs):
            return
        if self.best is None:
            self._restore_best(run.history.get("metrics", {}).get(self.name, []))
        fake = run.generate(self.n_samples, seed=self.seed)
        result = self.metric(self.real, fake)
        value = float(result)
        details = result.to_dict() if hasattr(result, "to_dict") else {}
        entries = run.history.setdefault("metrics", {}).setdefault(self.name, [])
        entries.append({"epoch": epoch, **details, "value": value})
        if self._improves(value):
            self.best, self.best_epoch = value, epoch
            if self.keep_best:
                run.best_epoch = epoch  # the engine copies this epoch's checkpoint to best.pt
        run.metrics[f"metric_{self.name}"] = value
        run.metrics[f"metric_{self.name}_best"] = self.best
        run.metrics[f"metric_{self.name}_best_epoch"] = self.best_epoch
        run.metrics[f"metric_{self.name}_mode"] = self.mode  # "min": lower is better
        if self.verbose:
            best = ("none yet" if self.best is None
                    else f"{self.best:.4g} at epoch {self.best_epoch}")
            print(f"epoch {epoch}: {self.name} = {value:.4g} (best {best})")

    def _improves(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def _restore_best(self, entries: list[dict]) -> None:
        """After a resume, the best value and epoch recorded in the history so far."""
        for entry in entries:
            if entry["value"] is not None and self._improves(entry["value"]):
                self.best, self.best_epoch = entry["value"], entry["epoch"]


def curve(history: dict, name: str) -> dict[int, float]:
    """{epoch: value} of the metric `name` evaluated during a run, from its history."""
    return {e["epoch"]: e["value"] for e in history.get("metrics", {}).get(name, [])}
