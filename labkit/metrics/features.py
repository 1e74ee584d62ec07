"""Feature spaces for FID/KID: Inception-v3 (located or downloaded once) or any module of yours.

Images are float tensors in [-1, 1], (N, C, H, W). Inception-v3 is the network of the FID paper
with torch-fidelity's port of the 2015 TensorFlow weights, as torchmetrics uses it: it takes
uint8 RGB in 0..255 (grayscale is repeated to three channels), resizes to 299×299 itself and
returns the 2048 pool3 features. A custom extractor is any module (or bound method such as
`classifier.features`) mapping a batch of [-1, 1] images to (N, d) features.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from .. import weights as weight_files
from ..pixels import to_uint8
from ..weights import PROBE_TIMEOUT_S

WEIGHTS_ENV = "LABKIT_INCEPTION_WEIGHTS"
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                 + INCEPTION_FILE)  # torch_fidelity.feature_extractor_inceptionv3.URL_INCEPTION_V3
INCEPTION_DIM = 2048
INCEPTION_FEATURES = "inception-v3 pool3 2048 (torch-fidelity weights)"

Features = str | nn.Module | Callable[[torch.Tensor], torch.Tensor]


class InceptionWeightsUnavailable(FileNotFoundError):
    """The Inception-v3 weights for FID/KID are neither on disk nor downloadable."""


def hub_cache_path() -> Path:
    """Where torch-fidelity (through torch.hub) keeps the downloaded Inception weights."""
    return weight_files.hub_cache_path(INCEPTION_URL)


def _how_to_fix() -> str:
    return (f"Download {INCEPTION_URL} on a machine with network access, then either pass its "
            f"path as `weights=...` or set the environment variable {WEIGHTS_ENV} to it (or put "
            f"it at {hub_cache_path()}, torch.hub's cache). labkit does not fall back to other "
            "features: their FID is not comparable with published ones. Without the weights, "
            "use swd(...) or, for labelled data, classifier_fid(...).")


def inception_weights_path(weights: str | os.PathLike | None = None,
                           timeout: float = PROBE_TIMEOUT_S) -> Path:
    """The Inception weights file: `weights`, else $LABKIT_INCEPTION_WEIGHTS, else torch.hub's
    cache, else downloaded there from torch-fidelity's release (after a `timeout`-second probe).

    Raises InceptionWeightsUnavailable (a FileNotFoundError) naming the file that is missing,
    or, offline, the URL and both ways to supply a local copy.
    """
    return weight_files.locate(
        INCEPTION_URL, weights, WEIGHTS_ENV, InceptionWeightsUnavailable,
        "The Inception-v3 weights for FID/KID", _how_to_fix(), timeout, size="about 90 MB")


def inception_extractor(weights: str | os.PathLike | None = None) -> nn.Module:
    """torchmetrics' Inception-v3 (2048 pool3 features of uint8 RGB input) with local weights."""
    try:
        from torchmetrics.image.fid import NoTrainInceptionV3
    except ImportError as exc:  # pragma: no cover - both are dependencies of labkit
        raise ModuleNotFoundError("FID/KID need torchmetrics and torch-fidelity: "
                                  "pip install torchmetrics torch-fidelity") from exc
    path = inception_weights_path(weights)
    try:  # torch-fidelity unpickles the file in full: first make sure it holds only tensors
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a file that would run code when unpickled, or a damaged one
        raise ValueError(f"{path} is not torch-fidelity's Inception-v3 weights file "
                         f"({INCEPTION_FILE}): it does not load as plain tensors "
                         f"({type(exc).__name__}), and labkit never unpickles anything else "
                         "(that could run code from the file)") from None
    try:
        network = NoTrainInceptionV3(name="inception-v3-compat", features_list=[str(INCEPTION_DIM)],
                                     feature_extractor_weights_path=str(path))
    except (RuntimeError, EOFError, ValueError, KeyError) as exc:
        raise ValueError(f"{path} is not torch-fidelity's Inception-v3 weights file "
                         f"({INCEPTION_FILE}): {exc}") from exc
    if not hasattr(network, "num_features"):
        network.num_features = INCEPTION_DIM  # torchmetrics then skips its dummy forward pass
    return network


def to_inception_input(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] as uint8 RGB in 0..255 (rounded; one channel repeated to three)."""
    pixels = to_uint8(images)
    return pixels.expand(-1, 3, -1, -1) if pixels.shape[1] == 1 else pixels


def owner_module(features: Callable) -> nn.Module | None:
    """The module behind `features`: itself, or the module of a bound method, else None."""
    if isinstance(features, nn.Module):
        return features
    owner = getattr(features, "__self__", None)
    return owner if isinstance(owner, nn.Module) else None


class FeatureAdapter(nn.Module):
    """A callable on [-1, 1] images as the `feature` module torchmetrics expects.

    torchmetrics calls `module(images)` with the tensors given to `update` unchanged and reads
    `num_features`; the adapter flattens the output to (N, d) and returns float64.
    """

    def __init__(self, features: Callable[[torch.Tensor], torch.Tensor], num_features: int):
        super().__init__()
        self.owner = owner_module(features)  # registered, so metric.to(device) moves it
        self.extract = features
        self.num_features = num_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, d) float64 features of images in [-1, 1]."""
        return self.extract(images).flatten(1).double()


def describe(features: Callable, dim: int) -> str:
    """A short name of a custom feature space, e.g. "Classifier.features 64"."""
    owner = owner_module(features)
    if owner is not None and owner is not features:
        return f"{type(owner).__name__}.{features.__name__} {dim}"
    return f"{getattr(features, '__name__', type(features).__name__)} {dim}"


def pick_device(device: str | torch.device | None, module: nn.Module | None) -> torch.device:
    """`device`, else the device of `module`'s parameters, else CUDA when available, else CPU."""
    if device is not None:
        return torch.device(device)
    if module is not None:
        parameter = next(module.parameters(), None)
        return parameter.device if parameter is not None else torch.device("cpu")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextmanager
def eval_mode(module: nn.Module | None) -> Iterator[None]:
    """Put `module` in eval mode for the block and restore its train/eval flags afterwards."""
    if module is None:
        yield
        return
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, training in flags:
            m.training = training


def check_images(images: torch.Tensor, role: str, rgb_or_gray: bool = False) -> None:
    """Raise unless `images` is a float (N, C, H, W) tensor (with 1 or 3 channels if asked)."""
    if not torch.is_tensor(images) or not images.is_floating_point() or images.dim() != 4:
        got = f"{images.dtype} {tuple(images.shape)}" if torch.is_tensor(images) else type(images)
        raise TypeError(f"{role} images must be a float tensor (N, C, H, W) in [-1, 1], got "
                        f"{got}; ImageSet.float_images() converts a dataset")
    if rgb_or_gray and images.shape[1] not in (1, 3):
        raise ValueError(f"{role} images must have 1 or 3 channels, got {images.shape[1]}")
