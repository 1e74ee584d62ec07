"""Chapter 5's exercises: modcrop before the bicubic downscaling, the sub-pixel (pixel-shuffle)
upsampler, SRGAN's generator loss (content + 1e-3 · adversarial), PSNR on Y with the border
shaved, and a reading of the run (SRResNet's gain over bicubic)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data import imresize
from ..metrics import psnr
from . import ExerciseFailed, exercise, expect, expect_callable, returned, show

NB = "05_srgan"
ADVERSARIAL_WEIGHT = 1e-3  # the SRGAN paper's weight of the adversarial loss
BICUBIC, SRRESNET = "bicubic", "SRResNet (MSE)"  # the methods as labkit.chapters.srgan names them




def _run(what: str, hint: str, function: Callable, *args):
    """function(*args), or an ExerciseFailed that says what it raised (a crash fails too)."""
    try:
        return function(*args)
    except ExerciseFailed:
        raise
    except Exception as error:  # noqa: BLE001 - any error of the student's code is reported
        raise ExerciseFailed(f"{what}: expected it to run, got {type(error).__name__}: "
                             f"{error}.\nHint: {hint}") from None


# --------------------------------------------------------------------------- modcrop


def _photo(height: int, width: int) -> torch.Tensor:
    """A smooth, deterministic uint8 RGB image (3×H×W) with detail at every edge."""
    y, x = torch.meshgrid(torch.arange(float(height)), torch.arange(float(width)), indexing="ij")
    image = torch.stack([128 + 100 * torch.sin(x / 5 + y / 7), 128 + 90 * torch.cos(x / 3 - y / 4),
                         128 + 60 * torch.sin((x + y) / 6)])
    return image.round().clamp(0, 255).to(torch.uint8)


_PAIR = "from labkit.data import imresize\n\ndef hr_lr_pair(image, scale):\n"


@exercise("modcrop_pair", NB, "Modcrop, then downscale", ("hr_lr_pair",), wrong={
    "downscaling before cropping": _PAIR + "    h, w = image.shape[-2:]\n"
        "    lr = imresize(image, 1 / scale)\n"
        "    return image[..., : h - h % scale, : w - w % scale], lr\n",
    "cropping the top-left": _PAIR + "    h, w = image.shape[-2:]\n"
        "    hr = image[..., h % scale :, w % scale :]\n    return hr, imresize(hr, 1 / scale)\n",
    "no crop": _PAIR + "    return image, imresize(image, 1 / scale)\n",
    "the remainders of H and W swapped": _PAIR + "    h, w = image.shape[-2:]\n"
        "    hr = image[..., : h - w % scale, : w - h % scale]\n"
        "    return hr, imresize(hr, 1 / scale)\n",
})
def check_modcrop_pair(hr_lr_pair) -> None:
    """(HR, LR): the image cropped at the bottom and right to sides divisible by `scale`, and
    its MATLAB-bicubic downscaling by 1/scale."""
    expect_callable(hr_lr_pair, "hr_lr_pair")
    for height, width, scale in ((27, 42, 4), (26, 31, 3), (24, 40, 4)):
        image = _photo(height, width)
        what = f"hr_lr_pair on a 3×{height}×{width} image with scale {scale}"
        got = _run(what, "crop first (image[..., :H', :W']), then downscale the crop with "
                   "imresize(hr, 1 / scale)", hr_lr_pair, image.clone(), scale)
        expect(isinstance(got, tuple) and len(got) == 2, f"{what}: the result",
               "a tuple (hr, lr)", repr(got)[:80],
               "the body still contains `...`, or `return hr, lr` is missing")
        hr, lr = got
        returned(hr, "hr_lr_pair (hr)", torch.Tensor)
        returned(lr, "hr_lr_pair (lr)", torch.Tensor)
        want_hr = image[..., : height - height % scale, : width - width % scale]
        expect(tuple(hr.shape) == tuple(want_hr.shape), f"{what}: the shape of hr",
               tuple(want_hr.shape), tuple(hr.shape),
               "the largest sides that divide by the scale: H - H % scale and W - W % scale "
               "(each side by its own remainder), so that the LR image is exactly H/scale × "
               "W/scale and the network's output lines up with hr pixel for pixel")
        expect(torch.equal(hr, want_hr), f"{what}: which pixels hr keeps",
               "the top-left part (rows and columns cut at the bottom and right)",
               "other pixels", "crop at the bottom and right, as MATLAB's modcrop and "
               "labkit.data.modcrop do: the benchmarks' LR files were made from that crop, so "
               "cutting the top-left instead scores against a shifted image")
        want_lr = imresize(want_hr, 1 / scale)
        expect(tuple(lr.shape) == tuple(want_lr.shape), f"{what}: the shape of lr",
               tuple(want_lr.shape), tuple(lr.shape),
               "downscale the cropped image, not the original: imresize rounds a side that "
               "does not divide by the scale up, and the LR image no longer maps onto hr")
        expect(lr.dtype == want_lr.dtype and torch.equal(lr, want_lr),
               f"{what}: the pixels of lr", "imresize(hr, 1 / scale) (MATLAB bicubic, uint8)",
               f"{lr.dtype} values differing by up to "
               f"{float((lr.double() - want_lr.double()).abs().max()):.3g}"
               if lr.shape == want_lr.shape else "another image",
               "use labkit.data.imresize, the MATLAB-compatible bicubic of the benchmarks, on "
               "the cropped hr (not torch's interpolate, whose bicubic has no antialiasing)")


# --------------------------------------------------------------------------- pixel shuffle


_UP = "def subpixel_upsampler(features, r):\n    return nn.Sequential(\n"
_HOOKED = (nn.Conv2d, nn.PixelShuffle, nn.PReLU, nn.Upsample)


def _trace(block: nn.Module, x: torch.Tensor) -> tuple[list, torch.Tensor | Exception]:
    """The layers the block ran (or started) on x, in call order, as (layer, input shape), and
    its output (or the exception it raised)."""
    calls: list = []
    hooks = [m.register_forward_pre_hook(lambda m, i: calls.append((m, tuple(i[0].shape))))
             for m in block.modules() if isinstance(m, _HOOKED)]
    try:
        with torch.no_grad():
            out: torch.Tensor | Exception = block(x)
    except Exception as error:  # noqa: BLE001 - diagnosed below, from the layers that ran
        out = error
    finally:
        for hook in hooks:
            hook.remove()
    return calls, out


@exercise("pixel_shuffle_upsampler", NB, "The sub-pixel upsampler", ("subpixel_upsampler",),
          wrong={
    "r channels instead of r²": _UP + "        nn.Conv2d(features, features * r, 3, padding=1),\n"
        "        nn.PixelShuffle(r), nn.PReLU(features))\n",
    "shuffle before the conv": _UP + "        nn.PixelShuffle(r),\n"
        "        nn.Conv2d(features // r**2, features, 3, padding=1), nn.PReLU(features))\n",
    "the paper's 256 = 4·64 channels (right for r = 2 only)": _UP
        + "        nn.Conv2d(features, 4 * features, 3, padding=1),\n"
        "        nn.PixelShuffle(r), nn.PReLU(features))\n",
    "nearest upsampling (the lab's UpSampling2D)": _UP
        + "        nn.Conv2d(features, features, 3, padding=1),\n"
        "        nn.Upsample(scale_factor=r, mode='nearest'), nn.PReLU(features))\n",
    "a convolution without padding": _UP
        + "        nn.Conv2d(features, features * r**2, 3),\n"
        "        nn.PixelShuffle(r), nn.PReLU(features))\n",
})
def check_pixel_shuffle_upsampler(subpixel_upsampler) -> None:
    """Conv2d(features -> features·r², 3×3, same size), nn.PixelShuffle(r), PReLU: (N, C, h, w)
    -> (N, C, r·h, r·w), the shuffle fed features·r² channels at the LR size."""
    expect_callable(subpixel_upsampler, "subpixel_upsampler")
    for features, r, shape in ((8, 2, (2, 8, 5, 7)), (4, 3, (1, 4, 3, 4))):
        what = f"subpixel_upsampler({features}, {r})"
        block = _run(what, "build the layers from features and r only", subpixel_upsampler,
                     features, r)
        returned(block, what, nn.Module)
        calls, out = _trace(block, torch.randn(*shape, generator=torch.Generator().manual_seed(r)))
        ran = [type(m).__name__ for m, _ in calls]
        shuffles = [(m, i) for m, i in calls if isinstance(m, nn.PixelShuffle)]
        expect(bool(shuffles), f"{what}: the layers it ran on a {shape} batch",
               "an nn.PixelShuffle among them", ran or "none of Conv2d, PixelShuffle, PReLU",
               "the sub-pixel convolution rearranges channels into space with "
               "nn.PixelShuffle(r); repeating pixels (nn.Upsample, the lab's UpSampling2D) is "
               "another upsampler, whose copies the next layers must smooth away")
        layer, seen = shuffles[0]
        want = (shape[0], features * r * r, shape[2], shape[3])
        why = {features: "the shuffle ran before the convolution: convolve at the low resolution "
                         "first (cheap), then shuffle",
               features * r: "PixelShuffle(r) turns r² channels into one r×r block: the "
                             "convolution needs features·r², not features·r, output channels",
               4 * features: "4·features is right for r = 2 only (the paper's 256 = 4·64): "
                             "use features * r**2",
               want[1]: "a 3×3 convolution needs padding=1 to keep the LR height and width"}
        expect(seen == want, f"{what}: the input of nn.PixelShuffle", f"{want} (features·r² "
               "channels at the LR size)", seen, why.get(seen[1], "Conv2d(features, features * "
               "r**2, 3, padding=1) right before nn.PixelShuffle(r)"))
        expect(layer.upscale_factor == r, f"{what}: the upscale factor of nn.PixelShuffle", r,
               layer.upscale_factor, "nn.PixelShuffle(r)")
        expect(any(isinstance(m, nn.PReLU) for m, _ in calls), f"{what}: the layers it ran",
               "a PReLU (the paper's block ends with one)", ran,
               "end with nn.PReLU(features), after the shuffle")
        if isinstance(out, Exception):
            raise ExerciseFailed(f"{what} on a {shape} batch: expected it to run, got "
                                 f"{type(out).__name__}: {out}.\nHint: the layers' channels must "
                                 "chain: features -> features·r² (conv) -> features "
                                 "(shuffle); the PReLU after it is nn.PReLU(features)")
        big = (shape[0], features, r * shape[2], r * shape[3])
        expect(tuple(out.shape) == big, f"{what}: the output of a {shape} batch", big,
               tuple(out.shape), "features channels at r times the height and width")


# --------------------------------------------------------------------------- generator loss


_LOSS = "def srgan_generator_loss(sr, hr, fake_logits):\n    return F.mse_loss(sr, hr) "


def _reference_loss(sr: torch.Tensor, hr: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(sr, hr) + ADVERSARIAL_WEIGHT * F.softplus(-logits).mean()


@exercise("srgan_loss", NB, "SRGAN's generator loss", ("srgan_generator_loss",), wrong={
    "a minus sign on the adversarial term": _LOSS + "- 1e-3 * F.softplus(-fake_logits).mean()\n",
    "weight 1 instead of 1e-3": _LOSS + "+ F.softplus(-fake_logits).mean()\n",
    "1e-3 on the content instead": "def srgan_generator_loss(sr, hr, fake_logits):\n"
        "    return 1e-3 * F.mse_loss(sr, hr) + F.softplus(-fake_logits).mean()\n",
    "the fakes' target 0 (the discriminator's)": _LOSS
        + "+ 1e-3 * F.binary_cross_entropy_with_logits(\n"
        "        fake_logits, torch.zeros_like(fake_logits))\n",
    "log of a sigmoid (overflows)": _LOSS
        + "- 1e-3 * torch.log(torch.sigmoid(fake_logits)).mean()\n",
})
def check_srgan_loss(srgan_generator_loss) -> None:
    """MSE(sr, hr) + 1e-3 · mean(-log sigmoid(logit)): SRGAN-MSE's generator loss."""
    expect_callable(srgan_generator_loss, "srgan_generator_loss")
    g = torch.Generator().manual_seed(5)
    hr = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    sr = (hr + 0.3 * torch.randn(2, 3, 8, 8, generator=g)).clamp(-1, 1)
    logits = torch.tensor([-2.0, 0.0, 3.0, 1.0])

    def call(sr, hr, logits, what):
        got = _run(what, "F.mse_loss(sr, hr) plus 1e-3 times the non-saturating adversarial "
                   "loss", srgan_generator_loss, sr, hr, logits)
        returned(got, "srgan_generator_loss", torch.Tensor)
        expect(got.dim() == 0, what, "one number", f"a tensor of shape {tuple(got.shape)}",
               "average over the batch (.mean()) so that the loss is a single number")
        return got

    what = f"the loss for sr == hr (content 0) and D's logits {show(logits)} on the fakes"
    got, want = float(call(hr.clone(), hr.clone(), logits.clone(), what)), \
        float(_reference_loss(hr, hr, logits))
    adversarial = want / ADVERSARIAL_WEIGHT
    diagnosis = [(-want, "the adversarial term is added, not subtracted: the generator "
                  "minimises -log D(G(x)), which falls as D is fooled"),
                 (adversarial, "weight the adversarial loss by 1e-3 (the paper's value): at "
                  "weight 1 it drowns the content loss"),
                 (ADVERSARIAL_WEIGHT * float(F.softplus(logits).mean()),
                  "the generator wants D to call its outputs real: target 1, i.e. "
                  "-log sigmoid(logit) = F.softplus(-logit), not target 0 (D's target for fakes)")]
    hint = next((h for value, h in diagnosis if abs(got - value) < 1e-6 * max(1, abs(value))),
                "with no content error the loss is 1e-3 times the mean of -log D(G(x)) = "
                "F.softplus(-logits)")
    expect(abs(got - want) < 1e-7, what, f"{want:.6f}", f"{got:.6f}", hint)

    fooled = torch.full((4,), 30.0)
    what = "the loss when D is fully fooled (logits +30): just the content"
    got, want = float(call(sr.clone(), hr.clone(), fooled, what)), float(F.mse_loss(sr, hr))
    expect(abs(got - want) < 1e-6, what, f"{want:.6f} (the MSE)", f"{got:.6f}",
           "the content loss is the mean squared error F.mse_loss(sr, hr), unweighted (mean, "
           "not sum)")

    rejected = torch.tensor([-200.0, -100.0, -50.0, 0.0], requires_grad=True)
    what = "the loss where D rejects the fakes (logits -200, -100, -50, 0)"
    loss = call(sr.clone(), hr.clone(), rejected, what)
    want = float(_reference_loss(sr, hr, rejected.detach()))
    expect(bool(torch.isfinite(loss)) and abs(float(loss.detach()) - want) < 1e-5, what,
           f"{want:.6f} (finite)", f"{float(loss.detach()):.6f}",
           "torch.log(torch.sigmoid(-200)) is log(0) = -inf: use F.softplus(-logits) "
           "(or -F.logsigmoid), which stays finite, as in chapter 1")
    (grad,) = _run("the gradient of the loss on D's logits for the fakes",
                   "compute the loss from fake_logits with torch operations (no .item(), "
                   ".detach() or numpy), so that the gradient reaches the generator through D",
                   torch.autograd.grad, loss, rejected)
    expect(bool((grad < 0).all()), "the gradient on D's logits for the fakes", "negative "
           "(raising D's verdict on the fakes lowers G's loss)", show(grad),
           "the adversarial term must fall as D is fooled")


