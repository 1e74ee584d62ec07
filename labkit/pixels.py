"""Pixel conversions, one place for each: uint8 (0..255) ↔ signed float [-1, 1] ↔ unit float [0, 1].

Every network in the course sees images in [-1, 1] (the generators end in Tanh); datasets and
caches hold uint8; figures and savers want [0, 1]. Rounding: to uint8 rounds half up, so a
value that came from uint8 goes back to the same integer.
"""

from __future__ import annotations

import numpy as np
import torch


def to_signed(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in 0..255 as float32 in [-1, 1]."""
    return images.float() / 127.5 - 1


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in [-1, 1] as uint8 in 0..255 (clamped, rounded half up)."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5 + 0.5).floor().to(torch.uint8)


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """Float images in [-1, 1] as float in [0, 1] (clamped)."""
    return (images.float().clamp(-1, 1) + 1) / 2


def unit_to_signed(images: torch.Tensor) -> torch.Tensor:
    """Float images in [0, 1] as float in [-1, 1]."""
    return images.float() * 2 - 1


def hwc_uint8(image) -> np.ndarray:
    """One image for display as H×W×C uint8: a C×H×W tensor in [-1, 1] (or uint8), or an
    H×W×C array already in 0..255."""
    if isinstance(image, torch.Tensor):
        x = image.detach().cpu()
        return (x if x.dtype == torch.uint8 else to_uint8(x)).permute(1, 2, 0).numpy()
    return np.asarray(image, dtype=np.uint8)
