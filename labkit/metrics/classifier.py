"""A small CNN classifier for labelled image sets, and the metrics it gives a generator.

For digit-like data (digits, EMNIST, 28×28 or 32×32, 1 or 3 channels) a classifier trained on
the real images judges samples where Inception-v3, trained on photographs, says little: the
share of conditional samples of the requested class, and an FID in its penultimate features.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .fid import fid
from .result import MetricResult

FEATURE_DIM = 64


def _block(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class Classifier(nn.Module):
    """Four 3×3 conv blocks (16 strided, 32, 64, 64 channels), global average pool, linear.

    `features(x)` is the 64-dimensional pooled penultimate layer, `forward(x)` the logits, on
    images in [-1, 1]. `accuracy` is the held-out accuracy measured by `train_classifier`.
    """

    def __init__(self, channels: int, classes: Sequence[str], width: int = 16):
        super().__init__()
        self.classes = list(classes)
        self.accuracy = float("nan")
        self.body = nn.Sequential(
            *_block(channels, width, stride=2),
            *_block(width, 2 * width), nn.MaxPool2d(2),
            *_block(2 * width, FEATURE_DIM), nn.MaxPool2d(2),
            *_block(FEATURE_DIM, FEATURE_DIM), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(FEATURE_DIM, len(self.classes))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The penultimate (N, 64) features of images in [-1, 1]."""
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits (N, classes) of images in [-1, 1]."""
        return self.head(self.body(images))

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """The predicted class index of each image, in eval mode, on the CPU."""
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        try:
            return torch.cat([self(chunk.float().to(device)).argmax(1).cpu()
                              for chunk in images.split(batch_size)])
        finally:
            self.train(was_training)


def _shift(images: torch.Tensor, pixels: int, rng: torch.Generator) -> torch.Tensor:
    """Each image translated by up to ±`pixels` in x and y, background (-1) filled in."""
    n, _, h, w = images.shape
    padded = F.pad(images, (pixels,) * 4, value=-1.0)
    dy, dx = (torch.randint(0, 2 * pixels + 1, (2, n), generator=rng)).tolist()
    return torch.stack([padded[i, :, y:y + h, x:x + w] for i, (y, x) in enumerate(zip(dy, dx))])


def _labelled(data, role: str) -> tuple[torch.Tensor, torch.Tensor]:
    if getattr(data, "labels", None) is None:
        raise ValueError(f"the {role} set has no labels; a classifier needs a labelled set")
    return data.float_images(), data.labels.long()


def train_classifier(train_set, *, test_set=None, epochs: int = 5, batch_size: int = 64,
                     lr: float = 3e-3, shift: int = 2, seed: int = 0,
                     device: str | torch.device | None = None, verbose: bool = True
                     ) -> Classifier:
    """Train a `Classifier` on a labelled ImageSet; measure its accuracy on held-out images.

    Convention: Adam with a one-cycle learning rate, random translations of ±`shift` pixels,
    seeded (`seed` fixes initialisation, order and shifts without touching the global RNG).
    Held-out accuracy is on `test_set`, else on a seeded 10 % split kept out of training. The
    model is returned in eval mode on `device` (default CUDA when available, else CPU).
    """
    images, labels = _labelled(train_set, "training")
    rng = torch.Generator().manual_seed(seed)
    if test_set is None:
        order = torch.randperm(len(images), generator=rng)
        cut = len(images) - max(1, len(images) // 10)
        test_images, test_labels = images[order[cut:]], labels[order[cut:]]
        images, labels = images[order[:cut]], labels[order[:cut]]
    else:
        test_images, test_labels = _labelled(test_set, "test")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    classes = list(getattr(train_set, "classes", None) or range(int(labels.max()) + 1))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Classifier(images.shape[1], [str(c) for c in classes]).to(device)
    steps = epochs * -(-len(images) // batch_size)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps)
    started = time.perf_counter()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=rng)
        for index in order.split(batch_size):
            x = _shift(images[index], shift, rng) if shift else images[index]
            loss = F.cross_entropy(model(x.to(device)), labels[index].to(device))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
    model.eval()
    model.accuracy = float((model.predict(test_images) == test_labels).float().mean())
    if verbose:
        print(f"classifier: held-out accuracy {model.accuracy:.4f} on {len(test_images)} images "
              f"({epochs} epochs, {time.perf_counter() - started:.1f} s)")
    return model


def _requested(labels: torch.Tensor | int, classes: int) -> torch.Tensor:
    if isinstance(labels, int):
        return torch.arange(classes).repeat(labels)
    return torch.as_tensor(labels).long().cpu()


@torch.no_grad()
def class_accuracy(generator_fn: Callable[[torch.Tensor], torch.Tensor], classifier: Classifier,
                   labels: torch.Tensor | int, *, batch_size: int | None = None) -> MetricResult:
    """Share of samples `generator_fn(labels)` that `classifier` assigns to the requested label.

    Convention: `labels` is a tensor of class indices (or an int k: k samples of every class);
    `generator_fn` maps a label batch (on the CPU, or on its device if you move it) to images
    in [-1, 1], e.g. `lambda y: G(torch.randn(len(y), nz), y.to(device))`; it is called once,
    or per `batch_size` labels. `extra["per_class"]` is the accuracy of each requested class.
    """
    requested = _requested(labels, len(classifier.classes))
    chunks = requested.split(batch_size) if batch_size else (requested,)
    predicted = torch.cat([classifier.predict(generator_fn(chunk)) for chunk in chunks])
    hits = (predicted == requested).float()
    per_class = {classifier.classes[c]: float(hits[requested == c].mean())
                 for c in requested.unique().tolist()}
    extra = {"per_class": per_class, "classifier_accuracy": classifier.accuracy}
    features = f"classifier {len(classifier.classes)} classes"
    return MetricResult("class_accuracy", float(hits.mean()), 0, len(requested), features, extra)


def classifier_fid(real: torch.Tensor, fake: torch.Tensor, classifier: Classifier,
                   **kwargs) -> MetricResult:
    """FID in the classifier's penultimate 64 features (the Fréchet distance for digit-like data).

    Same convention as `fid` (squared distance, covariances over N - 1), in a 64-dimensional
    space, so a few hundred images per set already give a full-rank covariance.
    """
    return fid(real, fake, features=classifier.features,
               features_name=f"classifier penultimate {FEATURE_DIM}", **kwargs)
