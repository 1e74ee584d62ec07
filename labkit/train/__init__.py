"""The GAN training engine: configuration, step functions, evaluation, checkpoints, run folders."""

from .checkpoint import CheckpointMismatchError
from .config import TrainConfig
from .device import pick_device
from .engine import Run, SuperResolution, TrainingDiverged, train_gan
from .evaluate import Evaluator, curve
from .rundir import RunDir, runs_parent
from .steps import Labels, discriminator_step, generator_loss, generator_step

__all__ = ["CheckpointMismatchError", "Evaluator", "Labels", "Run", "RunDir", "SuperResolution",
           "TrainConfig", "TrainingDiverged", "curve", "discriminator_step", "generator_loss",
           "generator_step", "pick_device", "runs_parent", "train_gan"]
