"""DCGAN layouts against the seed reports: layers, parameter counts, shapes, initialisation."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from labkit.models import (
    Discriminator,
    Generator,
    count_parameters,
    dcgan,
    describe,
    init_dcgan_weights,
)

CT, C, BN = "ConvTranspose2d", "Conv2d", "BatchNorm2d"


def layer_table(model: nn.Module) -> list[tuple]:
    """Per layer: (type, in, out, kernel, stride, padding), (BatchNorm2d, width) or a type name."""
    rows = []
    for layer in model.main:
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            rows.append((type(layer).__name__, layer.in_channels, layer.out_channels,
                         layer.kernel_size[0], layer.stride[0], layer.padding[0]))
        elif isinstance(layer, nn.BatchNorm2d):
            rows.append((BN, layer.num_features))
        else:
            rows.append(type(layer).__name__)
    return rows


# Seed 000 (the PyTorch DCGAN tutorial's printout), nz=100, ngf=ndf=64, 64×64 RGB.
G64 = [(CT, 100, 512, 4, 1, 0), (BN, 512), "ReLU",
       (CT, 512, 256, 4, 2, 1), (BN, 256), "ReLU",
       (CT, 256, 128, 4, 2, 1), (BN, 128), "ReLU",
       (CT, 128, 64, 4, 2, 1), (BN, 64), "ReLU",
       (CT, 64, 3, 4, 2, 1), "Tanh"]
D64 = [(C, 3, 64, 4, 2, 1), "LeakyReLU",
       (C, 64, 128, 4, 2, 1), (BN, 128), "LeakyReLU",
       (C, 128, 256, 4, 2, 1), (BN, 256), "LeakyReLU",
       (C, 256, 512, 4, 2, 1), (BN, 512), "LeakyReLU",
       (C, 512, 1, 4, 1, 0)]  # the seed's Sigmoid is left out: D returns logits

# Seed 001 (32×32, ngf=ndf=128): G 100→512→256→128→3, D 3→128→256→512→1.
G32 = [(CT, 100, 512, 4, 1, 0), (BN, 512), "ReLU",
       (CT, 512, 256, 4, 2, 1), (BN, 256), "ReLU",
       (CT, 256, 128, 4, 2, 1), (BN, 128), "ReLU",
       (CT, 128, 3, 4, 2, 1), "Tanh"]
D32 = [(C, 3, 128, 4, 2, 1), "LeakyReLU",
       (C, 128, 256, 4, 2, 1), (BN, 256), "LeakyReLU",
       (C, 256, 512, 4, 2, 1), (BN, 512), "LeakyReLU",
       (C, 512, 1, 4, 1, 0)]

# Seed 004 (96×96 anime faces, ngf=ndf=64): the 64×64 layout, outer layers kernel 5 stride 3.
G96 = G64[:-2] + [(CT, 64, 3, 5, 3, 1), "Tanh"]
D96 = [(C, 3, 64, 5, 3, 1)] + D64[1:]


@pytest.mark.parametrize(
    ("kwargs", "g_layers", "d_layers"),
    [
        ({}, G64, D64),
        ({"image_size": 32, "ngf": 128, "ndf": 128}, G32, D32),
        ({"image_size": 96}, G96, D96),
    ],
)
def test_layer_by_layer(kwargs, g_layers, d_layers):
    generator, discriminator = dcgan(**kwargs)
    assert layer_table(generator) == g_layers
    assert layer_table(discriminator) == d_layers


def test_one_channel_changes_only_the_outer_layers():
    generator, discriminator = dcgan(image_size=32, channels=1, ngf=128, ndf=128)
    assert layer_table(generator) == G32[:-2] + [(CT, 128, 1, 4, 2, 1), "Tanh"]
    assert layer_table(discriminator) == [(C, 1, 128, 4, 2, 1)] + D32[1:]


def _tutorial_style(model: nn.Module) -> list[str]:
    """The printout, minus BatchNorm's `bias=True`, which newer PyTorch prints and 2.x did not."""
    return re.sub(r", bias=True(?=, track_running_stats)", "", repr(model)).splitlines()


