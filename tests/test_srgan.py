"""Chapter 5's pieces: SRGAN models and counts, VGG loss, tiled inference, whole images, slider."""

from __future__ import annotations

import urllib.error
import urllib.request
from contextlib import nullcontext
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from PIL import Image

from labkit.chapters import srgan as chapter5
from labkit.data import (
    DatasetNotFoundError,
    ImageSet,
    bicubic_downscale,
    imresize,
    load_images,
    modcrop,
)
from labkit.models import (
    FrozenDiscriminator,
    PerceptualLoss,
    VGG19WeightsUnavailable,
    VGGFeatures,
    count_parameters,
    srgan,
    tiled_upscale,
)
from labkit.models.srgan import LAB_D_BLOCKS, dense_parameters
from labkit.pixels import to_signed
from labkit.train import Labels, TrainConfig, checkpoint, discriminator_step, train_gan
from labkit.train.engine import SuperResolution
from labkit.widgets import before_after, split_view

# --- models -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("scale", "expected"), [(2, 1_402_883), (4, 1_550_659)])
def test_paper_generator_shapes_and_parameter_counts(scale, expected):
    generator, _ = srgan(scale)
    assert count_parameters(generator) == expected  # 16 blocks; ×4 is the paper's 1.55 M
    out = generator(torch.randn(2, 3, 12, 10))
    assert out.shape == (2, 3, 12 * scale, 10 * scale)
    assert sum(isinstance(m, torch.nn.PixelShuffle) for m in generator.modules()) == {2: 1, 4: 2}[
        scale]


@pytest.mark.parametrize("scale", [2, 4])
def test_paper_discriminator_is_the_same_at_every_scale(scale):
    _, discriminator = srgan(scale)
    # 7 conv blocks + first conv, then 512·6·6 = 18,432 → 1,024 → 1 on 96×96 crops.
    assert discriminator.flat_features == 18_432
    assert count_parameters(discriminator) == 23_565_505
    assert discriminator(torch.randn(3, 3, 96, 96)).shape == (3,)
    with pytest.raises(ValueError, match="multiple of 16"):
        srgan(scale, image_size=100)
    narrow = srgan(scale, image_size=48, d_features=32)[1]  # the cpu profile's: half the widths
    assert narrow.flat_features == 256 * 3 * 3 and narrow.features[0].out_channels == 32


def test_lab_variant_matches_the_report_keras_summary():
    generator, discriminator = srgan(4, variant="lab", image_size=32)
    assert count_parameters(generator) == 1_080_835  # the report's "Trainable params"
    assert generator(torch.zeros(1, 3, 16, 16)).shape == (1, 3, 64, 64)
    assert generator(torch.randn(1, 3, 8, 8)).abs().max() <= 1  # Tanh output
    assert discriminator(torch.randn(2, 3, 32, 32)).shape == (2,)
    # At 256×256 the report's D flattens 32·32·512 = 524,288 features into Dense(1024).
    assert dense_parameters(256, LAB_D_BLOCKS) == 536_871_936
    with torch.device("meta"):  # built without memory
        _, big = srgan(4, variant="lab")
    assert big.flat_features == 524_288
    assert big.classifier[1].weight.numel() + big.classifier[1].bias.numel() == 536_871_936


def test_bad_scale_and_variant_are_refused():
    with pytest.raises(ValueError, match="power of two"):
        srgan(3)
    with pytest.raises(ValueError, match="variant"):
        srgan(4, variant="esrgan")
    with pytest.raises(ValueError, match="bicubic"):
        srgan(4, variant="lab", residual="bicubic")


def test_bicubic_residual_generator_starts_at_bicubic_upsampling():
    generator, _ = srgan(4, blocks=2, residual="bicubic")
    lr = torch.rand(2, 3, 8, 8) * 2 - 1
    expected = F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)
    assert torch.allclose(generator(lr), expected, atol=1e-6)


def test_frozen_discriminator_never_changes_but_passes_gradients():
    _, discriminator = srgan(4, image_size=32)
    frozen = FrozenDiscriminator(discriminator)
    assert [name for name, _ in frozen.named_parameters()] == ["anchor"]
    before = {k: v.clone() for k, v in discriminator.state_dict().items()}
    optimizer = torch.optim.Adam(frozen.parameters(), lr=1e-2)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    real, fake = torch.randn(4, 3, 32, 32), torch.randn(4, 3, 32, 32, requires_grad=True)
    frozen.train()
    for _ in range(3):
        discriminator_step(frozen, real, fake, optimizer, scaler, Labels(), nullcontext)
    after = discriminator.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN statistics too (eval)
    assert not discriminator.training and frozen.anchor.item() == 0.0
    frozen(fake).sum().backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0


