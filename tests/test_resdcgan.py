"""The improved-DCGAN seed's modified pair: layers, parameter counts by hand, the trunk's skips."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from labkit.models import (
    AveragingDiscriminator,
    ResidualGenerator,
    count_parameters,
    dcgan,
    resdcgan,
)


@pytest.mark.parametrize(("size", "channels"), [(32, 1), (64, 3), (96, 3)])
def test_shapes_at_every_supported_size(size, channels):
    generator, discriminator = resdcgan(image_size=size, channels=channels, nz=16, ngf=8, ndf=8)
    images = generator(torch.randn(3, 16))
    assert images.shape == (3, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1  # Tanh
    assert discriminator(images).shape == (3,)
    assert generator(torch.randn(3, 16, 1, 1)).shape == images.shape  # (N, nz, 1, 1) works too


def test_unsupported_sizes_and_wrong_inputs_are_refused():
    with pytest.raises(ValueError, match="32, 64, 96"):
        resdcgan(image_size=48)
    with pytest.raises(ValueError, match="blocks"):
        ResidualGenerator(blocks=0)
    _, discriminator = resdcgan(image_size=32, channels=1, ngf=8, ndf=8)
    with pytest.raises(ValueError, match="32×32"):
        discriminator(torch.zeros(2, 1, 64, 64))


def test_parameter_counts_at_the_paper_size():
    # nz=100, ngf=ndf=64, RGB, 96×96. DCGAN generator: ConvT 100→512 (k4) 819,200 + BN 1,024;
    # 512→256 2,097,152 + 512; 256→128 524,288 + 256; 128→64 131,072 + 128; 64→3 (k5)
    # 4,800: 3,578,432. The trunk sits at the 128-channel 16×16 stage: each block is two
    # 3×3 convolutions 128→128 (2 × 147,456) and two BatchNorms (2 × 256): 295,424; nine of
    # them 2,658,816; modified generator 3,578,432 + 2,658,816 = 6,237,248.
    # DCGAN discriminator: Conv 3→64 (k5) 4,800; 64→128 131,072 + 256; 128→256 524,288 + 512;
    # 256→512 2,097,152 + 1,024; 512→1 (k4) 8,192: 2,767,296. Modified: without the 4×4
    # output convolution (-8,192), plus the repeated stage 512→512 3×3 (2,359,296) + BN
    # (1,024), plus the 1×1 convolution 512→1 (512): 5,119,936.
    g, d = dcgan(image_size=96)
    rg, rd = resdcgan(image_size=96)
    assert (count_parameters(g), count_parameters(d)) == (3_578_432, 2_767_296)
    assert (count_parameters(rg), count_parameters(rd)) == (6_237_248, 5_119_936)


def test_parameter_counts_at_the_cpu_size():
    # nz=100, ngf=ndf=16, grey, 32×32 (the cpu profile). DCGAN generator: ConvT 100→64
    # 102,400 + BN 128; 64→32 32,768 + 64; 32→16 8,192 + 32; 16→1 256: 143,840. Modified:
    # stem (the first two stages) 135,360; trunk at 32 channels 8×8: 9 × (2 × 9,216 + 2 × 64)
    # = 167,040; head 8,192 + 32 + 256 = 8,480: 310,880.
    # DCGAN discriminator: Conv 1→16 256; 16→32 8,192 + 64; 32→64 32,768 + 128; 64→1 1,024:
    # 42,432. Modified: 42,432 - 1,024 + 64→64 3×3 36,864 + BN 128 + 1×1 64→1 64 = 78,464.
    sizes = {"image_size": 32, "channels": 1, "nz": 100, "ngf": 16, "ndf": 16}
    g, d = dcgan(**sizes)
    rg, rd = resdcgan(**sizes)
    assert (count_parameters(g), count_parameters(d)) == (143_840, 42_432)
    assert (count_parameters(rg), count_parameters(rd)) == (310_880, 78_464)


def test_every_block_after_the_first_adds_the_first_blocks_output():
    torch.manual_seed(0)
    generator = ResidualGenerator(image_size=32, channels=1, nz=8, ngf=4, blocks=3).eval()
    z = torch.randn(2, 8, 1, 1)
    with torch.no_grad():
        s = generator.stem(z)
        first = s + generator.blocks[0](s)
        second = generator.blocks[1](first) + first
        third = generator.blocks[2](second) + first
        assert torch.allclose(generator(z), generator.head(third))
    assert s.shape == (2, 8, 8, 8)  # the trunk works at the 2·ngf stage, 8×8 at 32 px


def test_discriminator_repeats_its_last_stage_and_averages_positions():
    discriminator = AveragingDiscriminator(image_size=96, channels=3, ndf=8).eval()
    convs = [m for m in discriminator.main if isinstance(m, nn.Conv2d)]
    shapes = [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs]
    assert shapes == [(3, 8, 5, 3), (8, 16, 4, 2), (16, 32, 4, 2), (32, 64, 4, 2),
                      (64, 64, 3, 1), (64, 1, 1, 1)]
    images = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        per_position = discriminator.main(images)
        assert per_position.shape == (2, 1, 4, 4)
        assert torch.allclose(discriminator(images), per_position.mean(dim=(1, 2, 3)))


def test_dcgan_initialisation_and_config():
    generator, discriminator = resdcgan(image_size=96)
    weights = torch.cat([m.weight.flatten() for m in generator.modules()
                         if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    assert abs(weights.std().item() - 0.02) < 0.002
    assert generator.config == {"family": "resdcgan", "image_size": 96, "channels": 3,
                                "nz": 100, "ngf": 64, "blocks": 9}
    assert generator.nz == 100 and discriminator.config["ndf"] == 64