# --------------------------------------------------------------------------- PSNR on Y


_PSNR = "def psnr_y(sr, hr, scale):\n"
_Y = ("    w = torch.tensor([65.481, 128.553, 24.966], dtype=torch.float64).view(3, 1, 1)\n"
      "    y_sr = 16 + (sr.double() * w).sum(0) / 255\n"
      "    y_hr = 16 + (hr.double() * w).sum(0) / 255\n")


def _psnr_images() -> tuple[torch.Tensor, torch.Tensor]:
    """(sr, hr) uint8 3×36×44: noise everywhere, a colour error that Y hardly sees, and a
    border much worse than the inside (as a network's padded edges are)."""
    g = torch.Generator().manual_seed(5)
    hr = _photo(36, 44).float()
    noise = torch.randn(3, 36, 44, generator=g) * 14
    chroma = torch.tensor([30.0, -15.0, 0.0]).view(3, 1, 1) * torch.randn(1, 36, 44,
                                                                           generator=g).sign()
    border = torch.ones(1, 36, 44)
    border[..., 4:-4, 4:-4] = 0
    sr = hr + noise + chroma + border * torch.randn(1, 36, 44, generator=g) * 60
    return sr.round().clamp(0, 255).to(torch.uint8), hr.to(torch.uint8)


