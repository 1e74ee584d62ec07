"""The GAN training engine: configuration, step functions, checkpoints and run folders."""

from .checkpoint import CheckpointMismatchError
from .config import TrainConfig
from .device import pick_device
from .engine import Run, SuperResolution, TrainingDiverged, train_gan
from .steps import Labels, discriminator_step, generator_loss, generator_step

__all__ = ["CheckpointMismatchError", "Labels", "Run", "SuperResolution", "TrainConfig",
           "TrainingDiverged",
           "discriminator_step", "generator_loss", "generator_step", "pick_device", "train_gan"]
