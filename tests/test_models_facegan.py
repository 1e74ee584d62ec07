"""The face-generation report's Keras DCGAN (seed 002): every layer of its two model summaries."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from labkit.data import synthetic_blobs
from labkit.models import FaceDiscriminator, FaceGenerator, count_parameters, facegan
from labkit.train import train_gan


def keras_count(layer: nn.Module) -> int:
    """A layer's parameters as Keras counts them: weights plus BatchNorm's moving mean/variance."""
    moving = sum(b.numel() for name, b in layer.named_buffers() if name.startswith("running_"))
    return sum(p.numel() for p in layer.parameters()) + moving


def keras_table(model: nn.Module, z_or_images: torch.Tensor) -> list[tuple[str, tuple, int]]:
    """Per layer of `model.main`: (type, output shape without N, Keras parameter count)."""
    shapes = []
    hooks = [layer.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
             for layer in model.main]
    with torch.no_grad():
        model(z_or_images)
    for hook in hooks:
        hook.remove()
    return [(type(layer).__name__, shape, keras_count(layer))
            for layer, shape in zip(model.main, shapes, strict=True)]


# The report's Keras summaries, section 3.3.4 "Define the DCGAN model", Fig. 3.10 "DCGAN network
# (containing generator and discriminator models)". Keras prints (None, H, W, C); the shapes
# here are PyTorch's (C, H, W). Row names as Keras prints them, then ours.
GENERATOR_SUMMARY = [
    ("Linear", (16384,), 2_113_536),              # dense (Dense)  (None, 16384)  2113536
    ("BatchNorm1d", (16384,), 65_536),            # batch_normalization  (None, 16384)  65536
    ("ReLU", (16384,), 0),                        # re_lu (ReLU)  (None, 16384)  0
    ("Unflatten", (1024, 4, 4), 0),               # [reshape; its name is overprinted by a
                                                  #  Keras warning]  (None, 4, 4, 1024)  0
    ("ConvTranspose2d", (512, 8, 8), 13_107_712),  # conv2d_transpose  (None, 8, 8, 512)
    ("BatchNorm2d", (512, 8, 8), 2_048),          # batch_normalization_1
    ("ReLU", (512, 8, 8), 0),                     # re_lu_1
    ("ConvTranspose2d", (256, 16, 16), 3_277_056),  # conv2d_transpose_1  (None, 16, 16, 256)
    ("BatchNorm2d", (256, 16, 16), 1_024),        # "patch_normalization_2" (OCR) 1024
    ("ReLU", (256, 16, 16), 0),                   # re_lu_2
    ("ConvTranspose2d", (128, 32, 32), 819_328),  # conv2d_transpose_2  (None, 32, 32, 128)
    ("BatchNorm2d", (128, 32, 32), 512),          # batch_normalization_3
    ("ReLU", (128, 32, 32), 0),                   # re_lu_3
    ("ConvTranspose2d", (3, 64, 64), 3_459),      # conv2d_transpose_3  (None, 64, 64, 3)
    ("Tanh", (3, 64, 64), 0),                     # activation (Activation)  (None, 64, 64, 3)
]
# "Total params: 19,390,211 Trainable params: 19,355,651 Non-trainable params: 34,560"
GENERATOR_TOTALS = (19_390_211, 19_355_651, 34_560)

DISCRIMINATOR_SUMMARY = [
    # conv2d (Conv2D): the report's row is blank; its count is what the printed total leaves,
    # 16,707,841 - (the other rows) = 3,584 = 3*3*3*128 + 128 (kernel 3), its shape the next
    # row's.
    ("Conv2d", (128, 32, 32), 3_584),
    ("LeakyReLU", (128, 32, 32), 0),              # leaky_re_lu  (None, 32, 32, 128)  0
    ("Conv2d", (256, 16, 16), 295_168),           # conv2d_1  (None, 16, 16, 256)  295168
    ("BatchNorm2d", (256, 16, 16), 1_024),        # batch_normalization_4  1024
    ("LeakyReLU", (256, 16, 16), 0),              # leaky_re_lu_1
    ("Conv2d", (512, 8, 8), 3_277_312),           # conv2d_2  (None, 8, 8, 512)  3277312
    ("BatchNorm2d", (512, 8, 8), 2_048),          # batch_normalization_5  2048
    ("LeakyReLU", (512, 8, 8), 0),                # leaky_re_lu_2
    ("Conv2d", (1024, 4, 4), 13_108_224),         # conv2d_3  (None, 4, 4, 1024)  13108224
    ("BatchNorm2d", (1024, 4, 4), 4_096),         # batch_normalization_6  4096
    ("LeakyReLU", (1024, 4, 4), 0),               # leaky_re_lu_3
    ("Flatten", (16384,), 0),                     # flatten (Flatten)  (None, 16384)  0
    ("Linear", (1,), 16_385),                     # dense_1 (Dense)  (None, 1)  16385
    # activation_1 (Activation) (None, 1) 0: left out, D returns logits (BCE-with-logits)
]
# "Total params: 16,707,841 Trainable params: 16,704,257 Non-trainable params: 3,584"
DISCRIMINATOR_TOTALS = (16_707_841, 16_704_257, 3_584)


@pytest.fixture(scope="module")
def report_models():
    torch.manual_seed(0)
    return facegan()


def test_generator_matches_the_report_layer_by_layer(report_models):
    generator, _ = report_models
    assert keras_table(generator, torch.randn(2, 128)) == GENERATOR_SUMMARY


def test_discriminator_matches_the_report_layer_by_layer(report_models):
    _, discriminator = report_models
    assert keras_table(discriminator, torch.randn(2, 3, 64, 64)) == DISCRIMINATOR_SUMMARY


@pytest.mark.parametrize(("index", "summary", "totals"),
                         [(0, GENERATOR_SUMMARY, GENERATOR_TOTALS),
                          (1, DISCRIMINATOR_SUMMARY, DISCRIMINATOR_TOTALS)])
def test_totals_match_the_report(report_models, index, summary, totals):
    model = report_models[index]
    total, trainable, non_trainable = totals
    assert sum(row[2] for row in summary) == total == trainable + non_trainable
    assert count_parameters(model) == trainable
    assert sum(keras_count(layer) for layer in model.main) - trainable == non_trainable


def test_kernels_strides_and_keras_defaults(report_models):
    generator, discriminator = report_models
    convs = [(type(m).__name__, m.kernel_size[0], m.stride[0], m.padding[0],
              m.output_padding[0] if isinstance(m, nn.ConvTranspose2d) else None,
              m.bias is not None)
             for model in report_models for m in model.modules()
             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    # kernels from the counts: (count - out) / (in*out) = 25, 25, 25, 9 (G); 9, 9, 25, 25 (D)
    assert convs == [("ConvTranspose2d", 5, 2, 2, 1, True)] * 3 + [
        ("ConvTranspose2d", 3, 2, 1, 1, True),
        ("Conv2d", 3, 2, 1, None, True), ("Conv2d", 3, 2, 1, None, True),
        ("Conv2d", 5, 2, 2, None, True), ("Conv2d", 5, 2, 2, None, True)]
    norms = [m for model in report_models for m in model.modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert len(norms) == 7
    assert all((m.eps, m.momentum) == (1e-3, 0.01) for m in norms)  # Keras momentum 0.99
    slopes = [m.negative_slope for m in discriminator.modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.3] * 4  # Keras' default alpha; the report sets none
    assert not any(isinstance(m, nn.Sigmoid) for m in discriminator.modules())
    assert generator.nz == 128


def test_output_shapes_range_and_logits(report_models):
    torch.manual_seed(1)
    generator, discriminator = report_models
    z = torch.randn(4, 128)
    images = generator(z)
    assert images.shape == (4, 3, 64, 64)
    assert images.min() >= -1 and images.max() <= 1
    assert torch.equal(generator(z[:, :, None, None]), images)  # (N, nz, 1, 1) works too
    assert discriminator(images).shape == (4,)
    _, narrow = facegan(width=32)  # a copy to change, not the shared fixture
    with torch.no_grad():
        narrow.main[-1].bias.fill_(5.0)  # a Sigmoid at the end would keep every score below 1
    assert (narrow(images) > 1).all()


def test_initialisation_is_dcgan_style(report_models):
    for model in report_models:
        for layer in model.modules():
            if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                if layer.weight.numel() > 1e4:
                    assert abs(layer.weight.std().item() - 0.02) < 0.001
                assert torch.count_nonzero(layer.bias) == 0


def test_config_narrow_copies_and_bad_inputs():
    generator, discriminator = facegan(latent_dim=16, width=32)
    assert generator.nz == 16
    assert generator.config == {"family": "facegan", "image_size": 64, "channels": 3,
                                "latent_dim": 16, "width": 32}
    assert discriminator.config == {"family": "facegan", "image_size": 64, "channels": 3,
                                    "width": 32}
    assert FaceGenerator(16, width=32)(torch.randn(2, 16)).shape == (2, 3, 64, 64)
    with pytest.raises(ValueError, match="64×64"):
        discriminator(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match="multiple of 8"):
        FaceDiscriminator(width=100)


def test_train_gan_trains_a_narrow_copy(tmp_path):
    torch.manual_seed(0)
    generator, discriminator = facegan(latent_dim=16, width=32)
    before = [p.detach().clone() for p in (*generator.parameters(), *discriminator.parameters())]
    data = synthetic_blobs(n=8, image_size=64, channels=3, seed=0)
    run = train_gan(generator, discriminator, data, epochs=1, batch_size=4, num_samples=4,
                    log_every=1, progress=False, device="cpu", out_dir=tmp_path)
    assert run.metrics["steps"] == 2
    assert all(math.isfinite(v) for v in run.history["loss_d"] + run.history["loss_g"])
    after = [*generator.parameters(), *discriminator.parameters()]
    assert all(not torch.equal(a, b) for a, b in zip(before, after))
    assert run.generate(4).shape == (4, 3, 64, 64)
