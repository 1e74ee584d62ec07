"""Metrics: FID/KID (torchmetrics), SWD, classifier metrics, memorisation, modes, PSNR/SSIM.

Images are float tensors in [-1, 1], (N, C, H, W), real first and generated second; each
generation metric returns a `MetricResult` (value, sample counts, feature space, extras).
`scorer(name)` fixes a metric's options for the training engine's `Evaluator`.
"""

from .classifier import Classifier, class_accuracy, classifier_fid, train_classifier
from .features import WEIGHTS_ENV, InceptionWeightsUnavailable, inception_weights_path
from .fid import fid, kid
from .memorisation import memorisation, nearest_neighbours
from .modes import mode_coverage
from .result import MetricResult
from .scorer import Scorer, scorer
from .sr import psnr, rgb_to_y, ssim
from .swd import swd

__all__ = [
    "Classifier",
    "InceptionWeightsUnavailable",
    "MetricResult",
    "Scorer",
    "WEIGHTS_ENV",
    "class_accuracy",
    "classifier_fid",
    "fid",
    "inception_weights_path",
    "kid",
    "memorisation",
    "mode_coverage",
    "nearest_neighbours",
    "psnr",
    "rgb_to_y",
    "scorer",
    "ssim",
    "swd",
    "train_classifier",
]