def _luma(x: torch.Tensor) -> torch.Tensor:
    """BT.601 Y (16..235, unrounded, float64) of a uint8 RGB image 3×H×W, as H×W."""
    weights = torch.tensor([65.481, 128.553, 24.966], dtype=torch.float64).view(3, 1, 1)
    return 16 + (x.double() * weights).sum(0) / 255


def _db(mse: float, peak: float = 255.0) -> float:
    return 10 * math.log10(peak**2 / mse)


@exercise("psnr_y", NB, "PSNR on the Y channel, border shaved", ("psnr_y",), wrong={
    "PSNR on RGB": _PSNR + "    d = (sr.double() - hr.double())[:, scale:-scale, scale:-scale]\n"
        "    return 10 * math.log10(255**2 / float((d**2).mean()))\n",
    "no shave": _PSNR + _Y
        + "    return 10 * math.log10(255**2 / float(((y_sr - y_hr)**2).mean()))\n",
    "a peak of 1 on the 0..255 scale": _PSNR + _Y
        + "    d = (y_sr - y_hr)[scale:-scale, scale:-scale]\n"
        "    return 10 * math.log10(1 / float((d**2).mean()))\n",
    "shaved at the top and left only": _PSNR + _Y + "    d = (y_sr - y_hr)[scale:, scale:]\n"
        "    return 10 * math.log10(255**2 / float((d**2).mean()))\n",
    "the weights in BGR order (OpenCV's)": _PSNR + _Y.replace("65.481, 128.553, 24.966",
                                                              "24.966, 128.553, 65.481")
        + "    d = (y_sr - y_hr)[scale:-scale, scale:-scale]\n"
        "    return 10 * math.log10(255**2 / float((d**2).mean()))\n",
})
def check_psnr_y(psnr_y) -> None:
    """PSNR (dB, peak 255) between the BT.601 luma of two uint8 RGB images, `scale` pixels
    shaved from every side: labkit.metrics.psnr's convention, to 0.05 dB."""
    expect_callable(psnr_y, "psnr_y")
    sr, hr = _psnr_images()
    for scale in (4, 3):
        what = f"psnr_y of two 3×36×44 uint8 images, scale {scale}"
        got = _run(what, "convert to float before computing (uint8 arithmetic wraps around)",
                   psnr_y, sr.clone(), hr.clone(), scale)
        expect(isinstance(got, (float, int, np.number, torch.Tensor))
               and not isinstance(got, bool), "`psnr_y` returned", "a number (dB)",
               repr(got)[:80], "the body still contains `...`, or a `return` is missing")
        got = float(got)
        want = float(psnr(sr, hr, scale=scale))
        y_sr, y_hr = _luma(sr), _luma(hr)

        def bgr(x: torch.Tensor) -> torch.Tensor:
            return _luma(x.flip(0))
        inner = (slice(scale, -scale), slice(scale, -scale))
        mse = float(((y_sr - y_hr)[inner] ** 2).mean())
        rgb = float(((sr.double() - hr.double())[:, scale:-scale, scale:-scale] ** 2).mean())
        diagnosis = [
            (float(psnr(sr, hr, scale=scale, y_channel=False)), _db(rgb),
             "that is the PSNR of the RGB channels: the SR literature compares the luma "
             "Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 of 8-bit values"),
            (_db(float(((y_sr - y_hr) ** 2).mean())), None,
             f"shave {scale} pixels (the scale) from every side before comparing: the SR "
             "convention leaves out the border, where a network sees zero padding, not image"),
            (_db(float(((y_sr - y_hr)[scale:, scale:] ** 2).mean())), None,
             "shave the bottom and right too: x[scale:-scale, scale:-scale]"),
            (_db(mse, 1.0), _db(mse / 255**2, 255.0),
             "Y is on the 0..255 scale, so the peak is 255 (10·log10(255² / MSE)); with values "
             "in [0, 1], the peak is 1: the two must match"),
            (_db(float(((bgr(sr) - bgr(hr))[inner] ** 2).mean())), None,
             "the weights belong to R, G, B in that order (65.481 on red, 24.966 on blue); "
             "images read by OpenCV are BGR"),
        ]
        hint = next((h for a, b, h in diagnosis if any(
            v is not None and abs(got - v) < 0.05 for v in (a, b))),
            "Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 on 8-bit R, G, B, in float64; "
            f"shave {scale} pixels from every side; PSNR = 10·log10(255² / MSE)")
        expect(abs(got - want) < 0.05, what, f"{want:.3f} dB", f"{got:.3f} dB", hint)


