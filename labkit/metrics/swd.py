"""Sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018, ProGAN).

A pretrained-network-free distance between image sets that looks at texture at several scales:
each image is split into a Laplacian pyramid (5-tap binomial filter, levels down to 16×16),
random 7×7 patches are cut from every level, and at each level the two sets of patch
descriptors are compared with the sliced Wasserstein distance: project on random unit
directions, sort, and average the absolute differences of the sorted projections.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .features import check_images
from .result import MetricResult

BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16  # cv2.pyrDown / ProGAN's filter
MIN_RESOLUTION = 16
PROJECTION_BLOCK = 2**24  # elements of one (descriptors × directions) projection block
STANDARDIZE = ("each", "real")


def _blur(images: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """5×5 binomial filter per channel with mirror (reflect) borders, as scipy's mode='mirror'."""
    channels = images.shape[1]
    kernel = (BINOMIAL[:, None] * BINOMIAL[None, :] * gain).to(images)
    kernel = kernel.expand(channels, 1, 5, 5)
    return F.conv2d(F.pad(images, (2, 2, 2, 2), mode="reflect"), kernel, groups=channels)


def pyr_down(images: torch.Tensor) -> torch.Tensor:
    """Blur with the binomial filter, then keep every second row and column (cv2.pyrDown)."""
    return _blur(images)[:, :, ::2, ::2]


