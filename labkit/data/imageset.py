"""``ImageSet``: a decoded dataset as one uint8 tensor, and fast device batches cut from it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in 0..255 as float32 in [-1, 1]."""
    return images.float() / 127.5 - 1


@dataclass(repr=False, eq=False)
class ImageSet:
    """Images (uint8, N×C×H×W, CPU), optional int64 labels, class names, a name and a manifest."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    classes: list[str] = field(default_factory=list)
    name: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)
    _on_device: dict[str, tuple[torch.Tensor, torch.Tensor | None]] = field(
        default_factory=dict, init=False
    )

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(
                f"images must be uint8 N×C×H×W, got {self.images.dtype} {tuple(self.images.shape)}"
            )
        self.images = self.images.contiguous()
        if self.labels is not None and len(self.labels) != len(self.images):
            raise ValueError(f"{len(self.labels)} labels for {len(self.images)} images")

    def __len__(self) -> int:
        return self.images.shape[0]

    def __repr__(self) -> str:
        _, c, h, w = self.images.shape
        labels = f", {len(self.classes)} classes" if self.classes else ""
        return f"ImageSet({self.name!r}, {len(self)} images, {c}×{h}×{w}{labels})"

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
        """One epoch of float batches in [-1, 1] on ``device`` (``(x, y)`` if ``with_labels``).

        The order and the flip mask are drawn here, on the CPU, from ``generator``, so one
        seeded generator gives the same batches on any device. ``shard=(rank, world)`` yields
        this process's slice of every global batch (data-parallel training; ``batch_size`` is
        the global batch and must be divisible by ``world``).
        """
        rank, world = shard
        if not 0 <= rank < world or batch_size % world:
            raise ValueError(f"shard={shard}: batch_size {batch_size} must split evenly over "
                             f"{world} processes and rank must be in 0..{world - 1}")
        if with_labels and self.labels is None:
            raise ValueError(f"{self.name!r} has no labels")
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        mirror = torch.rand(n, generator=generator) < 0.5 if flip else None
        device = torch.device(device)
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        return self._iterate(batch_size, device, order, mirror, drop_last, with_labels, shard)

    def _iterate(
        self,
        batch_size: int,
        device: torch.device,
        order: torch.Tensor,
        mirror: torch.Tensor | None,
        drop_last: bool,
        with_labels: bool,
        shard: tuple[int, int],
    ) -> Iterator[torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
        images, labels = self._device_copy(device)
        resident = images.device == device
        order = order.to(images.device)  # one copy per epoch; slices below need no host sync
        if mirror is not None:
            mirror = mirror.to(device, non_blocking=True)
        stop = self.num_batches(batch_size, drop_last) * batch_size
        rank, world = shard
        local = batch_size // world
        for start in range(0, min(stop, len(order)), batch_size):
            start += rank * local  # this process's slice of the global batch
            index = order[start : start + local]
            batch = images[index]
            if not resident:  # pinned host memory -> device
                batch = batch.pin_memory().to(device, non_blocking=True)
            x = to_float(batch)
            if mirror is not None:
                mask = mirror[start : start + local]
                x = torch.where(mask[:, None, None, None], x.flip(-1), x)
            if with_labels:
                assert labels is not None
                yield x, labels[index.to(device, non_blocking=True)]
            else:
                yield x

    def _device_copy(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The uint8 data for ``device``: resident there if it fits, else pinned on the host."""
        key = str(device)
        if key not in self._on_device:
            images = self.images
            if device.type == "cuda":
                free, _ = torch.cuda.mem_get_info(device)
                fits = images.numel() < free // 2
                images = images.to(device) if fits else images.pin_memory()
            elif device.type != "cpu":
                images = images.to(device)
            labels = None if self.labels is None else self.labels.to(device)
            self._on_device[key] = (images, labels)
        return self._on_device[key]

    def float_images(
        self, n: int | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The first ``n`` images (a random ``n`` if ``generator`` is given) as float in [-1, 1]."""
        n = len(self) if n is None else min(n, len(self))
        if generator is None:
            index = torch.arange(n)
        else:
            index = torch.randperm(len(self), generator=generator)[:n]
        return to_float(self.images[index])