def test_two_stages_through_the_engine(tmp_path):
    """SRResNet (weight 0: D untouched) then SRGAN from its weights, as the chapter runs them."""
    torch.manual_seed(0)
    data = ImageSet(torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8), name="crops")
    downscale = partial(bicubic_downscale, scale=4)
    config = TrainConfig(epochs=1, batch_size=4, out_dir=str(tmp_path), progress=False,
                         num_samples=4, log_every=1, device="cpu")
    generator, discriminator = srgan(4, blocks=1, image_size=32, residual="bicubic")
    d_before = {k: v.clone() for k, v in discriminator.state_dict().items()}
    stage1 = train_gan(generator, discriminator, data, config, name="srresnet",
                       task=SuperResolution(downscale, F.mse_loss, 0.0))
    assert all(torch.equal(d_before[k], v) for k, v in discriminator.state_dict().items())
    assert all(v == 0 for v in stage1.history["loss_d"]) and stage1.history["loss_content"]
    state = checkpoint.load(stage1.checkpoint_path)["generator"]
    generator2, discriminator2 = srgan(4, blocks=1, image_size=32, residual="bicubic")
    generator2.load_state_dict(state)
    stage2 = train_gan(generator2, discriminator2, data, config, name="srgan",
                       task=SuperResolution(downscale, F.mse_loss, 1e-3))
    assert all(v > 0 for v in stage2.history["loss_d"])
    assert stage2.generate(2).shape == (2, 3, 32, 32)


# --- tiled inference ----------------------------------------------------------------------------


def test_tiled_inference_equals_whole_image_inference():
    torch.manual_seed(0)
    generator, _ = srgan(4, blocks=2)  # receptive field: about 12 LR pixels from the centre
    generator.eval()
    lr = torch.rand(1, 3, 37, 45) * 2 - 1
    with torch.no_grad():
        whole = generator(lr)
    generator.train()
    exact = tiled_upscale(generator, lr, tile=16, overlap=14)
    assert exact.shape == whole.shape and generator.training  # mode restored
    assert torch.allclose(exact, whole, atol=1e-4)

    short = tiled_upscale(generator, lr[0], tile=16, overlap=4)  # context < receptive field
    assert short.shape == whole.shape[1:]
    diff = (short - whole[0]).abs().amax(dim=0)  # per HR pixel
    seams = torch.zeros_like(diff, dtype=torch.bool)
    for start in (16, 32):  # LR tile borders: within 10 LR pixels (40 HR) of a seam
        seams[max(0, (start - 10) * 4):(start + 10) * 4, :] = True
        seams[:, max(0, (start - 10) * 4):(start + 10) * 4] = True
    assert diff[~seams].max() < 1e-4  # away from the seams: the whole-image result
    assert 0 < diff[seams].max() < 0.5 * whole.abs().max()  # at them: close, not equal
    assert diff[seams].mean() < 0.01


def test_tiled_inference_refuses_bad_sizes():
    generator, _ = srgan(2, blocks=1)
    with pytest.raises(ValueError):
        tiled_upscale(generator, torch.zeros(3, 8, 8), tile=0)


# --- VGG perceptual loss ------------------------------------------------------------------------


@pytest.mark.parametrize(("layer", "channels", "stride"),
                         [("vgg54", 512, 16), ("block3_conv4", 256, 4), ("vgg22", 128, 2)])
