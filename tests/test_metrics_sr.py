"""Tests for the MATLAB-style bicubic resize and the SR metrics (PSNR/SSIM on 8-bit Y), offline."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from labkit.data import imresize
from labkit.metrics.sr import psnr, rgb_to_y, ssim, to_uint8_nhwc

RNG = np.random.default_rng(2024)

# The a = -0.5 cubic at 1/4 and 3/4, 5/4 and 7/4 (worked out by hand from
# 1.5|x|³ - 2.5|x|² + 1 and -0.5|x|³ + 2.5|x|² - 4|x| + 2): 111/128, 29/128, -9/128, -3/128.
# Downscaling by 1/2 stretches the kernel ×2 and halves it, so the taps at distances
# 0.5, 1.5, 2.5, 3.5 input pixels weigh cubic(0.25)/2, ..., cubic(1.75)/2 (they sum to 1).
HALF_TAPS = np.array([-3, -9, 29, 111, 111, 29, -9, -3]) / 256
# cubic at 1/8, 3/8, ..., 15/8: the ×4 upsampling weights on MATLAB's grid (u = x/4 + 3/8)
CUBIC_EIGHTHS = np.array([
    0.9638671875, 0.7275390625, 0.3896484375, 0.0908203125,
    -0.0478515625, -0.0732421875, -0.0439453125, -0.0068359375,
])  # fmt: skip


def keys_cubic(d: np.ndarray) -> np.ndarray:
    """Keys' cubic with a = -0.5, written out again here independently of labkit."""
    d = np.abs(d)
    inner = np.where(d <= 1, 1.5 * d**3 - 2.5 * d**2 + 1, 0.0)
    outer = np.where((d > 1) & (d <= 2), -0.5 * d**3 + 2.5 * d**2 - 4 * d + 2, 0.0)
    return inner + outer


def mirror(j: int, n: int) -> int:
    """0-based index j reflected into 0..n-1 with the edge pixel repeated (... 1 0 | 0 1 ...)."""
    while not 0 <= j < n:
        j = -j - 1 if j < 0 else 2 * n - 1 - j
    return j


