"""SRGAN's VGG19 content loss: the squared distance between VGG19 feature maps.

Ledig et al. compare the super-resolved and the real image in the feature space of a VGG19
network trained on ImageNet (Simonyan & Zisserman, 2015): φ_i,j is the map after the j-th
convolution (and its ReLU) before the i-th max-pooling. Their SRGAN uses φ_5,4 ("VGG54"); the
SRGAN lab report used Keras' `block3_conv4` (φ_3,4). The maps are rescaled by 1/12.75, as in the
paper, which makes the loss comparable in size with the pixel MSE (×1/12.75² ≈ 0.006).

The ImageNet weights are torchvision's `VGG19_Weights.IMAGENET1K_V1` (548 MB): a file given by
argument, else $LABKIT_VGG19_WEIGHTS, else torch.hub's cache, else downloaded there (Colab).
Offline without them the loss cannot be computed, and `VGG19WeightsUnavailable` says how to
supply the file; `pretrained=False` builds the same network with random weights (tests).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .. import weights as weight_files
from ..weights import PROBE_TIMEOUT_S

WEIGHTS_ENV = "LABKIT_VGG19_WEIGHTS"
FEATURE_RESCALE = 1 / 12.75  # the paper's rescaling of the VGG feature maps
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Layer name -> how many modules of torchvision's vgg19().features to keep (through the ReLU).
LAYERS = {
    "vgg22": 9, "block2_conv2": 9, "relu2_2": 9,
    "vgg34": 18, "block3_conv4": 18, "relu3_4": 18,
    "vgg44": 27, "block4_conv4": 27, "relu4_4": 27,
    "vgg54": 36, "block5_conv4": 36, "relu5_4": 36,
}  # fmt: skip


class VGG19WeightsUnavailable(FileNotFoundError):
    """The ImageNet VGG19 weights for the perceptual loss are neither on disk nor downloadable."""


def _vgg19_url() -> str:
    from torchvision.models import VGG19_Weights

    return VGG19_Weights.IMAGENET1K_V1.url


def hub_cache_path() -> Path:
    """Where torchvision (through torch.hub) keeps the downloaded VGG19 weights."""
    return weight_files.hub_cache_path(_vgg19_url())


def _how_to_fix() -> str:
    return (f"Download {_vgg19_url()} (548 MB) on a machine with network access, then either "
            f"pass its path as `weights=...` or set the environment variable {WEIGHTS_ENV} to it "
            f"(or put it at {hub_cache_path()}, torch.hub's cache). Without the weights, train "
            "with the MSE content loss (content='mse'), as the cpu and smoke profiles do.")


def vgg19_weights_path(weights: str | os.PathLike | None = None,
                       timeout: float = PROBE_TIMEOUT_S) -> Path:
    """The VGG19 ImageNet weights file: `weights`, else $LABKIT_VGG19_WEIGHTS, else
    torch.hub's cache, else downloaded there from torchvision's URL (after a `timeout`-second
    probe). Raises VGG19WeightsUnavailable (a FileNotFoundError) naming the missing file, or,
    offline, the URL and both ways to supply a local copy."""
    return weight_files.locate(_vgg19_url(), weights, WEIGHTS_ENV, VGG19WeightsUnavailable,
                               "The VGG19 ImageNet weights for the perceptual loss",
                               _how_to_fix(), timeout)


def layer_depth(layer: str) -> int:
    """How many modules of vgg19().features compute `layer` ('vgg54', 'block3_conv4', ...)."""
    key = layer.lower()
    if key not in LAYERS:
        raise ValueError(f"unknown VGG19 layer {layer!r}; choose one of {sorted(LAYERS)}")
    return LAYERS[key]


class VGGFeatures(nn.Module):
    """Frozen VGG19 feature maps φ of images in [-1, 1] (ImageNet-normalised inside)."""

    def __init__(self, layer: str = "vgg54", weights: str | os.PathLike | None = None, *,
                 pretrained: bool = True):
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        depth = layer_depth(layer)
        features = make_layers(cfgs["E"])  # VGG19's convolutional part (no 400 MB classifier)
        if pretrained:
            state = torch.load(vgg19_weights_path(weights), map_location="cpu", weights_only=True)
            features.load_state_dict({key.removeprefix("features."): value
                                      for key, value in state.items()
                                      if key.startswith("features.")})
        self.layer, self.pretrained = layer, pretrained
        self.features = features[:depth].requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> VGGFeatures:
        """The feature network stays in eval mode whatever the caller asks."""
        super().train(mode)
        self.features.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """φ(images) for images (N, 3, H, W) in [-1, 1]."""
        x = ((images + 1) / 2 - self.mean) / self.std
        return self.features(x)


class PerceptualLoss(nn.Module):
    """SRGAN's content loss: mean squared difference of rescaled VGG19 maps of SR and HR."""

    def __init__(self, layer: str = "vgg54", weights: str | os.PathLike | None = None, *,
                 pretrained: bool = True, rescale: float = FEATURE_RESCALE):
        super().__init__()
        self.vgg = VGGFeatures(layer, weights, pretrained=pretrained)
        self.rescale = rescale

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        """The loss (a scalar) of super-resolved `sr` against real `hr`, both in [-1, 1]."""
        with torch.no_grad():
            target = self.vgg(hr) * self.rescale
        return F.mse_loss(self.vgg(sr) * self.rescale, target)
