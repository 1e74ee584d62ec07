"""PSNR and SSIM of super-resolved images, computed as the SR literature (SRGAN and after) does.

Both metrics quantise the images to 8 bits, take the BT.601 luma Y (16..235) of MATLAB's
``rgb2ycbcr``, shave ``scale`` pixels off every side, and compare with data range 255. The
metric cores are scikit-image's ``peak_signal_noise_ratio`` and ``structural_similarity``
(Gaussian window σ = 1.5, 11×11, K1 = 0.01, K2 = 0.03, population covariances: Wang et al.'s
``ssim_index.m``; no automatic downsampling of large images, unlike their later ``ssim.m``).
"""

from __future__ import annotations

from typing import Literal, TypeVar

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

Image = TypeVar("Image", np.ndarray, torch.Tensor)
InputRange = Literal["uint8", "unit", "signed"]
Reduction = Literal["mean", "none"]

INPUT_RANGES: dict[str, tuple[float, float]] = {
    "uint8": (0.0, 255.0),  # uint8 arrays, or floats on the 0..255 scale
    "unit": (0.0, 1.0),  # floats in [0, 1] (torchvision's ToTensor)
    "signed": (-1.0, 1.0),  # floats in [-1, 1] (tanh generators, labkit's training batches)
}
LUMA_WEIGHTS = (65.481, 128.553, 24.966)  # BT.601 Y for R, G, B in [0, 1], added to 16
SSIM_SIGMA = 1.5  # scikit-image's Gaussian window: radius int(3.5·σ + 0.5) = 5, i.e. 11×11


def rgb_to_y(image: Image) -> Image:
    """BT.601 luma of 0..255 RGB as MATLAB's ``rgb2ycbcr``: 16 + (65.481 R + 128.553 G + 24.966 B).

    R, G, B are taken in [0, 1] (i.e. 8-bit values / 255), so Y spans 16 (black) to 235
    (white) and is returned unrounded on the 0..255 scale (as BasicSR's metric code; MATLAB
    rounds Y to integers for uint8 input). A numpy array is ...×3 (channels last) and gives a
    float64 array without the channel axis; a tensor is 3×H×W or N×3×H×W and gives 1×H×W or
    N×1×H×W, float of the input's dtype (float32 for integer input).
    """
    if isinstance(image, torch.Tensor):
        if image.ndim not in (3, 4) or image.shape[-3] != 3:
            raise ValueError(f"rgb_to_y: expected a 3×H×W or N×3×H×W tensor, got {image.shape}")
        x = image if image.is_floating_point() else image.float()
        w = torch.tensor(LUMA_WEIGHTS, dtype=x.dtype, device=x.device).view(3, 1, 1) / 255.0
        return 16.0 + (x * w).sum(dim=-3, keepdim=True)
    x = np.asarray(image, dtype=np.float64)
    if x.ndim < 2 or x.shape[-1] != 3:
        raise ValueError(f"rgb_to_y: expected an array of shape ...×3, got {x.shape}")
    return 16.0 + x @ (np.array(LUMA_WEIGHTS) / 255.0)


def psnr(
    sr: Image,
    hr: Image,
    *,
    scale: int,
    y_channel: bool = True,
    input_range: InputRange | None = None,
    data_range: float = 255.0,
    reduction: Reduction = "mean",
) -> float | np.ndarray:
    """PSNR in dB on 8-bit images as the SR literature: uint8, Y (BT.601), ``scale`` px shaved.

    Convention: both images are quantised to uint8 (see ``to_uint8_nhwc`` for layouts and
    ``input_range``, which float data must give), converted to Y (16..235) unless
    ``y_channel=False`` (then all RGB channels), shaved by ``scale`` pixels on every side, and
    compared by scikit-image's ``peak_signal_noise_ratio`` with ``data_range`` (255).
    Identical images give ``inf``. A
    batch gives the mean of the per-image PSNRs (as benchmark tables average over images), or
    those N values with ``reduction="none"``.
    """
    pairs = _prepare_pairs(sr, hr, scale, y_channel, input_range)
    with np.errstate(divide="ignore"):  # identical images: MSE 0, PSNR inf
        values = [peak_signal_noise_ratio(h, s, data_range=data_range) for s, h in pairs]
    return _reduce(values, reduction)


