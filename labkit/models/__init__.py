"""The GAN architectures of the course (one file per family) and their weight initialisation."""

from .cgan import ConditionalDiscriminator, ConditionalGenerator, cgan
from .dcgan import Discriminator, Generator, dcgan
from .facegan import FaceDiscriminator, FaceGenerator, facegan, init_facegan_weights
from .init import init_dcgan_weights
from .resdcgan import AveragingDiscriminator, ResidualBlock, ResidualGenerator, resdcgan
from .srgan import FrozenDiscriminator, SRDiscriminator, SRResNet, srgan
from .summary import count_parameters, describe
from .tiling import tiled_upscale
from .toy import ToyDiscriminator, ToyGenerator, mlp_gan
from .vgg import PerceptualLoss, VGG19WeightsUnavailable, VGGFeatures

__all__ = [
    "AveragingDiscriminator", "ResidualBlock", "ResidualGenerator", "resdcgan",
    "ConditionalDiscriminator", "ConditionalGenerator", "Discriminator", "Generator",
    "ToyDiscriminator", "ToyGenerator", "cgan", "count_parameters", "dcgan", "describe",
    "FaceDiscriminator", "FaceGenerator", "facegan", "init_facegan_weights",
    "init_dcgan_weights", "mlp_gan",
    "FrozenDiscriminator", "PerceptualLoss", "SRDiscriminator", "SRResNet",
    "VGG19WeightsUnavailable", "VGGFeatures", "srgan", "tiled_upscale",
]
