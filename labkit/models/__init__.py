"""The GAN architectures of the course (one file per family) and their weight initialisation."""

from .cgan import ConditionalDiscriminator, ConditionalGenerator, cgan
from .dcgan import Discriminator, Generator, dcgan
from .init import init_dcgan_weights
from .summary import count_parameters, describe
from .toy import ToyDiscriminator, ToyGenerator, mlp_gan

__all__ = [
    "ConditionalDiscriminator", "ConditionalGenerator", "Discriminator", "Generator",
    "ToyDiscriminator", "ToyGenerator", "cgan", "count_parameters", "dcgan", "describe",
    "init_dcgan_weights", "mlp_gan",
]
