"""Datasets for GAN Lab: real and offline image sets as uint8 tensors, with device batches."""

from .errors import DatasetNotFoundError
from .imageset import ImageSet
from .paths import default_root
from .registry import available, load
from .synthetic import synthetic_blobs

__all__ = [
    "load",
    "available",
    "ImageSet",
    "DatasetNotFoundError",
    "synthetic_blobs",
    "default_root",
]
