"""An exponential moving average (EMA) of the generator's weights, for sampling and evaluation.

After every generator update, θ_ema ← β_t·θ_ema + (1 - β_t)·θ, with β_t = min(β, (1+t)/(10+t))
when warm-up is on (t: the number of updates so far; TensorFlow's ExponentialMovingAverage
rule), so that a short run's average is not dominated by the random initial weights. G is
trained as before; only sampling and evaluation use the average (Karras et al. 2018; Yazıcı et
al. 2019).

BatchNorm. Only the weights (parameters) are averaged. The buffers — BatchNorm's running mean
and variance and its batch counter — are copied from the trained generator after each update,
as StyleGAN2-ADA does. The course samples with BatchNorm in train mode (each generated batch is
normalised by its own statistics; see `engine._sample`), so the averaged generator's samples
are normalised by the statistics of *its own* activations and the copied buffers play no part.
In eval mode they would belong to the trained weights, not the averaged ones: call
`recalibrate_batchnorm(ema.model, inputs)` first to recompute them for the average.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import nn


class EMA:
    """The moving average of `model`'s parameters (a frozen copy, `ema.model`)."""

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True):
        if not 0 < decay < 1:
            raise ValueError(f"EMA decay must lie in (0, 1), got {decay!r}")
        self.decay, self.warmup, self.updates = decay, warmup, 0
        self.model = copy.deepcopy(model).requires_grad_(False)

    def current_decay(self) -> float:
        """β_t for the next update: β, or (1+t)/(10+t) while that is smaller (warm-up)."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """One step of the average towards `model`'s current weights; buffers are copied."""
        decay = self.current_decay()
        for average, value in zip(self.model.parameters(), model.parameters(), strict=True):
            average.lerp_(value.detach(), 1 - decay)  # average + (1-β)(value - average)
        for average, value in zip(self.model.buffers(), model.buffers(), strict=True):
            average.copy_(value)
        self.updates += 1

    def state_dict(self) -> dict:
        """The averaged weights and the update count (a checkpoint's `extra['ema']`)."""
        return {"model": self.model.state_dict(), "updates": self.updates,
                "decay": self.decay, "warmup": self.warmup}

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict()` exactly (the next update continues the same average)."""
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, inputs: Iterable) -> nn.Module:
    """Recompute every BatchNorm's running statistics as the plain average over `inputs`
    (batches of model inputs, e.g. latent vectors), for use in eval mode; returns the model."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, m.training) for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches seen
        m.train()
    try:
        for batch in inputs:
            model(*batch) if isinstance(batch, tuple) else model(batch)
    finally:
        for m, (momentum, training) in zip(norms, saved, strict=True):
            m.momentum = momentum
            m.train(training)
    return model