def downscale_matrix(n: int, factor: int, taps: np.ndarray) -> np.ndarray:
    """(n/factor)×n matrix: output k centred at input factor·k + (factor-1)/2, mirrored edges."""
    half = len(taps) // 2
    matrix = np.zeros((n // factor, n))
    for k in range(n // factor):
        first = factor * k + factor // 2 - half  # taps at distances 0.5, 1.5, ... either side
        for t, weight in enumerate(taps):
            matrix[k, mirror(first + t, n)] += weight
    return matrix


def smooth_rgb(height: int, width: int) -> np.ndarray:
    """A smooth uint8 colour image: low-frequency sinusoids, a different mix per channel."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    channels = [
        np.sin(2 * np.pi * (1.3 * x + 0.4 * y)),
        np.cos(2 * np.pi * (0.7 * x - 1.1 * y)),
        np.sin(2 * np.pi * (0.5 * x * y + 0.9 * y)),
    ]
    return np.round(127.5 + 100 * np.stack(channels, axis=-1)).astype(np.uint8)


# --- imresize -------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [0.25, 0.3, 0.5, 1.7, 2, 4])
def test_imresize_keeps_a_constant_image_constant(scale: float) -> None:
    grey = np.full((13, 10, 3), 137, dtype=np.uint8)
    assert np.array_equal(imresize(grey, scale), np.full_like(imresize(grey, scale), 137))
    flat = np.full((13, 10), 0.37)
    np.testing.assert_allclose(imresize(flat, scale), 0.37, rtol=0, atol=1e-12)


def test_imresize_half_matches_the_stretched_kernel_by_hand() -> None:
    assert HALF_TAPS.sum() == 1.0
    for n in (8, 6):
        image = RNG.random((n, n))
        a = downscale_matrix(n, 2, HALF_TAPS)
        np.testing.assert_allclose(imresize(image, 0.5), a @ image @ a.T, rtol=0, atol=1e-12)


def test_imresize_quarter_matches_the_stretched_kernel_by_hand() -> None:
    distances = np.abs(np.arange(16) - 7.5)  # 7.5, 6.5, ..., 0.5, 0.5, ..., 7.5
    taps = keys_cubic(distances / 4) / 4
    taps /= taps.sum()
    image = RNG.random((12, 12))  # 3 outputs per axis, all with mirrored taps
    a = downscale_matrix(12, 4, taps)
    np.testing.assert_allclose(imresize(image, 0.25), a @ image @ a.T, rtol=0, atol=1e-12)


def test_imresize_x4_upscale_of_an_impulse_gives_the_cubic_at_eighths() -> None:
    image = np.zeros((3, 9))
    image[:, 4] = 1.0  # a vertical line: constant along the height
    out = imresize(image, 4)
    assert out.shape == (12, 36)
    expected = np.zeros(36)
    expected[10:26] = np.concatenate([CUBIC_EIGHTHS[::-1], CUBIC_EIGHTHS])  # 15/8 ... 1/8 1/8 ...
    np.testing.assert_allclose(out, np.tile(expected, (12, 1)), rtol=0, atol=1e-12)
    np.testing.assert_allclose(CUBIC_EIGHTHS, keys_cubic(np.arange(1, 16, 2) / 8), atol=0)


@pytest.mark.parametrize(
    ("kwargs", "shape"),
    [
        ({"scale": 0.3}, (3, 4)),  # ceil(2.1), ceil(3.3)
        ({"scale": 1.7}, (12, 19)),  # ceil(11.9), ceil(18.7)
        ({"scale": 0.25}, (2, 3)),  # ceil(1.75), ceil(2.75)
        ({"output_shape": (5, 20)}, (5, 20)),
    ],
)
def test_imresize_output_sizes(kwargs: dict, shape: tuple[int, int]) -> None:
    assert imresize(np.zeros((7, 11), np.uint8), **kwargs).shape == shape
    assert imresize(np.zeros((7, 11, 3)), **kwargs).shape == (*shape, 3)
    assert imresize(torch.zeros(2, 3, 7, 11), **kwargs).shape == (2, 3, *shape)


def test_imresize_keeps_type_and_dtype() -> None:
    assert imresize(np.zeros((8, 8, 3), np.uint8), 0.5).dtype == np.uint8
    assert imresize(np.zeros((8, 8), np.float32), 2).dtype == np.float32
    assert imresize(np.zeros((8, 8)), 2).dtype == np.float64
    out = imresize(torch.zeros(3, 8, 8), 0.5)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    with pytest.raises(TypeError):
        imresize(np.zeros((8, 8), np.int32), 2)
    with pytest.raises(ValueError):
        imresize(np.zeros((8, 8)), 2, output_shape=(4, 4))


def test_imresize_uint8_rounds_half_up_and_clips() -> None:
    image = RNG.integers(0, 256, (6, 40), dtype=np.uint8)
    image[:, ::7] = 255  # bright spikes: the cubic's overshoot goes past 255
    exact = imresize(image.astype(np.float64), output_shape=(6, 80))  # only the width changes
    assert exact.max() > 255 and exact.min() < 0
    assert np.any(exact % 1 == 0.5)  # ×2 weights are k/128: exact ties occur
    expected = np.floor(np.clip(exact, 0, 255) + 0.5)
    assert np.array_equal(imresize(image, output_shape=(6, 80)), expected)


def test_imresize_tensor_matches_numpy() -> None:
    image = RNG.random((2, 17, 23, 3))
    for scale in (0.25, 1.7):
        tensor = imresize(torch.from_numpy(image).permute(0, 3, 1, 2), scale)
        arrays = np.stack([imresize(x, scale) for x in image])
        np.testing.assert_allclose(tensor.permute(0, 2, 3, 1).numpy(), arrays, atol=1e-12)


def test_imresize_is_not_torch_bicubic() -> None:
    image = torch.from_numpy(RNG.random((1, 1, 16, 16)))
    ours = imresize(image, 2)
    theirs = F.interpolate(image, scale_factor=2, mode="bicubic", align_corners=False)
    assert ours.shape == theirs.shape
    assert (ours - theirs).abs().max() > 1e-2  # a = -0.5 vs a = -0.75


def test_x4_bicubic_round_trip_is_plausible_and_beats_nearest() -> None:
    hr = smooth_rgb(96, 128)
    lr = imresize(hr, 0.25)
    assert lr.shape == (24, 32, 3)
    bicubic = psnr(imresize(lr, 4), hr, scale=4)
    nearest = psnr(lr.repeat(4, axis=0).repeat(4, axis=1), hr, scale=4)
    assert bicubic > 25 and bicubic > nearest + 1


# --- rgb_to_y -------------------------------------------------------------------------------


def test_rgb_to_y_known_values() -> None:
    colours = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]])
    expected = np.array([[16.0, 235.0, 81.481, 144.553, 40.966]])
    y = rgb_to_y(colours.astype(np.uint8))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, expected, atol=1e-9)
    np.testing.assert_allclose(rgb_to_y(colours.astype(np.float32)), expected, atol=1e-4)
    tensor = torch.from_numpy(colours.astype(np.float64)).permute(2, 0, 1)[None]  # 1×3×1×5
    y_tensor = rgb_to_y(tensor)
    assert y_tensor.shape == (1, 1, 1, 5)
    np.testing.assert_allclose(y_tensor[0, 0].numpy(), expected, atol=1e-9)


# --- psnr / ssim ----------------------------------------------------------------------------


def hand_y(image: np.ndarray) -> np.ndarray:
    """BT.601 Y of a uint8 H×W×3 image, from the formula, for the reference values."""
    r, g, b = (image[..., i].astype(np.float64) / 255 for i in range(3))
    return 16 + 65.481 * r + 128.553 * g + 24.966 * b


def pair(height: int = 40, width: int = 48, noise: float = 12.0) -> tuple[np.ndarray, ...]:
    """A smooth uint8 HR image and a noisy SR version of it."""
    hr = smooth_rgb(height, width)
    sr = np.clip(hr + RNG.normal(0, noise, hr.shape), 0, 255).round().astype(np.uint8)
    return sr, hr


def test_psnr_and_ssim_match_scikit_image_on_shaved_y() -> None:
    sr, hr = pair()
    s, h = hand_y(sr)[4:-4, 4:-4], hand_y(hr)[4:-4, 4:-4]
    expected_psnr = peak_signal_noise_ratio(h, s, data_range=255)
    expected_ssim = structural_similarity(
        h, s, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    assert math.isclose(psnr(sr, hr, scale=4), expected_psnr, rel_tol=1e-12)
    assert math.isclose(ssim(sr, hr, scale=4), expected_ssim, rel_tol=1e-12)
    unshaved = peak_signal_noise_ratio(hand_y(hr), hand_y(sr), data_range=255)
    assert not math.isclose(psnr(sr, hr, scale=4), unshaved, rel_tol=1e-6)


def test_rgb_option_differs_from_y_and_matches_scikit_image() -> None:
    sr, hr = pair()
    s, h = sr[2:-2, 2:-2].astype(np.float64), hr[2:-2, 2:-2].astype(np.float64)
    rgb_psnr = psnr(sr, hr, scale=2, y_channel=False)
    rgb_ssim = ssim(sr, hr, scale=2, y_channel=False)
    assert math.isclose(rgb_psnr, peak_signal_noise_ratio(h, s, data_range=255), rel_tol=1e-12)
    expected = structural_similarity(
        h, s, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255,
        channel_axis=-1,
    )  # fmt: skip
    assert math.isclose(rgb_ssim, expected, rel_tol=1e-12)
    assert abs(rgb_psnr - psnr(sr, hr, scale=2)) > 0.1
    assert abs(rgb_ssim - ssim(sr, hr, scale=2)) > 1e-3


def test_only_the_shaved_border_is_ignored() -> None:
    sr, hr = pair()
    outside = sr.copy()
    outside[:4], outside[-4:], outside[:, :4], outside[:, -4:] = 0, 255, 0, 255
    assert psnr(outside, hr, scale=4) == psnr(sr, hr, scale=4)
    assert ssim(outside, hr, scale=4) == ssim(sr, hr, scale=4)
    inside = sr.copy()
    inside[4, 20] = 255 - inside[4, 20]  # first row that is kept
    assert psnr(inside, hr, scale=4) < psnr(sr, hr, scale=4)
    assert ssim(inside, hr, scale=4) < ssim(sr, hr, scale=4)


def test_identical_images_give_inf_psnr_and_unit_ssim() -> None:
    _, hr = pair()
    assert psnr(hr, hr, scale=4) == math.inf
    assert ssim(hr, hr, scale=4) == pytest.approx(1.0, abs=1e-12)


def test_input_ranges_quantise_to_the_same_uint8_images() -> None:
    sr, hr = pair()
    reference = psnr(sr, hr, scale=4), ssim(sr, hr, scale=4)

    def nchw(image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(image).permute(2, 0, 1)[None].double()

    variants = {
        "uint8": (sr + 0.4, hr - 0.3),  # off-grid floats round back onto the 8-bit values
        "unit": (nchw(sr) / 255, nchw(hr) / 255),
        "signed": (nchw(sr) / 127.5 - 1, nchw(hr) / 127.5 - 1),
    }
    for input_range, (s, h) in variants.items():
        assert psnr(s, h, scale=4, input_range=input_range) == pytest.approx(reference[0], 1e-12)
        assert ssim(s, h, scale=4, input_range=input_range) == pytest.approx(reference[1], 1e-12)
    assert psnr(nchw(sr) / 127.5 - 1, hr, scale=4, input_range="signed") == pytest.approx(
        reference[0], 1e-12
    )  # uint8 HR is always 0..255, whatever input_range says about the float SR


def test_quantisation_clips_and_rounds_half_up() -> None:
    x = np.array([[-0.2, 0.0, 0.5 / 255, 1.6 / 255, 1.0, 1.2]])
    assert to_uint8_nhwc(x, "unit").ravel().tolist() == [0, 0, 1, 2, 255, 255]
    with pytest.raises(ValueError, match="input_range"):
        psnr(hr := smooth_rgb(16, 16).astype(np.float64), hr, scale=2)  # float: range required
    with pytest.raises(ValueError, match="do not fit"):
        psnr(hr, hr, scale=2, input_range="unit")  # 0..255 data declared as [0, 1]


def test_batches_average_per_image_values() -> None:
    pairs = [pair(noise=n) for n in (4.0, 10.0, 20.0)]
    sr = torch.from_numpy(np.stack([s for s, _ in pairs])).permute(0, 3, 1, 2)  # N×3×H×W uint8
    hr = torch.from_numpy(np.stack([h for _, h in pairs])).permute(0, 3, 1, 2)
    for metric in (psnr, ssim):
        each = metric(sr, hr, scale=3, reduction="none")
        assert each.shape == (3,)
        assert np.all(np.diff(each) < 0)  # more noise, lower score
        singles = [metric(s, h, scale=3) for s, h in pairs]
        np.testing.assert_allclose(each, singles, rtol=1e-12)
        assert metric(sr, hr, scale=3) == pytest.approx(np.mean(singles), rel=1e-12)
