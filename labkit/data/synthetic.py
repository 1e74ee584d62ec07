"""A tiny synthetic set for tests: one bright Gaussian blob per image on a dark background."""

from __future__ import annotations

import torch

from .imageset import ImageSet


def synthetic_blobs(
    n: int = 64, image_size: int = 16, channels: int = 1, seed: int = 0
) -> ImageSet:
    """``n`` images, each a bright Gaussian blob at a seeded random position (tests only)."""
    generator = torch.Generator().manual_seed(seed)
    centers = torch.rand(n, 2, generator=generator) * (image_size - 1)
    grid = torch.arange(image_size, dtype=torch.float32)
    dy = grid[None, :, None] - centers[:, 0, None, None]
    dx = grid[None, None, :] - centers[:, 1, None, None]
    sigma = max(image_size / 8, 1.0)
    blob = torch.exp(-(dy**2 + dx**2) / (2 * sigma**2))  # N×H×W in (0, 1]
    images = (10 + 245 * blob).round().to(torch.uint8)
    images = images[:, None].expand(n, channels, image_size, image_size).contiguous()
    manifest = {
        "name": "synthetic_blobs",
        "n": n,
        "image_size": image_size,
        "channels": channels,
        "seed": seed,
    }
    return ImageSet(images, None, [], "synthetic_blobs", manifest)
