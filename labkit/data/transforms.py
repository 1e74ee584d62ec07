"""Image transforms shared by the loaders: mode conversion, resizing, crops, uint8 tensors."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

RESIZE = "resize shorter side (PIL bilinear, antialiased) + center crop"
CROPS = "seeded random crops at native resolution, crop i from image i % count"


def convert_mode(image: Image.Image, mode: str) -> Image.Image:
    """Convert any PIL image (P, RGBA, LA, CMYK, 16-bit, ...) to ``"L"`` or ``"RGB"``."""
    if image.mode == "I" or image.mode.startswith("I;16"):
        # 16-bit grey: PIL's own convert clips at 255 instead of scaling to 0..255.
        array = np.asarray(image, dtype=np.float64) / 257.0
        image = Image.fromarray(np.clip(array, 0, 255).round().astype(np.uint8))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    return image if image.mode == mode else image.convert(mode)


def resize_center_crop(
    image: Image.Image, size: int, resample: InterpolationMode = InterpolationMode.BILINEAR
) -> Image.Image:
    """Resize the shorter side to ``size`` and center-crop ``size``×``size`` (DCGAN tutorial)."""
    if image.size != (size, size):
        image = TF.resize(image, size, interpolation=resample)
        image = TF.center_crop(image, size)
    return image


def to_chw(image: Image.Image | np.ndarray) -> np.ndarray:
    """A PIL image or an H×W(×C) uint8 array as a C×H×W uint8 array."""
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def stack(arrays: list[np.ndarray]) -> torch.Tensor:
    """Stack C×H×W uint8 arrays into one contiguous N×C×H×W uint8 tensor."""
    return torch.from_numpy(np.ascontiguousarray(np.stack(arrays)))


def resize_arrays(
    arrays: np.ndarray,
    size: int,
    mode: str,
    resample: InterpolationMode = InterpolationMode.BILINEAR,
) -> torch.Tensor:
    """N×H×W (grey) or N×H×W×3 uint8 arrays converted to ``mode`` and resized: N×C×size×size."""
    channels = 1 if mode == "L" else 3
    native = 1 if arrays.ndim == 3 else 3
    if arrays.shape[1:3] == (size, size) and channels == native:  # nothing to do: no PIL
        chw = arrays[:, None] if arrays.ndim == 3 else arrays.transpose(0, 3, 1, 2)
        return torch.from_numpy(np.array(chw, dtype=np.uint8, order="C"))
    if len(arrays) == 0:
        return torch.empty((0, channels, size, size), dtype=torch.uint8)
    return stack([
        to_chw(resize_center_crop(convert_mode(Image.fromarray(a), mode), size, resample))
        for a in arrays
    ])  # fmt: skip


def random_crops(images: list[np.ndarray], count: int, size: int, seed: int) -> torch.Tensor:
    """``count`` seeded random ``size``×``size`` crops of C×H×W arrays, image ``i % len``."""
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(count):
        image = images[i % len(images)]
        top = rng.integers(0, image.shape[1] - size + 1)
        left = rng.integers(0, image.shape[2] - size + 1)
        crops.append(image[:, top : top + size, left : left + size])
    return stack(crops)


def at_least(image: Image.Image, size: int) -> Image.Image:
    """Upscale (bicubic) an image whose shorter side is below ``size``; others pass through."""
    if min(image.size) >= size:
        return image
    return TF.resize(image, size, interpolation=InterpolationMode.BICUBIC)