def _bn(index: int, width: int) -> str:
    return (f"    ({index}): BatchNorm2d({width}, eps=1e-05, momentum=0.1, affine=True, "
            "track_running_stats=True)")


def test_printout_matches_the_tutorial():
    generator, discriminator = dcgan()
    up = "kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False)"
    assert _tutorial_style(generator) == [
        "Generator(",
        "  (main): Sequential(",
        "    (0): ConvTranspose2d(100, 512, kernel_size=(4, 4), stride=(1, 1), bias=False)",
        _bn(1, 512), "    (2): ReLU(inplace=True)",
        f"    (3): ConvTranspose2d(512, 256, {up}", _bn(4, 256), "    (5): ReLU(inplace=True)",
        f"    (6): ConvTranspose2d(256, 128, {up}", _bn(7, 128), "    (8): ReLU(inplace=True)",
        f"    (9): ConvTranspose2d(128, 64, {up}", _bn(10, 64), "    (11): ReLU(inplace=True)",
        f"    (12): ConvTranspose2d(64, 3, {up}", "    (13): Tanh()",
        "  )",
        ")",
    ]
    lrelu = "LeakyReLU(negative_slope=0.2, inplace=True)"
    assert _tutorial_style(discriminator) == [
        "Discriminator(",
        "  (main): Sequential(",
        f"    (0): Conv2d(3, 64, {up}", f"    (1): {lrelu}",
        f"    (2): Conv2d(64, 128, {up}", _bn(3, 128), f"    (4): {lrelu}",
        f"    (5): Conv2d(128, 256, {up}", _bn(6, 256), f"    (7): {lrelu}",
        f"    (8): Conv2d(256, 512, {up}", _bn(9, 512), f"    (10): {lrelu}",
        "    (11): Conv2d(512, 1, kernel_size=(4, 4), stride=(1, 1), bias=False)",
        "  )",  # the tutorial's (12): Sigmoid() is left out: D returns logits
        ")",
    ]


# Parameter counts. Conv weights are in*out*k*k (no biases); each BatchNorm has 2*width.
#   64×64, ngf=ndf=64 (the tutorial's numbers):
#     G 100*512*16 + 512*256*16 + 256*128*16 + 128*64*16 + 64*3*16 = 3,574,784
#       + BN 2*(512+256+128+64) = 1,920                           -> 3,576,704
#     D 3*64*16 + 64*128*16 + 128*256*16 + 256*512*16 + 512*1*16 = 2,763,776
#       + BN 2*(128+256+512) = 1,792                              -> 2,765,568
#   32×32, ngf=ndf=128, RGB:
#     G 100*512*16 + 512*256*16 + 256*128*16 + 128*3*16 = 3,446,784 + BN 1,792 -> 3,448,576
#     D 3*128*16 + 128*256*16 + 256*512*16 + 512*1*16 = 2,635,776 + BN 1,536 -> 2,637,312
#   32×32, ngf=ndf=128, one channel: the outer convs lose 128*2*16 = 4,096 each
#     G 3,448,576 - 4,096 = 3,444,480;  D 2,637,312 - 4,096 = 2,633,216
#   96×96, ngf=ndf=64: the outer 4×4 kernels become 5×5, 64*3*(25-16) = 1,728 more each
#     G 3,576,704 + 1,728 = 3,578,432;  D 2,765,568 + 1,728 = 2,767,296
@pytest.mark.parametrize(
    ("kwargs", "g_count", "d_count"),
    [
        ({}, 3_576_704, 2_765_568),
        ({"image_size": 32, "ngf": 128, "ndf": 128}, 3_448_576, 2_637_312),
        ({"image_size": 32, "ngf": 128, "ndf": 128, "channels": 1}, 3_444_480, 2_633_216),
        ({"image_size": 96}, 3_578_432, 2_767_296),
    ],
)
def test_parameter_counts(kwargs, g_count, d_count):
    generator, discriminator = dcgan(**kwargs)
    assert count_parameters(generator) == g_count
    assert count_parameters(discriminator) == d_count


