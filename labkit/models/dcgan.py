"""DCGAN (Radford et al., 2015) in the layout of the PyTorch DCGAN tutorial, for 32, 64 and 96 px.

The 64×64 networks print exactly as the tutorial's `Generator` / `Discriminator` (an
`nn.Sequential` called `main`, the same layer indices), except that the discriminator ends at
its last convolution: it returns logits, and training uses BCE-with-logits, which has the same
value as the tutorial's Sigmoid + BCELoss but is numerically safe and works under autocast.

State sizes, with the tutorial's nz=100, ngf=ndf=64 at 64×64:

    generator      z (nz×1×1) → 8ngf×4×4 → 4ngf×8×8 → 2ngf×16×16 → ngf×32×32 → C×64×64
    discriminator  C×64×64 → ndf×32×32 → 2ndf×16×16 → 4ndf×8×8 → 8ndf×4×4 → 1×1×1

32×32 drops one stage on each side (the generator starts at 4ngf, the discriminator ends at
4ndf). 96×96 keeps the 64×64 stages and changes only the outer layers to kernel 5, stride 3,
padding 1 (32 → 96 in the generator, 96 → 32 in the discriminator).

Discriminator options for chapter 7's stabilisers: `spectral_norm=True` (Miyato et al. 2018:
every convolution's weight divided by its largest singular value, estimated by one power
iteration per training step) and `norm="layer"` or `"none"` instead of BatchNorm (WGAN-GP's
gradient penalty is per sample, which BatchNorm's mixing of a batch breaks).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm
from torch.nn.utils.parametrize import is_parametrized

from .init import init_dcgan_weights

# image size -> (number of inner stages, (kernel, stride, padding) of the outer layer)
LAYOUTS: dict[int, tuple[int, tuple[int, int, int]]] = {
    32: (3, (4, 2, 1)),
    64: (4, (4, 2, 1)),
    96: (4, (5, 3, 1)),
}


def _check_size(image_size: int) -> tuple[int, tuple[int, int, int]]:
    """The layout for `image_size`, or a ValueError naming the supported sizes."""
    if image_size not in LAYOUTS:
        sizes = ", ".join(str(s) for s in LAYOUTS)
        raise ValueError(f"DCGAN supports image_size {sizes}; got {image_size}")
    return LAYOUTS[image_size]


class Generator(nn.Module):
    """Maps z of shape (N, nz) or (N, nz, 1, 1) to images (N, channels, H, W) in [-1, 1]."""

    def __init__(self, image_size: int = 64, channels: int = 3, nz: int = 100, ngf: int = 64):
        super().__init__()
        stages, outer = _check_size(image_size)
        self.nz = nz
        self.config = {"family": "dcgan", "image_size": image_size, "channels": channels,
                       "nz": nz, "ngf": ngf}
        widths = [ngf * 2**i for i in reversed(range(stages))]  # e.g. 8ngf, 4ngf, 2ngf, ngf
        layers: list[nn.Module] = []
        in_channels = nz
        for i, width in enumerate(widths):
            stride, padding = (1, 0) if i == 0 else (2, 1)  # 1×1 → 4×4, then doubling
            layers += [
                nn.ConvTranspose2d(in_channels, width, 4, stride, padding, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(True),
            ]
            in_channels = width
        layers += [nn.ConvTranspose2d(in_channels, channels, *outer, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generate one image per latent vector."""
        if z.dim() == 2:
            z = z[:, :, None, None]
        return self.main(z)


NORMS = ("batch", "layer", "none")
SPECTRAL_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (torch's parametrisation) of every convolution, linear and
    embedding layer of `module` not already normalised; returns the module (changed in place).

    Each weight W is used as W / σ(W), σ estimated by power iteration (one step per forward in
    training mode; its vectors are buffers, so checkpoints and resumes keep them).
    """
    for layer in module.modules():
        if isinstance(layer, SPECTRAL_LAYERS) and not is_parametrized(layer, "weight"):
            _spectral_norm(layer)
    return module


def _norm_layer(norm: str, width: int) -> list[nn.Module]:
    """The normalisation after a discriminator convolution: BatchNorm, layer norm, or none."""
    if norm == "batch":
        return [nn.BatchNorm2d(width)]
    if norm == "layer":  # over channels and positions of each sample (GroupNorm with 1 group)
        return [nn.GroupNorm(1, width)]
    if norm == "none":
        return []
    raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")


def downsampling_stages(image_size: int, channels: int, ndf: int, norm: str = "batch"
                        ) -> tuple[list[nn.Module], int]:
    """The DCGAN discriminator's body, image → (width, 4, 4), and that width: a strided
    convolution and LeakyReLU (no BatchNorm on the input), then conv-BN-LeakyReLU stages
    halving the size (`norm` "layer" or "none" replaces the BatchNorm)."""
    stages, outer = _check_size(image_size)
    widths = [ndf * 2**i for i in range(stages)]  # e.g. ndf, 2ndf, 4ndf, 8ndf
    layers: list[nn.Module] = [
        nn.Conv2d(channels, widths[0], *outer, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
    ]
    for in_channels, width in zip(widths[:-1], widths[1:], strict=True):  # halving
        layers += [
            nn.Conv2d(in_channels, width, 4, 2, 1, bias=False),
            *_norm_layer(norm, width),
            nn.LeakyReLU(0.2, inplace=True),
        ]
    return layers, widths[-1]


def check_image_size(images: torch.Tensor, size: int) -> None:
    """Refuse images that are not size×size (a discriminator is built for one size)."""
    if tuple(images.shape[-2:]) != (size, size):
        raise ValueError(f"this discriminator takes {size}×{size} images; "
                         f"got {tuple(images.shape[-2:])}")


class Discriminator(nn.Module):
    """Maps images (N, channels, H, W) to one logit each, shape (N,): no Sigmoid at the end.

    `spectral_norm` normalises every convolution; `norm` ("batch", "layer", "none") is the
    normalisation of the inner stages. Both are recorded in `config` only when not the
    default, so earlier checkpoints still match.
    """

    def __init__(self, image_size: int = 64, channels: int = 3, ndf: int = 64, *,
                 spectral_norm: bool = False, norm: str = "batch"):
        super().__init__()
        self.image_size = image_size
        self.config = {"family": "dcgan", "image_size": image_size, "channels": channels,
                       "ndf": ndf}
        if norm != "batch":
            self.config["norm"] = norm
        layers, last = downsampling_stages(image_size, channels, ndf, norm)
        layers.append(nn.Conv2d(last, 1, 4, 1, 0, bias=False))  # 4×4 → 1×1 logit
        self.main = nn.Sequential(*layers)
        if spectral_norm:
            self.config["spectral_norm"] = True
            apply_spectral_norm(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Score each image: a logit, positive for 'real' (sigmoid gives the probability)."""
        check_image_size(images, self.image_size)
        return self.main(images).view(-1)


def dcgan(image_size: int = 64, channels: int = 3, nz: int = 100, ngf: int = 64,
          ndf: int = 64, *, spectral_norm: bool = False, norm: str = "batch"
          ) -> tuple[Generator, Discriminator]:
    """A DCGAN generator and discriminator, weights initialised as in the DCGAN paper
    (`spectral_norm`, `norm`: the discriminator's options; normalised after initialisation)."""
    generator = Generator(image_size, channels, nz, ngf)
    discriminator = Discriminator(image_size, channels, ndf, norm=norm)
    generator.apply(init_dcgan_weights)
    discriminator.apply(init_dcgan_weights)
    if spectral_norm:
        discriminator.config["spectral_norm"] = True
        apply_spectral_norm(discriminator)
    return generator, discriminator
