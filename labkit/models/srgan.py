"""SRGAN (Ledig et al., 2017): the SRResNet generator and the paper's discriminator, in PyTorch.

The paper's networks (`variant="paper"`, ×4 with 16 residual blocks by default):

    generator      Conv(64, k9) + PReLU
                   → B × [Conv(64, k3) + BN + PReLU + Conv(64, k3) + BN, + skip]
                   → Conv(64, k3) + BN, + long skip from the first PReLU
                   → log2(scale) × [Conv(256, k3) + PixelShuffle(2) + PReLU]
                   → Conv(3, k9)                                   (no activation)
    discriminator  Conv(64, k3) + LeakyReLU(0.2)
                   → 7 × Conv(k3) + BN + LeakyReLU: 64 s2, 128, 128 s2, 256, 256 s2, 512, 512 s2
                   → Flatten → Dense(1024) + LeakyReLU(0.2) → Dense(1)   (a logit, for 96×96 crops)

The SRGAN lab report's Keras networks (`variant="lab"`), layer for layer as its summaries print
them: a 3×3 first convolution, 4 residual blocks, upsampling by Conv(256) + UpSampling2D (nearest)
+ PReLU, a 3×3 output convolution with Tanh — 1,080,835 trainable parameters at ×4 — and a
discriminator with six blocks (no final 512 s2), whose 256×256 input flattens to 32·32·512 =
524,288 features before Dense(1024): 536,871,936 weights in that one layer. Keras' BatchNorm
settings are kept (momentum 0.5 in G and 0.8 in D, i.e. PyTorch momentum 0.5 and 0.2; eps 1e-3).

PReLU has one slope per channel (the report's `shared_axes=[1, 2]`; the paper does not say).
Optionally (`residual="bicubic"`) the generator adds its output to a bicubic upsampling of its
input and starts from a zero last convolution, i.e. from plain bicubic: the course's `cpu`
profile uses this to learn in minutes what the paper's network learns in hours.
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

VARIANTS = ("paper", "lab")
PAPER_D_BLOCKS = ((64, 2), (128, 1), (128, 2), (256, 1), (256, 2), (512, 1), (512, 2))
LAB_D_BLOCKS = PAPER_D_BLOCKS[:-1]  # the report stops after the 512-channel stride-1 block
LEAKY_SLOPE = 0.2
DENSE_WIDTH = 1024


def _upsampling_steps(scale: int) -> int:
    """log2(scale) for scale 2, 4, 8, ...; a ValueError otherwise."""
    steps = int(round(math.log2(scale))) if scale >= 2 else 0
    if scale < 2 or 2**steps != scale:
        raise ValueError(f"scale must be a power of two (2, 4, 8), got {scale}")
    return steps


class SRResidualBlock(nn.Module):
    """Conv-BN-PReLU-Conv-BN with an identity skip (the paper's residual block)."""

    def __init__(self, features: int = 64, bn_momentum: float = 0.1, bn_eps: float = 1e-5):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(features, features, 3, padding=1),
            nn.BatchNorm2d(features, eps=bn_eps, momentum=bn_momentum),
            nn.PReLU(features),
            nn.Conv2d(features, features, 3, padding=1),
            nn.BatchNorm2d(features, eps=bn_eps, momentum=bn_momentum),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x + body(x)."""
        return x + self.body(x)


def upsampling_block(features: int, mode: str, width: int = 256) -> nn.Sequential:
    """One ×2 step: sub-pixel (paper: Conv(4·features) + PixelShuffle(2) + PReLU) or the lab's
    Conv(width) + nearest UpSampling + PReLU."""
    if mode == "pixel_shuffle":
        return nn.Sequential(nn.Conv2d(features, 4 * features, 3, padding=1),
                             nn.PixelShuffle(2), nn.PReLU(features))
    if mode == "nearest":
        return nn.Sequential(nn.Conv2d(features, width, 3, padding=1),
                             nn.Upsample(scale_factor=2, mode="nearest"), nn.PReLU(width))
    raise ValueError(f"upsampling must be 'pixel_shuffle' or 'nearest', got {mode!r}")


class SRResNet(nn.Module):
    """The SRGAN generator: a low-resolution image in [-1, 1] to one `scale` times larger."""

    def __init__(self, scale: int = 4, channels: int = 3, features: int = 64, blocks: int = 16, *,
                 first_kernel: int = 9, last_kernel: int = 9, upsampling: str = "pixel_shuffle",
                 upsampling_width: int = 256, output: str = "linear", residual: str = "none",
                 bn_momentum: float = 0.1, bn_eps: float = 1e-5):
        super().__init__()
        steps = _upsampling_steps(scale)
        if output not in ("linear", "tanh"):
            raise ValueError(f"output must be 'linear' or 'tanh', got {output!r}")
        if residual not in ("none", "bicubic"):
            raise ValueError(f"residual must be 'none' or 'bicubic', got {residual!r}")
        if residual == "bicubic" and output == "tanh":
            raise ValueError("residual='bicubic' needs output='linear' (a Tanh would bend the sum)")
        self.scale, self.residual, self.output = scale, residual, output
        self.config = {"family": "srgan", "role": "generator", "scale": scale,
                       "channels": channels, "features": features, "blocks": blocks,
                       "first_kernel": first_kernel, "last_kernel": last_kernel,
                       "upsampling": upsampling, "upsampling_width": upsampling_width,
                       "output": output, "residual": residual}
        self.head = nn.Sequential(nn.Conv2d(channels, features, first_kernel,
                                            padding=first_kernel // 2), nn.PReLU(features))
        self.blocks = nn.Sequential(*(SRResidualBlock(features, bn_momentum, bn_eps)
                                      for _ in range(blocks)))
        self.fuse = nn.Sequential(nn.Conv2d(features, features, 3, padding=1),
                                  nn.BatchNorm2d(features, eps=bn_eps, momentum=bn_momentum))
        ups, width = [], features
        for _ in range(steps):
            ups.append(upsampling_block(width, upsampling, upsampling_width))
            width = features if upsampling == "pixel_shuffle" else upsampling_width
        self.upsample = nn.Sequential(*ups)
        self.tail = nn.Conv2d(width, channels, last_kernel, padding=last_kernel // 2)
        if residual == "bicubic":  # start exactly at the bicubic upsampling of the input
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, h, w) in [-1, 1] -> (N, C, scale·h, scale·w)."""
        features = self.head(x)
        out = self.tail(self.upsample(features + self.fuse(self.blocks(features))))
        if self.output == "tanh":
            return torch.tanh(out)
        if self.residual == "bicubic":
            out = out + F.interpolate(x, scale_factor=self.scale, mode="bicubic",
                                      align_corners=False)
        return out


class SRDiscriminator(nn.Module):
    """The SRGAN discriminator: an image to a logit (positive: 'real high-resolution')."""

    def __init__(self, image_size: int = 96, channels: int = 3,
                 blocks: tuple[tuple[int, int], ...] = PAPER_D_BLOCKS, *,
                 dense: int = DENSE_WIDTH, bn_momentum: float = 0.1, bn_eps: float = 1e-5):
        super().__init__()
        shrink = 2 ** sum(stride == 2 for _, stride in blocks)
        if image_size % shrink:
            raise ValueError(f"image_size must be a multiple of {shrink} for this discriminator "
                             f"(96 in the paper), got {image_size}")
        self.config = {"family": "srgan", "role": "discriminator", "image_size": image_size,
                       "channels": channels, "blocks": [list(b) for b in blocks],
                       "dense": dense}
        first = blocks[0][0]
        layers: list[nn.Module] = [nn.Conv2d(channels, first, 3, padding=1),
                                   nn.LeakyReLU(LEAKY_SLOPE)]
        width = first
        for out, stride in blocks:
            layers += [nn.Conv2d(width, out, 3, stride=stride, padding=1),
                       nn.BatchNorm2d(out, eps=bn_eps, momentum=bn_momentum),
                       nn.LeakyReLU(LEAKY_SLOPE)]
            width = out
        self.features = nn.Sequential(*layers)
        self.flat_features = width * (image_size // shrink) ** 2
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(self.flat_features, dense),
                                        nn.LeakyReLU(LEAKY_SLOPE), nn.Linear(dense, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N,) for images (N, C, image_size, image_size)."""
        return self.classifier(self.features(x)).view(-1)


def srgan(scale: int = 4, *, variant: str = "paper", blocks: int | None = None,
          image_size: int | None = None, channels: int = 3, features: int = 64,
          d_features: int = 64, residual: str = "none") -> tuple[SRResNet, SRDiscriminator]:
    """The SRGAN generator and discriminator: the paper's (default) or the lab report's.

    `blocks`: residual blocks (16 in the paper, 4 in the lab); `features`: the generator's
    channels (64); `d_features`: the discriminator's first width (64; the others scale with
    it: 128, 256, 512); `image_size`: the HR size the discriminator sees (96 in the paper, 256
    in the lab: beware, the lab's D then holds 537 M parameters); `residual="bicubic"`: learn
    a correction to bicubic upsampling (see the module docstring). PyTorch's default
    initialisation.
    """
    widen = partial(_scaled_blocks, factor=d_features / 64)
    if variant == "paper":
        generator = SRResNet(scale, channels, features, 16 if blocks is None else blocks,
                             residual=residual)
        discriminator = SRDiscriminator(96 if image_size is None else image_size, channels,
                                        widen(PAPER_D_BLOCKS))
    elif variant == "lab":
        keras_g = {"bn_momentum": 0.5, "bn_eps": 1e-3}  # Keras momentum 0.5 = PyTorch 0.5
        generator = SRResNet(scale, channels, features, 4 if blocks is None else blocks,
                             first_kernel=3, last_kernel=3, upsampling="nearest", output="tanh",
                             residual=residual, **keras_g)
        discriminator = SRDiscriminator(256 if image_size is None else image_size, channels,
                                        widen(LAB_D_BLOCKS), bn_momentum=0.2, bn_eps=1e-3)
    else:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    return generator, discriminator


def _scaled_blocks(blocks: tuple[tuple[int, int], ...],
                   factor: float) -> tuple[tuple[int, int], ...]:
    """Discriminator blocks with every width multiplied by `factor` (strides unchanged)."""
    return tuple((max(1, round(width * factor)), stride) for width, stride in blocks)


def dense_parameters(image_size: int, blocks: tuple[tuple[int, int], ...] = PAPER_D_BLOCKS,
                     dense: int = DENSE_WIDTH) -> int:
    """Weights + biases of the discriminator's first dense layer, without building it."""
    shrink = 2 ** sum(stride == 2 for _, stride in blocks)
    return blocks[-1][0] * (image_size // shrink) ** 2 * dense + dense


class FrozenDiscriminator(nn.Module):
    """A discriminator whose weights never change, as the lab's was (see chapter 5).

    The report compiled its discriminator after setting `trainable = False`, and Keras trains a
    model with the `trainable` values it had when compiled: every `train_on_batch` on D left its
    weights as initialised, with BatchNorm in inference mode. This wrapper gives the course's
    engine such a discriminator: its weights are hidden from `.parameters()` (the engine's
    optimiser gets one zero `anchor` that keeps the loss differentiable and never moves),
    BatchNorm stays in eval mode, and gradients still flow through it to the generator.
    """

    def __init__(self, discriminator: nn.Module):
        super().__init__()
        self.held = [discriminator.requires_grad_(False).eval()]  # a list: not a submodule
        self.anchor = nn.Parameter(torch.zeros(()))
        self.config = {**getattr(discriminator, "config", {}), "frozen": True}

    @property
    def discriminator(self) -> nn.Module:
        """The wrapped, frozen discriminator."""
        return self.held[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The frozen discriminator's logits (+ 0·anchor)."""
        return self.discriminator(x) + 0 * self.anchor

    def train(self, mode: bool = True) -> FrozenDiscriminator:
        """Switch this wrapper's mode; the frozen network stays in eval mode."""
        super().train(mode)
        self.discriminator.eval()
        return self

    def _apply(self, fn, *args, **kwargs):
        self.discriminator._apply(fn, *args, **kwargs)  # .to(device) moves the hidden network
        return super()._apply(fn, *args, **kwargs)
