"""Datasets for GAN Lab: real and offline image sets as uint8 tensors, with device batches."""

from .errors import DatasetNotFoundError
from .imageset import ImageSet
from .imresize import imresize
from .paths import default_root
from .registry import available, load
from .synthetic import synthetic_blobs
from .toy import (
    PointSet,
    gaussian_mixture_1d,
    optimal_discriminator,
    ring_centres,
    ring_of_gaussians,
)
from .whole import bicubic_downscale, load_images, modcrop

__all__ = [
    "load",
    "load_images",
    "modcrop",
    "bicubic_downscale",
    "available",
    "ImageSet",
    "DatasetNotFoundError",
    "synthetic_blobs",
    "default_root",
    "imresize",
    "PointSet",
    "gaussian_mixture_1d",
    "ring_of_gaussians",
    "ring_centres",
    "optimal_discriminator",
]
