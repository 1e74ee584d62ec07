"""The CGAN lab report's model: layers and parameter counts as its Keras summaries print them."""

import pytest
import torch
from torch import nn

from labkit.models import cgan, count_parameters


def test_parameter_counts_match_the_report_with_47_classes():
    generator, discriminator = cgan(47)
    # Keras summaries in the report: D 186,689; G 2,231,377 total, 2,230,865 trainable.
    assert count_parameters(discriminator) == 49_216 + 131_200 + 6_273 == 186_689
    assert count_parameters(generator) == 1_509_200 + 717_056 + 512 + 4_097 == 2_230_865
    buffers = sum(b.numel() for n, b in generator.named_buffers() if "running" in n)
    assert count_parameters(generator) + buffers == 2_231_377


def test_layers_follow_the_report():
    generator, discriminator = cgan(47)
    convs = [m for m in discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (48, 64, (4, 4), (2, 2)), (64, 128, (4, 4), (2, 2))]
    assert [m.p for m in discriminator.modules() if isinstance(m, nn.Dropout)] == [0.3, 0.3]
    assert all(m.negative_slope == 0.3 for m in generator.modules()
               if isinstance(m, nn.LeakyReLU))
    linear = generator.project[0]
    assert (linear.in_features, linear.out_features) == (175, 7 * 7 * 175)
    bn = generator.main[1]
    assert (bn.eps, bn.momentum) == (1e-3, 0.01)


def test_shapes_range_and_conditioning():
    torch.manual_seed(0)
    generator, discriminator = cgan(10, image_size=28, channels=1, latent_dim=16)
    z, labels = torch.randn(6, 16), torch.tensor([0, 1, 2, 3, 4, 9])
    images = generator(z, labels)
    assert images.shape == (6, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    assert discriminator(images, labels).shape == (6,)
    generator.eval()
    other = generator(z, (labels + 1) % 10)
    assert not torch.allclose(images, other)  # the label changes the image
    assert generator.nz == 16 and generator.num_classes == 10


def test_image_size_must_allow_two_doublings():
    with pytest.raises(ValueError, match="multiple of 4"):
        cgan(10, image_size=30)


def test_label_weights_replace_the_one_hot_and_mix_classes():
    torch.manual_seed(0)
    generator, _ = cgan(10, latent_dim=16)
    generator.eval()
    z, labels = torch.randn(3, 16), torch.tensor([2, 5, 7])
    one_hot = torch.nn.functional.one_hot(labels, 10).float()
    assert torch.equal(generator(z, labels), generator(z, label_weights=one_hot))
    half = 0.5 * one_hot[:1] + 0.5 * torch.nn.functional.one_hot(torch.tensor([3]), 10).float()
    mixed = generator(z[:1], label_weights=half)
    assert not torch.allclose(mixed, generator(z[:1], labels[:1]))
    with pytest.raises(ValueError, match="either labels or label_weights"):
        generator(z, labels, label_weights=one_hot)
    with pytest.raises(ValueError, match="either labels or label_weights"):
        generator(z)
    with pytest.raises(ValueError, match=r"\(3, 10\)"):
        generator(z, label_weights=one_hot[:, :9])