# --------------------------------------------------------------------------- the run


@dataclass
class _Scores:
    """A stand-in for the chapter's Scores (its `rows`, `row` and `sets`), for the tests."""

    rows: list[dict]

    def row(self, set_name: str, method: str) -> dict:
        return next(r for r in self.rows if r["set"] == set_name and r["method"] == method)

    @property
    def sets(self) -> list[str]:
        return list(dict.fromkeys(r["set"] for r in self.rows))


def _scores_context() -> dict:
    from types import SimpleNamespace

    torch_bicubic = "PyTorch bicubic (the start of the residual generator)"
    table = {"set5": {BICUBIC: (28.42, 0.8104), torch_bicubic: (28.61, 0.8170),
                      SRRESNET: (29.37, 0.8390), "SRGAN": (28.95, 0.8301)},
             "set14": {BICUBIC: (26.00, 0.7027), torch_bicubic: (26.12, 0.7080),
                       SRRESNET: (26.58, 0.7230), "SRGAN": (26.31, 0.7164)}}
    rows = [{"set": s, "images": 5, "method": m, "psnr": p, "ssim": q}
            for s, methods in table.items() for m, (p, q) in methods.items()]
    chapter = SimpleNamespace(BICUBIC=BICUBIC, TORCH_BICUBIC=torch_bicubic, SRRESNET=SRRESNET,
                              SRGAN="SRGAN")
    return {"scores": _Scores(rows), "chapter": chapter}


