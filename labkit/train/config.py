"""The training configuration: every knob of `train_gan` in one dataclass."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .augment import parse_policy
from .losses import BCE_LOSSES, LOSSES

# The stabilisers' settings when they are off: what a run recorded before they existed used.
STABILISERS_OFF = {"gp_weight": 0.0, "r1_gamma": 0.0, "r1_every": 1, "spectral_norm": False,
                   "ema_decay": 0.0, "ema_warmup": True, "diffaugment": ""}
WGAN_GP = {"gp_weight": 10.0, "d_steps": 5}  # Gulrajani et al. 2017: λ = 10, n_critic = 5


@dataclass
class TrainConfig:
    """Hyper-parameters and run options of one GAN training run (defaults: the DCGAN paper's).

    Stabilisers (chapter 7), each one line and all off by default:

    - `loss`: "non_saturating" (default), "minimax", "hinge", "wgan_gp", "lsgan"
      (labkit.train.losses). With "wgan_gp", `gp_weight` (λ) defaults to 10 and `d_steps`
      (n_critic) to 5, Gulrajani et al.'s values; the paper also used Adam lr 1e-4,
      betas (0, 0.9), set here with lr_d, lr_g, betas_d, betas_g.
    - `gp_weight`: λ of WGAN-GP's gradient penalty (with any loss; 0: none).
    - `r1_gamma`: γ of the R1 penalty (γ/2 · E‖∇D(x)‖² on reals); `r1_every` = k > 1 applies it
      lazily, every k-th D update, weighted by k (StyleGAN2's lazy regularisation).
    - `spectral_norm`: spectral normalisation of every convolution and linear layer of D.
    - `ema_decay`: β of an exponential moving average of G's weights (e.g. 0.999; 0: none),
      which sampling and evaluation then use (labkit.train.ema; `ema_warmup` ramps β up).
    - `diffaugment`: "color,translation,cutout" or a subset: DiffAugment on D's inputs.
    - The two-time-scale update rule (TTUR, Heusel et al. 2017) needs no option: D and G have
      their own learning rates, e.g. `TrainConfig(lr_d=4e-4, lr_g=1e-4)`.
    """

    epochs: int = 5
    batch_size: int = 128
    lr_d: float = 2e-4
    lr_g: float = 2e-4
    betas_d: tuple[float, float] = (0.5, 0.999)
    betas_g: tuple[float, float] = (0.5, 0.999)
    real_label: float = 1.0
    fake_label: float = 0.0
    loss: str = "non_saturating"
    d_steps: int | None = None  # n_critic: D updates per G update (None: 1, or 5 for wgan_gp)
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
    gp_weight: float | None = None  # WGAN-GP's λ (None: 10 for wgan_gp, else 0)
    r1_gamma: float = 0.0  # R1's γ (0: none)
    r1_every: int = 1  # lazy R1: every k-th D update, weighted by k
    spectral_norm: bool = False  # spectral normalisation of D's layers
    ema_decay: float = 0.0  # EMA of G's weights for sampling and evaluation (0: none)
    ema_warmup: bool = True  # β_t = min(β, (1+t)/(10+t))
    diffaugment: str = ""  # DiffAugment policy, e.g. "color,translation,cutout"

    def __post_init__(self) -> None:
        self.betas_d = tuple(self.betas_d)
        self.betas_g = tuple(self.betas_g)
        if self.out_dir is not None:
            self.out_dir = str(self.out_dir)
        if self.resume not in (True, False, None):
            self.resume = str(self.resume)
        wgan = self.loss == "wgan_gp"
        if self.d_steps is None:
            self.d_steps = WGAN_GP["d_steps"] if wgan else 1
        if self.gp_weight is None:
            self.gp_weight = WGAN_GP["gp_weight"] if wgan else 0.0
        if isinstance(self.diffaugment, (list, tuple)):
            self.diffaugment = ",".join(self.diffaugment)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError on a value that would fail later, before any heavy work starts."""
        positive = ("epochs", "batch_size", "d_steps", "g_steps", "data_repeats", "log_every",
                    "num_samples", "checkpoint_every", "r1_every")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                also = " (n_critic, D updates per G update)" if name == "d_steps" else ""
                raise ValueError(f"{name}{also} must be a positive integer, got {value!r}")
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
        self._validate_stabilisers()
        devices = ("auto", "cpu", "cuda", "mps")
        if self.device not in devices and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, got {self.device!r}")
        if self.progress not in (True, False, "auto"):
            raise ValueError(f"progress must be True, False or 'auto', got {self.progress!r}")
        if self.max_steps_per_epoch is not None and self.max_steps_per_epoch < 1:
            raise ValueError("max_steps_per_epoch must be None or a positive integer")

    def _validate_stabilisers(self) -> None:
        """The chapter 7 options: non-negative weights, a decay in [0, 1), known transforms."""
        for name in ("gp_weight", "r1_gamma"):
            value = getattr(self, name)
            if (not isinstance(value, (int, float)) or isinstance(value, bool)
                    or not value >= 0 or value == float("inf")):
                raise ValueError(f"{name} must be a finite number >= 0 (0: off), got {value!r}")
        if (not isinstance(self.ema_decay, (int, float)) or isinstance(self.ema_decay, bool)
                or not 0 <= self.ema_decay < 1):
            raise ValueError(f"ema_decay must lie in [0, 1) (0: no EMA; typical 0.999), got "
                             f"{self.ema_decay!r}")
        for name in ("spectral_norm", "ema_warmup"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if not isinstance(self.diffaugment, str):
            raise ValueError(f"diffaugment must be a comma-separated string of transforms, got "
                             f"{self.diffaugment!r}")
        parse_policy(self.diffaugment)  # raises on an unknown transform
        if self.loss not in BCE_LOSSES + ("lsgan",) and (self.real_label, self.fake_label) != (
                1.0, 0.0):
            raise ValueError(f"real_label/fake_label (label smoothing) apply to the BCE and "
                             f"least-squares losses; loss={self.loss!r} has no labels: leave "
                             "them at 1 and 0")

    @property
    def penalised(self) -> bool:
        """Whether D's loss carries a gradient penalty (WGAN-GP's or R1)."""
        return bool(self.gp_weight or self.r1_gamma)

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

    def replace(self, **overrides) -> TrainConfig:
        """A copy with `overrides` applied. When the loss changes, the settings that followed
        from the old loss (gp_weight and d_steps at their defaults for it) follow the new one,
        unless they are overridden too: TrainConfig().replace(loss="wgan_gp") has λ = 10 and
        n_critic = 5."""
        settings = self.to_dict()
        if overrides.get("loss", self.loss) != self.loss:
            derived = TrainConfig(loss=self.loss)
            for key in WGAN_GP:
                if key not in overrides and settings[key] == getattr(derived, key):
                    settings[key] = None
        return TrainConfig(**{**settings, **overrides})

    def to_dict(self) -> dict:
        """The configuration as a JSON-ready dict."""
        return dataclasses.asdict(self)
