"""The GAN architectures of the course (one file per family) and their weight initialisation."""

from .dcgan import Discriminator, Generator, dcgan
from .init import init_dcgan_weights
from .summary import count_parameters, describe

__all__ = ["Discriminator", "Generator", "count_parameters", "dcgan", "describe",
           "init_dcgan_weights"]