@pytest.mark.parametrize(("image_size", "channels"), [(32, 3), (32, 1), (64, 3), (96, 3)])
def test_output_shapes(image_size, channels):
    generator, discriminator = dcgan(image_size, channels, nz=16, ngf=8, ndf=8)
    z = torch.randn(3, 16)
    images = generator(z)
    assert images.shape == (3, channels, image_size, image_size)
    assert torch.equal(generator(z[:, :, None, None]), images)  # (N, nz, 1, 1) works too
    assert images.abs().max() <= 1
    # the stage before D's last conv is 8ndf×4×4 (4ndf at 32×32), as in the seeds
    features = discriminator.main[:-1](images)
    assert features.shape[-2:] == (4, 4)
    assert discriminator(images).shape == (3,)


def test_config_and_nz():
    generator, discriminator = dcgan(image_size=32, channels=1, nz=20, ngf=8, ndf=16)
    assert generator.nz == 20
    assert generator.config == {"family": "dcgan", "image_size": 32, "channels": 1,
                                "nz": 20, "ngf": 8}
    assert discriminator.config == {"family": "dcgan", "image_size": 32, "channels": 1,
                                    "ndf": 16}
    assert Generator(**{k: v for k, v in generator.config.items() if k != "family"}).config \
        == generator.config


def test_initialisation_statistics():
    torch.manual_seed(0)
    generator, discriminator = dcgan()
    for model in (generator, discriminator):
        for layer in model.modules():
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)) and layer.weight.numel() > 1e4:
                assert abs(layer.weight.std().item() - 0.02) < 0.001
                assert abs(layer.weight.mean().item()) < 0.001
            if isinstance(layer, nn.BatchNorm2d):
                assert abs(layer.weight.mean().item() - 1) < 0.01
                assert 0.01 < layer.weight.std().item() < 0.03
                assert torch.count_nonzero(layer.bias) == 0


def test_init_function_on_its_own():
    layer, norm = nn.Conv2d(64, 64, 3, bias=True), nn.BatchNorm2d(64)
    nn.Sequential(layer, norm).apply(init_dcgan_weights)
    assert abs(layer.weight.std().item() - 0.02) < 0.002
    assert torch.count_nonzero(layer.bias) == 0 and torch.count_nonzero(norm.bias) == 0


def test_discriminator_returns_logits():
    torch.manual_seed(0)
    _, discriminator = dcgan(image_size=32, ngf=8, ndf=8)
    assert not any(isinstance(m, nn.Sigmoid) for m in discriminator.modules())
    assert isinstance(discriminator.main[-1], nn.Conv2d)
    discriminator.main[-1].weight.data.mul_(100)  # large logits: a Sigmoid would squash them
    logits = discriminator(torch.randn(16, 3, 32, 32))
    assert (logits < 0).any() and (logits > 1).any()


def test_discriminator_rejects_the_wrong_image_size():
    _, discriminator = dcgan(image_size=32, ngf=8, ndf=8)
    with pytest.raises(ValueError, match="32×32"):
        discriminator(torch.randn(2, 3, 64, 64))


def test_describe_ends_with_the_count():
    generator, _ = dcgan()
    text = describe(generator)
    assert text.startswith("Generator(")
    assert text.splitlines()[-1] == "Trainable parameters: 3,576,704"


def test_frozen_parameters_are_not_counted():
    generator, _ = dcgan(image_size=32, ngf=8)
    total = count_parameters(generator)
    generator.main[0].weight.requires_grad_(False)
    assert count_parameters(generator) == total - generator.main[0].weight.numel()


@pytest.mark.parametrize("image_size", [28, 48, 128])
def test_unsupported_size_raises(image_size):
    with pytest.raises(ValueError, match="32, 64, 96"):
        dcgan(image_size=image_size)
    with pytest.raises(ValueError):
        Discriminator(image_size=image_size)
