"""What a loader is asked for (``Request``) and what it hands back (``Source``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

# A decoder returns the uint8 images (N, C, H, W) and int64 labels (N,) or None.
Decoded = tuple[torch.Tensor, "torch.Tensor | None"]


@dataclass(frozen=True)
class Request:
    """A validated ``load`` call with every default filled in."""

    name: str
    root: Path
    split: str
    image_size: int
    channels: int
    subset: int | None
    classes: tuple[str, ...] | None
    all_classes: tuple[str, ...]
    download: bool
    seed: int

    @property
    def mode(self) -> str:
        """The PIL mode the images are converted to: ``"L"`` or ``"RGB"``."""
        return "L" if self.channels == 1 else "RGB"

    @property
    def class_ids(self) -> list[int] | None:
        """Indices (into ``all_classes``) of the classes to keep, or None for all."""
        if self.classes is None:
            return None
        return [self.all_classes.index(c) for c in self.classes]


@dataclass
class Source:
    """Located data: the files it comes from (for the cache key) and how to decode it."""

    files: Sequence[Path]
    decode: Callable[[], Decoded]
    transform: str
    base: Path | None = None  # paths in the fingerprint are relative to this
    packaged: bool = False  # shipped inside an installed package: fingerprint path + size only


def select(labels: np.ndarray | None, request: Request, count: int) -> np.ndarray:
    """Indices of the items to keep, in order: those of the wanted classes, then the first N."""
    keep = np.arange(count)
    if labels is not None and request.class_ids is not None:
        keep = keep[np.isin(labels, request.class_ids)]
    if request.subset is not None:
        keep = keep[: request.subset]
    return keep
