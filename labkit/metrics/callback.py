"""`MetricCallback`: a generation metric evaluated during `train_gan`, keeping the best weights."""

from __future__ import annotations

import functools
import math
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from ..atomic import atomic_write
from ..train.rundir import write_json
from .result import MetricResult

MODES = ("min", "max")
FEATURE_DIMS = {"fid": 2048, "classifier_fid": 64}  # feature sizes of the FID-type metrics


def metric_name(metric: Callable) -> str:
    """A metric's name: the function's (through functools.partial), else the class name."""
    while isinstance(metric, functools.partial):
        metric = metric.func
    return getattr(metric, "__name__", type(metric).__name__)


def _fid_dims(metric: Callable) -> int | None:
    """The feature size of an FID-type metric (Inception or classifier features), else None."""
    keywords = {}
    while isinstance(metric, functools.partial):
        keywords = {**metric.keywords, **keywords}
        metric = metric.func
    name = getattr(metric, "__name__", "")
    if name == "fid" and keywords.get("features", "inception") != "inception":
        return None
    return FEATURE_DIMS.get(name)


class MetricCallback:
    """Evaluate `metric(real, fake)` every `every` epochs (and at the last) during `train_gan`.

    Convention: the fakes are `run.generate(n_samples, seed=seed)`, the same latent vectors at
    every evaluation, so epochs are comparable. Each evaluation appends `{"epoch", "value",
    **result.to_dict()}` to `run.history["metrics"][name]` (history.json is rewritten), sets
    `run.metrics["metric_<name>"]`, `"metric_<name>_best"` and `"metric_<name>_best_epoch"`,
    and, when the value improves (lower for mode="min", higher for "max"; NaN never does),
    copies the epoch's checkpoint to checkpoints/best.pt atomically if `keep_best` (give one
    callback per run keep_best=True: they would share that file). Warns at construction when
    an FID-type metric gets fewer images than feature dimensions.
    """

    def __init__(self, metric: Callable[[torch.Tensor, torch.Tensor], MetricResult],
                 real: torch.Tensor, *, every: int = 1, n_samples: int | None = None,
                 name: str | None = None, mode: str = "min", keep_best: bool = True,
                 seed: int = 0, verbose: bool = True):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.metric, self.real, self.every, self.mode = metric, real, every, mode
        self.n_samples = n_samples or len(real)
        self.name = name or metric_name(metric)
        self.keep_best, self.seed, self.verbose = keep_best, seed, verbose
        self.best: float | None = None
        self.best_epoch: int | None = None
        dims = _fid_dims(metric)
        if dims and min(self.n_samples, len(real)) < dims:
            warnings.warn(
                f"MetricCallback({self.name}): {self.n_samples} generated and {len(real)} real "
                f"images for an FID in {dims}-dimensional features. With fewer images than "
                "dimensions the covariance is rank-deficient and the value mostly measures the "
                "sample size (the face-generator seed kept its 'best' weights by an FID of 10 "
                f"images); use at least {dims} of each, or swd/kid.", stacklevel=2)

    def __call__(self, run, epoch: int) -> None:
        """Evaluate after `epoch` if it is due; record it; keep best.pt when it improves."""
        last = run.config.epochs
        if epoch % self.every and epoch != last:
            return
        if self.best is None:
            self._restore_best(run.history.get("metrics", {}).get(self.name, []))
        fake = run.generate(self.n_samples, seed=self.seed)
        result = self.metric(self.real, fake)
        if not isinstance(result, MetricResult):
            result = MetricResult(self.name, float(result), len(self.real), len(fake), "")
        value = float(result)
        entries = run.history.setdefault("metrics", {}).setdefault(self.name, [])
        entries.append({"epoch": epoch, "value": value, **result.to_dict()})
        if self._improves(value):
            self.best, self.best_epoch = value, epoch
            if self.keep_best:
                self._keep_checkpoint(run, epoch)
        run.metrics[f"metric_{self.name}"] = value
        run.metrics[f"metric_{self.name}_best"] = self.best
        run.metrics[f"metric_{self.name}_best_epoch"] = self.best_epoch
        write_json(Path(run.dir) / "history.json", run.history)
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
            if self._improves(entry["value"]):
                self.best, self.best_epoch = entry["value"], entry["epoch"]

    def _keep_checkpoint(self, run, epoch: int) -> None:
        source = Path(run.checkpoint_path)
        every = getattr(run.config, "checkpoint_every", 1)
        if not source.is_file() or (epoch % every and epoch != run.config.epochs):
            warnings.warn(f"epoch {epoch} has no checkpoint (checkpoint_every={every}); "
                          "best.pt is not updated. Evaluate on checkpoint epochs.", stacklevel=3)
            return
        atomic_write(source.with_name("best.pt"), lambda tmp: shutil.copyfile(source, tmp))
