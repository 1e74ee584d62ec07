"""The improved DCGAN's modified networks (Xin, anime faces 96×96), for 32, 64 and 96 px.

The seed describes its modified generator in three parts (a five-layer first part "almost the
same" as the DCGAN generator, nine residual layers, a five-layer up-sampling part) and its
modified discriminator as the DCGAN discriminator's four conv-BN-LeakyReLU stages with the last
stage repeated, then average pooling. The text is loose (its first part is called
"downsampling" although the generator starts from noise); this file reads it as follows.

Generator: the DCGAN generator (`labkit.models.dcgan`) cut at its 2·ngf stage, with a trunk of
nine residual blocks inserted there:

    stem   z → … → 2ngf×S/4 (the DCGAN transposed convolutions up to the 2ngf stage; S/6 at 96)
    trunk  y1 = s + F1(s);  y_k = F_k(y_{k-1}) + y1  for k = 2..9
           (F = conv3×3-BN-ReLU-conv3×3-BN, width 2ngf, resolution kept; every block after the
           first takes the previous block's output mixed, by addition, with the first block's)
    head   2ngf → ngf → channels×S (the DCGAN generator's remaining layers, Tanh at the end)

At 96 px with ngf=64 the trunk works on 128×16×16 maps; at 32 px on 2ngf×8×8.

Discriminator: the DCGAN discriminator's stages (four at 64 and 96 px, three at 32), then the
last stage once more at stride 1 (conv3×3 8ndf→8ndf, BN, LeakyReLU; the resolution is kept),
then a 1×1 convolution to one channel averaged over the positions: one logit per image, no
Sigmoid (training uses BCE-with-logits, as for `dcgan`).
"""

from __future__ import annotations

import torch
from torch import nn

from .dcgan import _check_size, check_image_size, downsampling_stages
from .init import init_dcgan_weights

BLOCKS = 9  # residual blocks in the seed's modified generator


def _up(in_channels: int, out_channels: int, first: bool) -> list[nn.Module]:
    """One DCGAN generator stage: ConvTranspose (1×1 → 4×4 first, else doubling), BN, ReLU."""
    stride, padding = (1, 0) if first else (2, 1)
    return [nn.ConvTranspose2d(in_channels, out_channels, 4, stride, padding, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(True)]


class ResidualBlock(nn.Module):
    """The transform F of one trunk block: conv3×3-BN-ReLU-conv3×3-BN, size and width kept."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True),
            nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """F(x); the skip connections live in `ResidualGenerator.forward`."""
        return self.body(x)


class ResidualGenerator(nn.Module):
    """Maps z (N, nz) or (N, nz, 1, 1) to images (N, channels, S, S): DCGAN stem, trunk, head."""

    def __init__(self, image_size: int = 96, channels: int = 3, nz: int = 100, ngf: int = 64,
                 blocks: int = BLOCKS):
        super().__init__()
        stages, outer = _check_size(image_size)
        if blocks < 1:
            raise ValueError(f"blocks must be a positive integer, got {blocks!r}")
        self.nz = nz
        self.config = {"family": "resdcgan", "image_size": image_size, "channels": channels,
                       "nz": nz, "ngf": ngf, "blocks": blocks}
        widths = [ngf * 2**i for i in reversed(range(stages))]  # e.g. 8ngf, 4ngf, 2ngf, ngf
        stem: list[nn.Module] = []
        in_channels = nz
        for i, width in enumerate(widths[:-1]):  # up to and including the 2ngf stage
            stem += _up(in_channels, width, first=i == 0)
            in_channels = width
        self.stem = nn.Sequential(*stem)
        self.blocks = nn.ModuleList(ResidualBlock(in_channels) for _ in range(blocks))
        self.head = nn.Sequential(
            *_up(in_channels, widths[-1], first=False),
            nn.ConvTranspose2d(widths[-1], channels, *outer, bias=False), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generate one image per latent vector."""
        if z.dim() == 2:
            z = z[:, :, None, None]
        s = self.stem(z)
        first = s + self.blocks[0](s)
        y = first
        for block in self.blocks[1:]:
            y = block(y) + first  # the previous block's output mixed with the first block's
        return self.head(y)


class AveragingDiscriminator(nn.Module):
    """Maps images (N, channels, S, S) to one logit each, (N,): DCGAN stages, the last repeated,
    then a 1×1 convolution averaged over positions."""

    def __init__(self, image_size: int = 96, channels: int = 3, ndf: int = 64):
        super().__init__()
        self.image_size = image_size
        self.config = {"family": "resdcgan", "image_size": image_size, "channels": channels,
                       "ndf": ndf}
        layers, last = downsampling_stages(image_size, channels, ndf)  # the DCGAN stages
        layers += [nn.Conv2d(last, last, 3, 1, 1, bias=False),  # the last stage, repeated
                   nn.BatchNorm2d(last), nn.LeakyReLU(0.2, inplace=True),
                   nn.Conv2d(last, 1, 1, bias=False)]  # a logit per position
        self.main = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Score each image: the mean of its per-position logits (positive for 'real')."""
        check_image_size(images, self.image_size)
        return self.main(images).mean(dim=(1, 2, 3))


def resdcgan(image_size: int = 96, channels: int = 3, nz: int = 100, ngf: int = 64,
             ndf: int = 64, blocks: int = BLOCKS) -> tuple[ResidualGenerator,
                                                          AveragingDiscriminator]:
    """The seed's modified generator and discriminator, initialised as the DCGAN paper's."""
    generator = ResidualGenerator(image_size, channels, nz, ngf, blocks)
    discriminator = AveragingDiscriminator(image_size, channels, ndf)
    generator.apply(init_dcgan_weights)
    discriminator.apply(init_dcgan_weights)
    return generator, discriminator
