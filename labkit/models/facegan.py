"""The face-generation report's Keras DCGAN (seed 002: latent 128, dense + reshape), in PyTorch.

Layer for layer as the report's two Keras model summaries print them (64×64 RGB, latent 128);
the kernel sizes are not printed but follow from the parameter counts (k·k·in·out + out):

    generator      z 128 → Dense(128 → 16384) + BatchNorm + ReLU → Reshape 1024×4×4
                   → ConvT(512, k5, s2) + BatchNorm + ReLU → 512×8×8
                   → ConvT(256, k5, s2) + BatchNorm + ReLU → 256×16×16
                   → ConvT(128, k5, s2) + BatchNorm + ReLU → 128×32×32
                   → ConvT(3, k3, s2) + Tanh               → 3×64×64
    discriminator  3×64×64 → Conv(128, k3, s2) + LeakyReLU           → 128×32×32
                   → Conv(256, k3, s2) + BatchNorm + LeakyReLU       → 256×16×16
                   → Conv(512, k5, s2) + BatchNorm + LeakyReLU       → 512×8×8
                   → Conv(1024, k5, s2) + BatchNorm + LeakyReLU      → 1024×4×4
                   → Flatten 16384 → Dense(16384 → 1)                 (a logit)

Parameter counts are the report's: generator 19,390,211 (19,355,651 trainable here, plus
34,560 BatchNorm running statistics, Keras' "non-trainable"), discriminator 16,707,841
(16,704,257 + 3,584). Keras defaults are kept where the report relies on them: biases on every
convolution and dense layer, BatchNorm momentum 0.99 (PyTorch momentum 0.01) and epsilon 1e-3,
LeakyReLU slope 0.3 (the report sets none), stride-2 'same' convolutions that halve or double
the size exactly.

Deliberate differences, each with its reason:

- The discriminator ends at its Dense(1): it returns a logit per image, shape (N,), without the
  report's final Activation (a sigmoid for `BinaryCrossentropy()`); training uses
  BCE-with-logits, equal in value and safe under autocast, as for the course's other models.
- PyTorch's NCHW layout: the reshape gives 1024×4×4 (Keras: 4×4×1024) and the flatten reads
  1024×4×4. Counts and shapes are unchanged; porting Keras weights would permute the rows of
  the first Dense's kernel and the columns of the last.
- 'same' padding is symmetric here (k5: padding 2, k3: padding 1; output_padding 1 in the
  transposed convolutions); TensorFlow puts the odd padding pixel at the bottom/right, so the
  sampling grid sits one input pixel apart. Shapes and counts are identical; only a weight port
  would see it.
- The generator's last Activation is not named in the summary; the report shows its images as
  `x * 0.5 + 0.5`, i.e. outputs in [-1, 1]: Tanh, matching the course's [-1, 1] data (the
  report's own loader scales real images to [0, 1]).
- Weights: the summary shows a Keras warning that one initializer instance was reused, but not
  which; `facegan` initialises as the DCGAN paper (`init_dcgan_weights`, and N(0, 0.02) for the
  dense layers too).
"""

from __future__ import annotations

import torch
from torch import nn

from .cgan import KERAS_LEAKY_SLOPE
from .dcgan import check_image_size
from .init import init_dcgan_weights

IMAGE_SIZE = 64
BASE = 4  # the reshape's spatial size: four doublings to 64
KERAS_BN = {"eps": 1e-3, "momentum": 0.01}  # Keras momentum 0.99 in PyTorch's convention


def _widths(width: int) -> list[int]:
    """The channels at 4, 8, 16, 32 px: width, width/2, width/4, width/8 (1024 in the report)."""
    if width < 8 or width % 8:
        raise ValueError(f"width must be a positive multiple of 8 (1024 in the report), "
                         f"got {width!r}")
    return [width // 2**i for i in range(4)]


class FaceGenerator(nn.Module):
    """Maps z of shape (N, latent_dim) or (N, latent_dim, 1, 1) to images (N, 3, 64, 64) in
    [-1, 1], NCHW: Dense, reshape, four stride-2 transposed convolutions."""

    def __init__(self, latent_dim: int = 128, channels: int = 3, width: int = 1024):
        super().__init__()
        widths = _widths(width)
        self.nz = latent_dim
        self.config = {"family": "facegan", "image_size": IMAGE_SIZE, "channels": channels,
                       "latent_dim": latent_dim, "width": width}
        layers: list[nn.Module] = [
            nn.Linear(latent_dim, width * BASE * BASE),
            nn.BatchNorm1d(width * BASE * BASE, **KERAS_BN),
            nn.ReLU(),
            nn.Unflatten(1, (width, BASE, BASE)),  # Keras: Reshape((4, 4, 1024)), channels-last
        ]
        for in_channels, out_channels in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(in_channels, out_channels, 5, 2, padding=2,
                                          output_padding=1),
                       nn.BatchNorm2d(out_channels, **KERAS_BN),
                       nn.ReLU()]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 3, 2, padding=1, output_padding=1),
                   nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generate one image per latent vector."""
        return self.main(z.flatten(1))


class FaceDiscriminator(nn.Module):
    """Maps images (N, 3, 64, 64) to one logit each, shape (N,): four stride-2 convolutions,
    flatten, Dense(1); no sigmoid at the end."""

    def __init__(self, channels: int = 3, width: int = 1024):
        super().__init__()
        widths = _widths(width)[::-1]  # 128, 256, 512, 1024 in the report
        self.image_size = IMAGE_SIZE
        self.config = {"family": "facegan", "image_size": IMAGE_SIZE, "channels": channels,
                       "width": width}
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 3, 2, padding=1),
                                   nn.LeakyReLU(KERAS_LEAKY_SLOPE)]
        kernels = (3, 5, 5)
        for in_channels, out_channels, k in zip(widths[:-1], widths[1:], kernels):
            layers += [nn.Conv2d(in_channels, out_channels, k, 2, padding=k // 2),
                       nn.BatchNorm2d(out_channels, **KERAS_BN),
                       nn.LeakyReLU(KERAS_LEAKY_SLOPE)]
        layers += [nn.Flatten(), nn.Linear(widths[-1] * BASE * BASE, 1)]
        self.main = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Score each image: a logit, positive for 'real' (sigmoid gives the probability)."""
        check_image_size(images, self.image_size)
        return self.main(images).view(-1)


def init_facegan_weights(module: nn.Module) -> None:
    """`init_dcgan_weights`, plus dense weights ~ N(0, 0.02) and zero biases. Use with `.apply`."""
    init_dcgan_weights(module)
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        nn.init.zeros_(module.bias)


def facegan(latent_dim: int = 128, channels: int = 3,
            width: int = 1024) -> tuple[FaceGenerator, FaceDiscriminator]:
    """The face report's generator and discriminator (seed 002), DCGAN-initialised.

    `width` is the 4×4 stage's channel count (1024 in the report, halved at each doubling); a
    smaller one gives the same layout for quick tests. See the module docstring for the layer
    table, the report's parameter counts and every deliberate difference from its Keras models.
    """
    generator = FaceGenerator(latent_dim, channels, width)
    discriminator = FaceDiscriminator(channels, width)
    generator.apply(init_facegan_weights)
    discriminator.apply(init_facegan_weights)
    return generator, discriminator