def ssim(
    sr: Image,
    hr: Image,
    *,
    scale: int,
    y_channel: bool = True,
    input_range: InputRange | None = None,
    reduction: Reduction = "mean",
) -> float | np.ndarray:
    """SSIM on 8-bit images as the SR literature: uint8, Y (BT.601), ``scale`` px shaved.

    Convention: the images are prepared exactly as for ``psnr``, then compared by
    scikit-image's ``structural_similarity`` with an 11×11 Gaussian window of σ = 1.5,
    K1 = 0.01, K2 = 0.03, population (not sample) covariances and data range 255 — Wang et
    al.'s settings. The map is averaged away from a 5-pixel margin (the window's 'valid'
    part); with ``y_channel=False`` the RGB channels are averaged. A batch gives the mean of
    the per-image values, or those N values with ``reduction="none"``.
    """
    values = []
    for s, h in _prepare_pairs(sr, hr, scale, y_channel, input_range):
        channel_axis = -1 if s.shape[-1] > 1 else None
        if channel_axis is None:
            s, h = s[..., 0], h[..., 0]
        values.append(structural_similarity(
            h, s, gaussian_weights=True, sigma=SSIM_SIGMA, use_sample_covariance=False,
            data_range=255.0, channel_axis=channel_axis,
        ))  # fmt: skip
    return _reduce(values, reduction)


def to_uint8_nhwc(images: Image, input_range: InputRange | None = None) -> np.ndarray:
    """Images as an N×H×W×C uint8 array, rounded half up and clipped as MATLAB's ``im2uint8``.

    Layouts: numpy H×W, H×W×C or N×H×W×C (channels last); torch C×H×W or N×C×H×W. Value
    convention ``input_range``: "uint8" (0..255), "unit" ([0, 1]) or "signed" ([-1, 1]),
    mapped linearly onto 0..255, applies to non-uint8 data, which must state it (values far
    outside the stated range raise a ValueError); uint8 data is always 0..255 and passes
    through, so a uint8 HR image can be compared with a float SR output.
    """
    x = _nhwc(images)
    if x.dtype == np.uint8:
        return x
    if input_range is None:
        raise ValueError(
            f"{x.dtype} images: say how their values are scaled with input_range="
            '"uint8" (0..255), "unit" ([0, 1]) or "signed" ([-1, 1])'
        )
    if input_range not in INPUT_RANGES:
        raise ValueError(f"input_range must be one of {list(INPUT_RANGES)}, got {input_range!r}")
    low, high = INPUT_RANGES[input_range]
    x = (x.astype(np.float64) - low) * (255.0 / (high - low))
    if x.size and (x.min() < -0.25 * 255 or x.max() > 1.25 * 255):
        raise ValueError(
            f"values from {x.min() / 255 * (high - low) + low:.3g} to "
            f"{x.max() / 255 * (high - low) + low:.3g} do not fit input_range={input_range!r}"
        )
    return np.floor(np.clip(x, 0.0, 255.0) + 0.5).astype(np.uint8)


def _nhwc(images: Image) -> np.ndarray:
    """numpy H×W / H×W×C / N×H×W×C or torch C×H×W / N×C×H×W as an N×H×W×C numpy array."""
    if isinstance(images, torch.Tensor):
        if images.ndim not in (3, 4):
            raise ValueError(f"expected a C×H×W or N×C×H×W tensor, got shape {tuple(images.shape)}")
        x = images.detach().cpu()
        x = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
        x = x.numpy()
        return (x[None] if x.ndim == 3 else x).transpose(0, 2, 3, 1)
    x = np.asarray(images)
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"expected an H×W, H×W×C or N×H×W×C array, got shape {x.shape}")
    return x[None, ..., None] if x.ndim == 2 else x[None] if x.ndim == 3 else x


def _prepare_pairs(
    sr: Image, hr: Image, scale: int, y_channel: bool, input_range: InputRange | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per image, the (sr, hr) float64 H×W×C arrays: quantised, Y if asked, border shaved."""
    if scale < 0 or int(scale) != scale:
        raise ValueError(f"scale must be a non-negative integer, got {scale}")
    scale = int(scale)
    prepared = []
    for images in (sr, hr):
        x = to_uint8_nhwc(images, input_range).astype(np.float64)
        if x.shape[-1] not in (1, 3):
            raise ValueError(f"expected 1 or 3 channels, got {x.shape[-1]}")
        if y_channel and x.shape[-1] == 3:
            x = rgb_to_y(x)[..., None]  # a 1-channel image is already luma
        height, width = x.shape[1:3]
        if min(height, width) <= 2 * scale:
            raise ValueError(f"images of {height}×{width} have nothing left after shaving {scale}")
        prepared.append(x[:, scale : height - scale, scale : width - scale])
    sr_y, hr_y = prepared
    if sr_y.shape != hr_y.shape:
        raise ValueError(f"sr and hr differ in shape: {sr_y.shape} vs {hr_y.shape} (N×H×W×C)")
    return list(zip(sr_y, hr_y))


def _reduce(values: list[float], reduction: Reduction) -> float | np.ndarray:
    """The mean of per-image values as a float, or the values as a float64 array."""
    if reduction == "none":
        return np.asarray(values, dtype=np.float64)
    if reduction == "mean":
        return float(np.mean(values))
    raise ValueError(f'reduction must be "mean" or "none", got {reduction!r}')