_GAIN = "first = scores.sets[0]\n"


@exercise("srresnet_gain", NB, "Read your run: what SRResNet adds to bicubic",
          ("srresnet_gain", "scores"), kind="run", context=_scores_context, wrong={
    "SRGAN's gain instead": _GAIN + "srresnet_gain = scores.row(first, chapter.SRGAN)['psnr'] "
        "- scores.row(first, chapter.BICUBIC)['psnr']\n",
    "bicubic minus SRResNet": _GAIN + "srresnet_gain = scores.row(first, chapter.BICUBIC)"
        "['psnr'] - scores.row(first, chapter.SRRESNET)['psnr']\n",
    "over PyTorch's bicubic (what training added)": _GAIN + "srresnet_gain = scores.row("
        "first, chapter.SRRESNET)['psnr'] - scores.row(first, chapter.TORCH_BICUBIC)['psnr']\n",
    "SRResNet's PSNR itself": _GAIN + "srresnet_gain = scores.row(first, chapter.SRRESNET)"
        "['psnr']\n",
})
def check_srresnet_gain(srresnet_gain, scores) -> None:
    """SRResNet's mean PSNR minus bicubic's on the table's first evaluation set, to 0.01 dB."""
    first = scores.rows[0]["set"]
    mine = {r["method"]: r["psnr"] for r in scores.rows if r["set"] == first}
    want = mine[SRRESNET] - mine[BICUBIC]
    expect(isinstance(srresnet_gain, (int, float, np.floating))
           and not isinstance(srresnet_gain, bool), "`srresnet_gain`", "a number (in dB)",
           repr(srresnet_gain), "set srresnet_gain to a number read off the table above")
    expect(abs(srresnet_gain - want) <= 0.011, f"SRResNet's PSNR gain over bicubic on {first!r}",
           f"{want:+.2f} dB", f"{srresnet_gain:+.2f} dB",
           f"in the table, the {SRRESNET!r} row's PSNR minus the 'bicubic' row's (MATLAB "
           "bicubic, the paper's baseline), on the first set; negative if SRResNet is below "
           "bicubic. The line under the table prints it too")
