"""Metrics: FID/KID (torchmetrics), SWD, classifier metrics, memorisation, modes, PSNR/SSIM.

Images are float tensors in [-1, 1], (N, C, H, W), real first and generated second; each
generation metric returns a `MetricResult` (value, sample counts, feature space, extras).
"""

from .callback import MetricCallback
from .classifier import Classifier, class_accuracy, classifier_fid, train_classifier
from .features import WEIGHTS_ENV, InceptionWeightsUnavailable, inception_weights_path
from .fid import feature_statistics, fid, frechet_distance, kid
from .memorisation import memorisation, plot_closest_pairs
from .modes import mode_coverage
from .result import MetricResult
from .sr import psnr, rgb_to_y, ssim
from .swd import swd

__all__ = [
    "Classifier",
    "InceptionWeightsUnavailable",
    "MetricCallback",
    "MetricResult",
    "WEIGHTS_ENV",
    "class_accuracy",
    "classifier_fid",
    "feature_statistics",
    "fid",
    "frechet_distance",
    "inception_weights_path",
    "kid",
    "memorisation",
    "mode_coverage",
    "plot_closest_pairs",
    "psnr",
    "rgb_to_y",
    "ssim",
    "swd",
    "train_classifier",
]