def test_vgg_features_with_random_weights(layer, channels, stride):
    features = VGGFeatures(layer, pretrained=False)
    assert features(torch.zeros(1, 3, 32, 32)).shape == (1, channels, 32 // stride, 32 // stride)
    assert not any(p.requires_grad for p in features.parameters())
    features.train()
    assert not features.features.training


def test_perceptual_loss_with_random_weights_is_rescaled_and_differentiable():
    torch.manual_seed(0)
    loss = PerceptualLoss("vgg54", pretrained=False)
    hr = torch.rand(2, 3, 32, 32) * 2 - 1
    sr = (hr + 0.3 * torch.randn_like(hr)).requires_grad_()
    assert loss(hr, hr).item() == 0.0
    value = loss(sr, hr)
    value.backward()
    assert value.item() > 0 and sr.grad.abs().sum() > 0
    unscaled = PerceptualLoss("vgg54", pretrained=False, rescale=1.0)
    unscaled.vgg.load_state_dict(loss.vgg.state_dict())
    assert unscaled(sr, hr).item() == pytest.approx(value.item() * 12.75**2, rel=1e-4)
    with pytest.raises(ValueError, match="unknown VGG19 layer"):
        PerceptualLoss("vgg99", pretrained=False)


def test_perceptual_loss_without_weights_says_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_VGG19_WEIGHTS", str(tmp_path / "missing.pth"))
    with pytest.raises(VGG19WeightsUnavailable, match="LABKIT_VGG19_WEIGHTS"):
        PerceptualLoss()
    monkeypatch.delenv("LABKIT_VGG19_WEIGHTS")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(VGG19WeightsUnavailable) as error:
        PerceptualLoss()
    message = str(error.value)
    assert "weights=" in message and "LABKIT_VGG19_WEIGHTS" in message
    assert "vgg19-dcbb9e9d.pth" in message and "content='mse'" in message


def test_perceptual_loss_reads_a_local_weights_file(tmp_path, monkeypatch):
    from torchvision.models.vgg import cfgs, make_layers

    layers = make_layers(cfgs["E"])
    torch.nn.init.constant_(layers[0].bias, 0.25)
    path = tmp_path / "vgg19.pth"
    torch.save({f"features.{k}": v for k, v in layers.state_dict().items()}, path)
    monkeypatch.setenv("LABKIT_VGG19_WEIGHTS", str(path))
    features = VGGFeatures("vgg22")
    assert torch.all(features.features[0].bias == 0.25)


# --- whole images -------------------------------------------------------------------------------


def test_held_out_photos_load_whole_and_never_overlap_training():
    test = load_images("photos")
    assert list(test) == ["chelsea", "coffee"]
    assert test["chelsea"].shape == (3, 300, 451) and test["chelsea"].dtype == torch.uint8
    assert not set(test) & set(load_images("photos", split="train"))
    assert modcrop(test["chelsea"], 4).shape == (3, 300, 448)
    with pytest.raises(ValueError, match="splits"):
        load_images("photos", split="valid")


def test_benchmark_folders_in_their_usual_layouts(tmp_path):
    def save(path, size):
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((size, size, 3), 128, dtype=np.uint8)).save(path)

    save(tmp_path / "Set5" / "image_SRF_4" / "img_001_SRF_4_HR.png", 40)
    save(tmp_path / "Set5" / "image_SRF_4" / "img_001_SRF_4_LR.png", 10)
    save(tmp_path / "Set14" / "baboon.png", 24)
    Image.fromarray(np.zeros((8, 12), dtype=np.uint8)).save(tmp_path / "Set14" / "bridge.png")
    set5 = load_images("set5", root=tmp_path)
    assert list(set5) == ["img_001_SRF_4"] and set5["img_001_SRF_4"].shape == (3, 40, 40)
    set14 = load_images("set14", root=tmp_path)
    assert list(set14) == ["baboon", "bridge"] and set14["bridge"].shape == (3, 8, 12)
    assert list(load_images(tmp_path / "Set14", limit=1)) == ["baboon"]
    with pytest.raises(DatasetNotFoundError, match="SelfExSR"):
        load_images("bsd100", root=tmp_path)
    with pytest.raises(DatasetNotFoundError, match="DIV2K_valid_HR"):
        load_images("div2k", split="valid", root=tmp_path)


def test_bicubic_downscale_is_matlab_imresize_quantised():
    hr = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    small = bicubic_downscale(to_signed(hr), 4)
    assert small.shape == (2, 3, 4, 4)
    levels = (small + 1) * 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-4)
    assert torch.equal(bicubic_downscale(hr, 4), imresize(hr, 0.25))
    assert (levels.round().to(torch.uint8).int() - imresize(hr, 0.25).int()).abs().max() <= 1


# --- profile and widget -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["smoke", "cpu", "full"])
def test_srgan_profiles_resolve(name):
    cfg = chapter5.Config.resolve(name)
    assert cfg.scale == 4 and cfg.adversarial_weight == 1e-3
    TrainConfig.from_profile(cfg, name="srresnet", epochs=cfg.pretrain_epochs,
                             lr_g=cfg.lr_pretrain)
    chapter5.stage_config(cfg, "srresnet")
    assert (cfg.content == "mse") == (name != "full")
    assert chapter5.Config.resolve(name, vgg_weights="/w.pth").vgg_weights == "/w.pth"


def test_before_after_slider_and_its_static_fallback():
    before = torch.full((3, 8, 10), -1.0)
    after = torch.ones(3, 8, 10)
    view = split_view(before, after, 0.5)
    assert view.shape == (8, 10, 3) and view[0, 0, 0] == 255 and view[0, -1, 0] == 0
    figure = before_after(before, after, labels=("bicubic", "SRGAN"), headless=True)
    assert isinstance(figure, Figure)
    box = before_after(before, after, labels=("bicubic", "SRGAN"), headless=False)
    first = box.image.value
    box.slider.value = 0.1
    assert box.image.value != first
    with pytest.raises(ValueError, match="differ in size"):
        split_view(before, torch.ones(3, 8, 8), 0.5)
