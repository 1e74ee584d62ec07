"""The training configuration: every knob of `train_gan` in one dataclass."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

LOSSES = ("non_saturating", "minimax")


@dataclass
class TrainConfig:
    """Hyper-parameters and run options of one GAN training run (defaults: the DCGAN paper's)."""

    epochs: int = 5
    batch_size: int = 128
    lr_d: float = 2e-4
    lr_g: float = 2e-4
    betas_d: tuple[float, float] = (0.5, 0.999)
    betas_g: tuple[float, float] = (0.5, 0.999)
    real_label: float = 1.0
    fake_label: float = 0.0
    loss: str = "non_saturating"
    d_steps: int = 1
    g_steps: int = 1
    flip: bool = False
    data_repeats: int = 1
    seed: int = 0
    device: str = "auto"
    amp: bool | str = "auto"
    channels_last: bool | str = "auto"
    log_every: int = 50
    num_samples: int = 64
    checkpoint_every: int = 1
    name: str = "run"
    out_dir: str | None = None
    resume: bool | str = False
    progress: bool | str = "auto"  # auto: a bar in a terminal or a live notebook, not headless
    max_steps_per_epoch: int | None = None
    compile: bool = False  # torch.compile the networks (pays off on GPUs for long runs)
    sync_batchnorm: bool = True  # under torchrun: BatchNorm statistics over the global batch

    def __post_init__(self) -> None:
        self.betas_d = tuple(self.betas_d)
        self.betas_g = tuple(self.betas_g)
        if self.out_dir is not None:
            self.out_dir = str(self.out_dir)
        if self.resume not in (True, False, None):
            self.resume = str(self.resume)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError on a value that would fail later, before any heavy work starts."""
        positive = ("epochs", "batch_size", "d_steps", "g_steps", "data_repeats", "log_every",
                    "num_samples", "checkpoint_every")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("lr_d", "lr_g"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 < value < 1:
                raise ValueError(f"{name} must be a learning rate in (0, 1), got {value!r}")
        for name in ("betas_d", "betas_g"):
            betas = getattr(self, name)
            if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
                raise ValueError(f"{name} must be two numbers in [0, 1), got {betas!r}")
        for name in ("real_label", "fake_label"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        devices = ("auto", "cpu", "cuda", "mps")
        if self.device not in devices and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, got {self.device!r}")
        if self.progress not in (True, False, "auto"):
            raise ValueError(f"progress must be True, False or 'auto', got {self.progress!r}")
        if self.max_steps_per_epoch is not None and self.max_steps_per_epoch < 1:
            raise ValueError("max_steps_per_epoch must be None or a positive integer")

    @classmethod
    def from_profile(cls, resolved, name: str, **overrides) -> TrainConfig:
        """The training settings of a resolved chapter configuration (a dict or a dataclass).

        Every key that names a field is taken as is; `beta1` sets the first Adam beta of both
        networks (the second stays 0.999).
        """
        if dataclasses.is_dataclass(resolved):
            resolved = {f.name: getattr(resolved, f.name) for f in dataclasses.fields(resolved)}
        fields = {f.name for f in dataclasses.fields(cls)}
        settings = {k: v for k, v in resolved.items() if k in fields}
        if "beta1" in resolved:
            settings["betas_d"] = settings["betas_g"] = (resolved["beta1"], 0.999)
        return cls(**{**settings, "name": name, **overrides})

    def to_dict(self) -> dict:
        """The configuration as a JSON-ready dict."""
        return dataclasses.asdict(self)