def pyr_up(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Insert zeros between pixels, blur with 4× the filter, crop to `size` (cv2.pyrUp)."""
    n, c, h, w = images.shape
    up = images.new_zeros(n, c, 2 * h, 2 * w)
    up[:, :, ::2, ::2] = images
    return _blur(up, gain=4.0)[:, :, : size[0], : size[1]]


def resolutions(height: int, width: int, max_levels: int | None = None) -> list[int]:
    """The pyramid's level sizes: the image side halved while it stays ≥ 16 (32 → [32, 16])."""
    side, levels = min(height, width), []
    while side >= MIN_RESOLUTION or not levels:
        levels.append(side)
        side //= 2
    return levels[:max_levels] if max_levels else levels


def laplacian_pyramid(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels, finest first; the last level is the Gaussian low-pass residual."""
    pyramid = [images.float()]
    for _ in range(1, levels):
        pyramid.append(pyr_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - pyr_up(pyramid[-1], pyramid[-2].shape[-2:])
    return pyramid


def _patch_positions(n: int, height: int, width: int, patches: int, patch_size: int,
                     rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    r = patch_size // 2
    y = torch.randint(r, height - r, (n, patches), generator=rng)
    x = torch.randint(r, width - r, (n, patches), generator=rng)
    return y, x


def _patches(level: torch.Tensor, y: torch.Tensor, x: torch.Tensor, patch_size: int
             ) -> torch.Tensor:
    """(N·P, C, k, k) patches centred at (y, x); y, x are (N, P)."""
    r = patch_size // 2
    offsets = torch.arange(-r, r + 1, device=level.device)
    n, p = y.shape
    image = torch.arange(n, device=level.device).repeat_interleave(p)[:, None, None]
    rows = y.reshape(-1, 1, 1).to(level.device) + offsets[None, :, None]
    cols = x.reshape(-1, 1, 1).to(level.device) + offsets[None, None, :]
    return level.permute(0, 2, 3, 1)[image, rows, cols].permute(0, 3, 1, 2)


def _standardize(descriptors: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Descriptors (M, C, k, k) minus the per-channel mean, over the per-channel std, of
    `reference` (population std over all its descriptors and patch pixels), flattened."""
    mean = reference.mean(dim=(0, 2, 3), keepdim=True)
    std = reference.std(dim=(0, 2, 3), keepdim=True, unbiased=False).clamp_min(1e-8)
    return ((descriptors - mean) / std).flatten(1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, directions: int, repeats: int,
                       rng: torch.Generator) -> float:
    """Mean |sorted(a·d) − sorted(b·d)| over random unit directions d and `repeats` draws.

    `a` and `b` are (M, D) descriptor sets of equal size; as ProGAN's `sliced_wasserstein`.
    """
    if a.shape != b.shape:
        raise ValueError(f"descriptor sets differ in shape: {tuple(a.shape)}, {tuple(b.shape)}")
    block = max(1, min(directions, PROJECTION_BLOCK // max(1, a.shape[0])))
    results = []
    for _ in range(repeats):
        dirs = torch.randn(a.shape[1], directions, generator=rng).to(a)
        dirs = dirs / dirs.norm(dim=0, keepdim=True)
        total = 0.0
        for d in dirs.split(block, dim=1):
            gap = _sorted_rows(d.T @ a.T) - _sorted_rows(d.T @ b.T)
            total += float(gap.abs().double().sum())
        results.append(total / (a.shape[0] * directions))
    return sum(results) / len(results)


def _sorted_rows(values: torch.Tensor) -> torch.Tensor:
    """Each row sorted (numpy on the CPU, where it is many times faster than torch.sort)."""
    if values.device.type == "cpu":
        return torch.from_numpy(np.sort(values.contiguous().numpy(), axis=1))
    return values.sort(dim=1).values


def _take(images: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """`images` itself when it has n images, else a seeded random subset of n."""
    if len(images) == n:
        return images
    return images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]]


def swd(real: torch.Tensor, fake: torch.Tensor, *, max_levels: int | None = None,
        patches_per_image: int = 64, patch_size: int = 7, directions: int = 512,
        repeats: int = 4, seed: int = 0, max_images: int | None = None,
        standardize: str = "real") -> MetricResult:
    """Sliced Wasserstein distance (×10³) between the Laplacian-pyramid patches of two sets.

    Convention (ProGAN's sliced_wasserstein.py): images in [-1, 1]; levels of 32×32 images are
    32 and 16; `patches_per_image` random `patch_size`² patches per image and level; the
    descriptors of a level standardised per channel by the real set's mean and std over all its
    patches (`standardize="real"`, the default, so a brightness or contrast change counts) or
    each set by its own (`"each"`, exactly ProGAN, blind to a global per-channel shift or
    scale of a level); per level, the mean
    absolute difference of sorted projections on `directions` random unit vectors averaged
    over `repeats`, times 10³ (`extra["per_level"]`); `value` is the mean over levels. Both
    sets use the same number of images (min of the two, capped by `max_images`, random subset
    for the larger), the same patch positions and the same directions, all drawn from `seed`:
    the same seed gives the same value, and identical sets give exactly 0.
    """
    check_images(real, "real")
    check_images(fake, "fake")
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"real and fake images differ in shape: {tuple(real.shape[1:])} vs "
                         f"{tuple(fake.shape[1:])}")
    if standardize not in STANDARDIZE:
        raise ValueError(f"standardize must be one of {STANDARDIZE}, got {standardize!r}")
    n = min(len(real), len(fake), max_images or len(real))
    sizes = resolutions(*real.shape[-2:], max_levels)
    if min(real.shape[-2:]) < patch_size:
        raise ValueError(f"images of {tuple(real.shape[-2:])} are smaller than {patch_size}²")
    with torch.no_grad():
        real_levels = laplacian_pyramid(_take(real, n, seed), len(sizes))
        fake_levels = laplacian_pyramid(_take(fake, n, seed), len(sizes))
        rng = torch.Generator().manual_seed(seed)
        per_level = {}
        for size, real_level, fake_level in zip(sizes, real_levels, fake_levels):
            y, x = _patch_positions(n, *real_level.shape[-2:], patches_per_image, patch_size, rng)
            a = _patches(real_level, y, x, patch_size)
            b = _patches(fake_level, y, x, patch_size)
            a, b = _standardize(a, a), _standardize(b, a if standardize == "real" else b)
            per_level[str(size)] = 1e3 * sliced_wasserstein(a, b, directions, repeats, rng)
    value = sum(per_level.values()) / len(per_level)
    features = (f"laplacian pyramid {patch_size}x{patch_size} patches "
                f"(levels {', '.join(per_level)})")
    extra = {"per_level": per_level, "patches_per_image": patches_per_image,
             "directions": directions, "repeats": repeats, "seed": seed,
             "standardize": standardize}
    return MetricResult("swd", value, n, n, features, extra)
