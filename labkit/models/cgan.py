"""The conditional GAN of the CGAN lab report (Keras, EMNIST-balanced, 47 classes), in PyTorch.

Layer for layer as the report prints it (28×28 images, latent 128):

    discriminator  [image, one-hot label broadcast as 47 planes] 48×28×28
                   → Conv(64, k4, s2) + LeakyReLU + Dropout(0.3) → 64×14×14
                   → Conv(128, k4, s2) + LeakyReLU + Dropout(0.3) → 128×7×7
                   → Flatten → Linear(6272 → 1)                     (a logit)
    generator      [z, one-hot label] 175 → Linear(175 → 7·7·175) + LeakyReLU → 175×7×7
                   → ConvT(256, k4, s2) + BatchNorm + LeakyReLU → 256×14×14
                   → ConvT(channels, k4, s2) + Sigmoid → 1×28×28

With 47 classes the parameter counts are the report's: discriminator 186,689; generator
2,230,865 trainable (+512 BatchNorm running statistics). Keras defaults are kept where the report
relied on them: LeakyReLU slope 0.3, BatchNorm momentum 0.99 (PyTorch momentum 0.01) and
epsilon 1e-3, biases on every layer. One change: the Sigmoid output is rescaled to [-1, 1]
(2·sigmoid − 1) because the course's images are normalised to [-1, 1], not [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

KERAS_LEAKY_SLOPE = 0.3


class ConditionalGenerator(nn.Module):
    """G(z, y): a latent vector and a class label to an image in [-1, 1]."""

    def __init__(self, num_classes: int, image_size: int = 28, channels: int = 1,
                 latent_dim: int = 128):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4 (28 in the report), got "
                             f"{image_size}")
        self.nz, self.num_classes = latent_dim, num_classes
        self.config = {"family": "cgan", "num_classes": num_classes, "image_size": image_size,
                       "channels": channels, "latent_dim": latent_dim}
        width, self.base = latent_dim + num_classes, image_size // 4
        self.project = nn.Sequential(nn.Linear(width, self.base * self.base * width),
                                     nn.LeakyReLU(KERAS_LEAKY_SLOPE))
        self.main = nn.Sequential(
            nn.ConvTranspose2d(width, 256, 4, 2, 1),
            nn.BatchNorm2d(256, eps=1e-3, momentum=0.01),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            nn.ConvTranspose2d(256, channels, 4, 2, 1),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, *,
                label_weights: torch.Tensor | None = None) -> torch.Tensor:
        """Images for latents z (N, latent_dim) and integer labels (N,).

        Instead of `labels`, `label_weights` (N, num_classes) replaces the one-hot input, e.g.
        (1 - t)·onehot(a) + t·onehot(b) to interpolate between classes a and b.
        """
        if (labels is None) == (label_weights is None):
            raise ValueError("give either labels or label_weights")
        if label_weights is None:
            label_weights = F.one_hot(labels, self.num_classes)
        elif label_weights.shape != (len(z), self.num_classes):
            raise ValueError(f"label_weights must be ({len(z)}, {self.num_classes}), "
                             f"got {tuple(label_weights.shape)}")
        x = torch.cat([z.flatten(1), label_weights.to(z)], dim=1)
        x = self.project(x).view(len(z), -1, self.base, self.base)
        return 2 * torch.sigmoid(self.main(x)) - 1


class ConditionalDiscriminator(nn.Module):
    """D(x, y): an image and its class label to a logit (positive: 'real')."""

    def __init__(self, num_classes: int, image_size: int = 28, channels: int = 1):
        super().__init__()
        self.num_classes = num_classes
        self.config = {"family": "cgan", "num_classes": num_classes, "image_size": image_size,
                       "channels": channels}
        self.main = nn.Sequential(
            nn.Conv2d(channels + num_classes, 64, 4, 2, 1),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            nn.Dropout(0.3),
            nn.Conv2d(64, 128, 4, 2, 1),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            nn.Dropout(0.3),
            nn.Flatten(),
            nn.Linear(128 * (image_size // 4) ** 2, 1),
        )

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Logits (N,) for images (N, C, H, W) with integer labels (N,)."""
        planes = F.one_hot(labels, self.num_classes).to(images.dtype)[:, :, None, None]
        planes = planes.expand(-1, -1, *images.shape[-2:])
        return self.main(torch.cat([images, planes], dim=1)).view(-1)


def cgan(num_classes: int, image_size: int = 28, channels: int = 1,
         latent_dim: int = 128) -> tuple[ConditionalGenerator, ConditionalDiscriminator]:
    """The report's conditional generator and discriminator (PyTorch's default initialisation,
    as Keras' Glorot-uniform defaults have no DCGAN-style init in the report)."""
    return (ConditionalGenerator(num_classes, image_size, channels, latent_dim),
            ConditionalDiscriminator(num_classes, image_size, channels))
