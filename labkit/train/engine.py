"""`train_gan`: the training loop shared by every chapter, built from the two step functions."""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
from torch import nn
from torchvision.utils import make_grid, save_image
from tqdm import tqdm

from ..models.dcgan import apply_spectral_norm
from ..pixels import to_signed
from ..runtime import headless_reason
from . import checkpoint as ckpt
from . import distributed
from .augment import DiffAugment
from .config import STABILISERS_OFF, TrainConfig
from .device import amp_dtype, autocast, pick_device, use_channels_last
from .ema import EMA
from .losses import BCE_LOSSES
from .rundir import RunDir, RunInUse, differences
from .steps import Labels, discriminator_step, generator_step

STATS = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2")
SATURATED = 1e-3  # D(G(z)) below this on every logged iteration of the last epoch
LOG_FORMAT = ("[{epoch}/{epochs}][{i}/{iters}]\tLoss_D: {loss_d:.4f}\tLoss_G: {loss_g:.4f}\t"
              "D(x): {d_x:.4f}\tD(G(z)): {d_g_z1:.4f} / {d_g_z2:.4f}")


@dataclass
class SuperResolution:
    """The super-resolution task: G sees a downscaled real batch and is also scored against it.

    `downscale(hr) -> lr` makes G's input from the real batch (e.g. MATLAB-bicubic ×1/4),
    `content(sr, hr) -> loss` is the content loss (MSE, or a VGG feature loss); the generator's
    loss is content + `adversarial_weight` × adversarial (SRGAN: 1e-3). With weight 0 the
    discriminator is neither trained nor consulted: SRResNet pre-training.
    """

    downscale: Callable[[torch.Tensor], torch.Tensor]
    content: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    adversarial_weight: float = 1e-3


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class Batches(Protocol):
    """What the engine needs from a dataset (labkit.data.ImageSet provides it)."""

    def __len__(self) -> int: ...

    def num_batches(self, batch_size: int, drop_last: bool = True) -> int: ...

    def batches(self, batch_size: int, **kwargs): ...


@dataclass
class Run:
    """The result of `train_gan`: models, history, metrics and the folder holding every file."""

    dir: RunDir
    config: TrainConfig
    generator: nn.Module
    discriminator: nn.Module
    device: torch.device
    fixed_noise: torch.Tensor  # fixed latents; for super-resolution, fixed low-res inputs
    history: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    task: SuperResolution | None = None
    best_epoch: int | None = None  # set by an Evaluator when this epoch's metric is the best
    ema: EMA | None = None  # the moving average of G's weights, when config.ema_decay > 0

    @property
    def stat_names(self) -> tuple[str, ...]:
        """The per-iteration values in the history: a gradient penalty adds D's weighted
        penalty ("penalty"), super-resolution the content loss."""
        return (STATS + (("penalty",) if self.config.penalised else ())
                + (("loss_content",) if self.task else ()))

    @property
    def sampler(self) -> nn.Module:
        """The generator that samples and is evaluated: the EMA of G's weights when kept."""
        return self.ema.model if self.ema is not None else self.generator

    @property
    def checkpoint_path(self) -> Path:
        """The run's latest checkpoint."""
        return self.dir.checkpoint_path

    def sample_path(self, epoch: int) -> Path:
        """The fixed-noise grid saved at the end of `epoch`."""
        return self.dir.sample_path(epoch)

    @property
    def num_classes(self) -> int:
        """The number of classes of a conditional generator (0 when unconditional)."""
        return num_classes(self.generator)

    @torch.no_grad()
    def generate(self, n: int = 64, seed: int | None = None,
                 labels: torch.Tensor | None = None, *, ema: bool = True) -> torch.Tensor:
        """n generated samples on the CPU (the fixed noise when seed is None and n fits).

        A conditional generator gets `labels` (default: classes 0, 1, 2, ... in turn); a
        super-resolution generator upscales the first n fixed low-resolution inputs. With an
        EMA of G's weights (config.ema_decay), the average samples unless `ema=False` (the
        trained generator itself, e.g. to compare the two).
        """
        generator = self.sampler if ema else self.generator
        if self.task is not None:
            return _sample(generator, self.fixed_noise[:n])
        if seed is None and n <= len(self.fixed_noise):
            z = self.fixed_noise[:n]
        else:
            g = torch.Generator().manual_seed(0 if seed is None else seed)
            z = torch.randn(n, self.generator.nz, generator=g).to(self.device)
        return _sample(generator, z, _labels_for(self.generator, n, labels, self.device))


def num_classes(generator: nn.Module) -> int:
    """`generator.num_classes` for a conditional generator, else 0."""
    return int(getattr(generator, "num_classes", 0) or 0)


def _labels_for(generator: nn.Module, n: int, labels: torch.Tensor | None,
                device: torch.device) -> tuple:
    """The conditioning arguments of G for n samples: () when unconditional."""
    k = num_classes(generator)
    if not k:
        return ()
    if labels is None:
        labels = torch.arange(n) % k
    return (labels.to(device),)


def empty_history(names: tuple[str, ...] = STATS) -> dict:
    """A history with no entries: per-iteration lists plus per-epoch records."""
    return {"step": [], "epoch": [], **{k: [] for k in names}, "epochs": []}


def _epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """A seed per (run seed, epoch, stream), so an epoch's batches and noise are reproducible."""
    return (seed * 1_000_003 + epoch * 7_919 + stream) % (2**63)


def _noise_generator(device: torch.device, seed: int) -> torch.Generator:
    try:
        return torch.Generator(device=device).manual_seed(seed)
    except RuntimeError:  # backends without device generators
        return torch.Generator().manual_seed(seed)


@torch.no_grad()
def _sample(generator: nn.Module, z: torch.Tensor, cond: tuple = ()) -> torch.Tensor:
    """G(z) on the CPU without gradients, leaving the generator exactly as it was.

    BatchNorm normalises with the statistics of the batch being generated (train mode), as the
    PyTorch DCGAN tutorial and the seed reports sample and as every metric in the course was
    measured; in train mode a forward pass also moves BatchNorm's running averages, so they are
    copied before and restored after: sampling never changes the model that is trained,
    checkpointed or evaluated in eval mode. This process's statistics are used under torchrun,
    so one process can sample alone.
    """
    saved = [b.clone() for b in generator.buffers()]
    try:
        with distributed.local_statistics(generator):
            return generator(z, *cond).float().cpu()
    finally:
        for buffer, value in zip(generator.buffers(), saved):
            buffer.copy_(value)


# Settings a resumed run may change: how long and where it trains, how it reports.
FREE_ON_RESUME = ("epochs", "resume", "out_dir", "progress", "log_every", "device", "compile",
                  "checkpoint_every")
FREE_PARAMETERS = ("epochs", "resume", "out_dir", "data_root", "device", "log_every")


def resume_mismatch(run_dir: RunDir, config: TrainConfig, record: dict) -> list[str]:
    """How this run's settings differ from those `run_dir` was trained with ([]: it may be
    resumed). Epochs may grow, and where and how verbosely it runs may change."""
    recorded = run_dir.read_config()
    trained = recorded.get("train", {})
    if trained:  # a run recorded before the stabilisers existed trained without them
        trained = {**STABILISERS_OFF, **trained}
    found = differences(trained, config.to_dict(), FREE_ON_RESUME)
    if recorded.get("parameters") or record.get("parameters"):
        found += differences(recorded.get("parameters", {}), record.get("parameters", {}),
                             FREE_PARAMETERS)
    return found


def _resolve_resume(config: TrainConfig, run_dir: RunDir | None, record: dict) -> RunDir | None:
    """The run folder to resume, or None for a fresh run.

    resume=True continues the run of this name created last — never an earlier one — when it
    holds a checkpoint and was trained with the same settings (but for FREE_ON_RESUME); when it
    stopped before its first checkpoint, a fresh run starts in a new folder; when its settings
    differ, a ValueError says what differs. resume=PATH continues that run, on the same terms.
    """
    if config.resume is False or config.resume is None:
        return None
    if run_dir is not None:  # a given folder resumes only itself
        found = run_dir if run_dir.has_checkpoint else None
    elif config.resume is True:
        found = RunDir.latest(config.name, config.out_dir)
        if found is None or not found.has_checkpoint:
            where = (f"the latest '{config.name}' run, {found}, stopped before its first "
                     "checkpoint" if found else f"no earlier '{config.name}' run under "
                     f"{config.out_dir or 'runs'}")
            if found is not None:  # a kill during its first checkpoint write left a .tmp file
                with contextlib.suppress(RunInUse), found.lock():
                    found.remove_partial_files()
            print(f"resume=True: {where}; starting a fresh run (earlier runs are left as they "
                  "are).")
            return None
    else:
        path = Path(config.resume)
        found = RunDir(path.parent.parent if path.is_file() else path)
        if not found.has_checkpoint:
            raise FileNotFoundError(f"resume={config.resume!r}: no checkpoints/last.pt in "
                                    f"{found}")
    changed = resume_mismatch(found, config, record) if found is not None else []
    if changed:
        raise ValueError(
            f"resume: {found} was trained with other settings ({'; '.join(changed)}). A run is "
            "resumed only with the settings it started with (epochs may grow): set them back, "
            "resume another run with resume='<its folder>', or start a fresh run with "
            "resume=False. Earlier runs are never changed.")
    return found


@dataclass
class _Loop:
    """What one training iteration needs besides the batch: networks, optimisers, settings."""

    generator: nn.Module  # as called in the loop: inside DistributedDataParallel when distributed
    discriminator: nn.Module
    judge: nn.Module  # D for the generator step: never inside DDP (its weights get no gradient)
    opt_d: torch.optim.Optimizer
    opt_g: torch.optim.Optimizer
    scaler_d: torch.amp.GradScaler
    scaler_g: torch.amp.GradScaler
    amp: Callable
    labels: Labels
    processes: distributed.Processes
    channels_last: bool
    augment: DiffAugment | None = None  # DiffAugment of D's inputs, real and fake
    ema: EMA | None = None


def train_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    data: Batches,
    config: TrainConfig | None = None,
    *,
    callbacks: tuple[Callable[[Run, int], None], ...] = (),
    task: SuperResolution | None = None,
    run_dir: RunDir | None = None,
    record: dict | None = None,
    **overrides,
) -> Run:
    """Train a GAN on `data`; every file goes to a fresh (or resumed) run folder.

    `run_dir` trains into that folder (a chapter's child run) instead of a new one under
    `config.out_dir`; with `resume`, it continues there if it holds a checkpoint. `record`
    (e.g. the chapter's parameters) is stored in config.json beside the training settings.

    Per iteration: one (or `d_steps`) discriminator update on a real and a fake batch, then one
    (or `g_steps`) generator update; a conditional generator (with `num_classes`) and its
    discriminator receive the batch's labels. Each epoch ends with a fixed-noise grid,
    history/metrics files, an atomic checkpoint, and the callbacks `callback(run, epoch)`.
    Under `torchrun`, each process trains on its slice of every global batch of
    `config.batch_size`, and only rank 0 logs and writes files. `task=SuperResolution(...)`
    trains a super-resolution GAN: G's input is the downscaled real batch instead of noise.
    """
    config = (config or TrainConfig()).replace(**overrides)
    if task is None and not hasattr(generator, "nz"):
        raise ValueError("the generator must expose its latent size as `generator.nz`")
    if config.spectral_norm:  # before a checkpoint is loaded: its D is normalised too
        apply_spectral_norm(discriminator)
    _warn_batchnorm_penalty(config, discriminator)
    if len(data) < config.batch_size:
        raise ValueError(f"the dataset has {len(data)} images, fewer than batch_size="
                         f"{config.batch_size}; lower batch_size or use more data")
    processes = distributed.setup(config.device)
    if processes.world > 1 and config.penalised:
        raise ValueError("gradient penalties (gp_weight, r1_gamma) are not supported under "
                         "torchrun (DistributedDataParallel does not differentiate twice); "
                         "train them in one process")
    if config.batch_size % processes.world:
        raise ValueError(f"batch_size={config.batch_size} (the global batch) must be divisible "
                         f"by the {processes.world} processes")
    record = record or {}
    resume_dir = distributed.broadcast(
        _resolve_resume(config, run_dir, record) if processes.main else None, processes)
    state = None
    if resume_dir is not None:
        state = ckpt.load(resume_dir.checkpoint_path)
        ckpt.check_compatible(state, {"generator": generator, "discriminator": discriminator},
                              resume_dir.checkpoint_path)

    device = (distributed.device_for(processes, config.device) if processes.world > 1
              else pick_device(config.device))
    dtype = amp_dtype(device, config.amp)
    channels_last = use_channels_last(device, config.channels_last)
    if processes.world > 1 and config.sync_batchnorm:
        distributed.convert_batchnorm(generator)
        distributed.convert_batchnorm(discriminator)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    generator.to(device, memory_format=memory_format)
    discriminator.to(device, memory_format=memory_format)
    if task is None:
        fixed_noise = torch.randn(config.num_samples, generator.nz,
                                  generator=torch.Generator().manual_seed(config.seed)).to(device)
    else:  # the first images of the data, downscaled: the same inputs at every epoch
        fixed_noise = task.downscale(to_signed(data.images[:config.num_samples].to(device)))
    if resume_dir is None and run_dir is None and processes.main:
        run_dir = RunDir.create(config.name, config.out_dir)
    run_dir = distributed.broadcast(resume_dir or run_dir, processes)
    ema = EMA(generator, config.ema_decay, config.ema_warmup) if config.ema_decay else None
    run = Run(run_dir, config, generator, discriminator, device, fixed_noise, task=task, ema=ema)
    run.history = empty_history(run.stat_names)

    def wrap(module: nn.Module) -> nn.Module:
        """The module as the loop calls it: compiled and/or inside DDP, as configured."""
        module = torch.compile(module) if config.compile else module
        return distributed.wrap(module, processes, device) if processes.world > 1 else module

    scaler_on = dtype == torch.float16
    loop = _Loop(
        generator=wrap(generator), discriminator=wrap(discriminator),
        judge=torch.compile(discriminator) if config.compile else discriminator,
        opt_d=torch.optim.Adam(discriminator.parameters(), lr=config.lr_d, betas=config.betas_d),
        opt_g=torch.optim.Adam(generator.parameters(), lr=config.lr_g, betas=config.betas_g),
        scaler_d=torch.amp.GradScaler(device.type, enabled=scaler_on),
        scaler_g=torch.amp.GradScaler(device.type, enabled=scaler_on),
        amp=lambda: autocast(device, dtype),
        labels=Labels(config.real_label, config.fake_label),
        processes=processes, channels_last=channels_last,
        augment=DiffAugment(config.diffaugment) if config.diffaugment else None, ema=ema)
    with run_dir.lock() if processes.main else contextlib.nullcontext():
        if processes.main:
            run_dir.remove_partial_files()  # left by a process killed while writing
        _train(run, loop, data, state, dtype, record, callbacks)
    return run


def _train(run: Run, loop: _Loop, data: Batches, state: dict | None,
           dtype: torch.dtype | None, record: dict, callbacks: tuple) -> None:
    """Restore (if resuming), then train the remaining epochs, each ending with its files."""
    config, processes = run.config, loop.processes
    start_epoch = _restore(run, loop, state) if state is not None else 1
    if processes.main and start_epoch <= config.epochs:  # a finished run's record stays as is
        _write_config(run, data, dtype, start_epoch, processes.world, record)
    iters = data.num_batches(config.batch_size) * config.data_repeats
    if config.max_steps_per_epoch:
        iters = min(iters, config.max_steps_per_epoch)
    for epoch in range(start_epoch, config.epochs + 1):
        run.history["epochs"].append(_train_epoch(run, loop, data, epoch, iters, callbacks))
        if processes.main:
            _end_epoch(run, loop, epoch, dtype, callbacks)
    if start_epoch > config.epochs:
        print(f"{run.dir} already holds {config.epochs} epochs; nothing to train.")
        run.metrics = run.dir.read_metrics()
    elif processes.main:
        _check_health(run)
        if getattr(data, "images", None) is not None:
            _save_real_vs_fake(run, data)


def _check_health(run: Run) -> None:
    """Warn (and record in metrics.json) when training finished but went nowhere: D rejected
    every generated batch of the last epoch, or the generator's loss never changed."""
    h, found = run.history, []
    if run.task is not None and not run.task.adversarial_weight:
        return  # pre-training without a discriminator: nothing to saturate
    last = [j for j, e in enumerate(h["epoch"]) if e == h["epoch"][-1]]
    if run.config.loss in BCE_LOSSES and max(h["d_g_z1"][j] for j in last) < SATURATED:
        found.append(f"saturated: D(G(z)) stayed below {SATURATED} in every logged iteration "
                     f"of epoch {h['epoch'][-1]}: D rejects every generated batch and the "
                     "generator learns little (try lr_d lower than lr_g, label smoothing, or "
                     "the non-saturating loss)")
    if max(h["loss_g"]) - min(h["loss_g"]) < 1e-6 * max(1.0, abs(h["loss_g"][0])):
        found.append("the generator's loss did not change during the whole run: it is not "
                     "learning (is its learning rate too small, or D frozen?)")
    if found:
        for warning in found:
            warnings.warn(f"{run.dir}: {warning}", stacklevel=3)
        run.metrics = run.dir.update_metrics(warnings=found)


def _warn_batchnorm_penalty(config: TrainConfig, discriminator: nn.Module) -> None:
    """WGAN-GP's penalty is on each sample's gradient; BatchNorm makes D's output for one
    sample depend on the rest of its batch. Training works, but it is not the paper's critic."""
    if config.gp_weight and any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                                for m in discriminator.modules()):
        warnings.warn("gp_weight > 0 with a BatchNorm discriminator: the gradient penalty is "
                      "per sample and BatchNorm mixes the batch; Gulrajani et al. use layer "
                      "normalisation (labkit.models.dcgan(..., norm='layer'))", stacklevel=3)


def _restore(run: Run, loop: _Loop, state: dict) -> int:
    """Load networks, optimisers, scalers, RNG, the EMA and history; return the first epoch
    to train."""
    epoch = ckpt.restore_state(state, **_state_parts(run, loop))
    if run.ema is not None:
        run.ema.load_state_dict(state["extra"]["ema"])
    run.history = state["history"]
    if loop.processes.main:
        print(f"Resuming {run.dir} after epoch {epoch}.")
    return epoch + 1


def _state_parts(run: Run, loop: _Loop) -> dict:
    """What a checkpoint holds besides epoch, history and settings."""
    return {"networks": {"generator": run.generator, "discriminator": run.discriminator},
            "optimizers": {"g": loop.opt_g, "d": loop.opt_d},
            "scalers": {"g": loop.scaler_g, "d": loop.scaler_d}}


def _write_config(run: Run, data: Batches, dtype: torch.dtype | None, start_epoch: int,
                  world: int, record: dict) -> None:
    """config.json: training settings, architectures, data, device and versions.

    A resumed run keeps the record it started with and appends what the resume used.
    """
    settings = {"train": run.config.to_dict(), "device": str(run.device),
                "amp": str(dtype) if dtype else None, "processes": world,
                "torch": torch.__version__}
    recorded = run.dir.read_config()
    if start_epoch > 1 and recorded:
        resume = {"after_epoch": start_epoch - 1, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                  **settings}
        run.dir.write_config({**recorded, "resumes": recorded.get("resumes", []) + [resume]})
        return
    run.dir.write_config({
        **record, **settings,
        "generator": ckpt.architecture(run.generator)["config"],
        "discriminator": ckpt.architecture(run.discriminator)["config"],
        "data": {"name": getattr(data, "name", type(data).__name__), "size": len(data),
                 "manifest": getattr(data, "manifest", {})},
    })


def _train_epoch(run: Run, loop: _Loop, data: Batches, epoch: int, iters: int,
                 callbacks: tuple = ()) -> dict:
    """One epoch of D and G steps; returns the epoch's record (time, images/s).

    Callbacks with an `on_log(run)` method (a live view) are called after each log line.
    """
    config, device, processes = run.config, run.device, loop.processes
    batch_rng = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch, 1))
    noise_rng = _noise_generator(device, _epoch_seed(config.seed, epoch, 2))
    # DiffAugment's and the gradient penalty's draws: their own stream, so a resume repeats
    # them and the default options draw exactly what they drew before these existed.
    extra_rng = _noise_generator(device, _epoch_seed(config.seed, epoch, 3))
    conditional = run.num_classes > 0
    step = run.history["step"][-1] if run.history["step"] else 0
    stats = torch.zeros(iters, len(run.stat_names), device=device)
    logged = i = 0
    bar = tqdm(total=iters, desc=f"epoch {epoch}/{config.epochs}", leave=False,
               disable=not (_show_progress(config.progress) and processes.main), mininterval=2.0)
    _synchronize(device)
    started = time.perf_counter()
    for batch in _repeat(data, config, device, batch_rng, conditional, processes):
        real, *cond = batch if conditional else (batch,)  # cond: the real batch's labels
        if loop.channels_last and real.dim() == 4:
            real = real.contiguous(memory_format=torch.channels_last)
        stats[i] = _iteration(run, loop, real, cond, noise_rng, extra_rng, step + i + 1)
        i += 1
        bar.update(1)
        if i % config.log_every == 0 or i == iters:
            logged = _flush(run, loop, stats, logged, i, epoch, step, iters, bar)
            for callback in callbacks if processes.main else ():
                getattr(callback, "on_log", lambda run: None)(run)
        if i == iters:
            break
    bar.close()
    _synchronize(device)
    seconds = time.perf_counter() - started
    return {"epoch": epoch, "iterations": i, "seconds": seconds,
            "images_per_s": i * config.batch_size / seconds if seconds > 0 else float("nan")}


def _iteration(run: Run, loop: _Loop, real: torch.Tensor, cond: list,
               noise_rng: torch.Generator, extra_rng: torch.Generator | None = None,
               iteration: int = 1) -> torch.Tensor:
    """D step(s), then G step(s) on one batch; returns the row of `run.stat_names`.

    `iteration` (from 1, over the whole run) numbers the D updates for lazy R1: update u
    (from 0) is penalised when u % r1_every == 0, with weight γ/2 · r1_every.
    """
    config, processes, task = run.config, loop.processes, run.task
    n = real.shape[0]
    if task is None:
        # The global batch's noise, this process's slice: the same numbers as one process.
        z = torch.randn(n * processes.world, run.generator.nz, device=noise_rng.device,
                        generator=noise_rng)[processes.rank * n:(processes.rank + 1) * n]
        inputs = (z.to(run.device), *cond)
    else:
        inputs = (task.downscale(real),)

    def generate(fresh: bool) -> torch.Tensor:
        """G's output; `fresh` draws new noise (a GAN's extra steps; SR keeps its inputs)."""
        args = (torch.randn_like(inputs[0]), *cond) if fresh and task is None else inputs
        with loop.amp():
            return loop.generator(*args)

    fake = generate(False)
    zero = torch.zeros((), device=run.device)
    loss_d = d_x = d_g_z1 = zero
    adversarial = 1.0 if task is None else task.adversarial_weight
    penalty = {"value": zero}
    for k in range(config.d_steps if adversarial else 0):
        fake = generate(True) if k else fake
        update = (iteration - 1) * config.d_steps + k
        r1_due = config.r1_gamma and update % config.r1_every == 0
        loss_d, d_x, d_g_z1 = discriminator_step(
            loop.discriminator, real, fake, loop.opt_d, loop.scaler_d, loop.labels, loop.amp,
            cond, loss_kind=config.loss, gp_weight=config.gp_weight,
            r1_weight=config.r1_gamma / 2 * config.r1_every if r1_due else 0.0,
            augment=loop.augment, rng=extra_rng, penalty=penalty)
    content = zero
    for k in range(config.g_steps):
        fake = generate(True) if k else fake
        if task is not None:
            with loop.amp():
                content = task.content(fake, real)
        loss_g, d_g_z2 = generator_step(loop.judge, fake, loop.opt_g, loop.scaler_g, loop.amp,
                                        config.loss, cond, adversarial_weight=adversarial,
                                        content=content if task is not None else None,
                                        augment=loop.augment, rng=extra_rng)
        if loop.ema is not None:
            loop.ema.update(run.generator)
    row = ((loss_d, loss_g, d_x, d_g_z1, d_g_z2)
           + ((penalty["value"].float(),) if config.penalised else ())
           + ((content.detach().float(),) if task else ()))
    return torch.stack(row)


def _end_epoch(run: Run, loop: _Loop, epoch: int, dtype: torch.dtype | None,
               callbacks: tuple) -> None:
    """Rank 0 after each epoch: sample grid, callbacks (evaluations), history and metrics,
    then the checkpoint — so a resumed run keeps this epoch's evaluations — and best.pt."""
    samples = run.generate(len(run.fixed_noise))
    if samples.dim() == 4:  # images: a grid; other data (toy points) are plotted by notebooks
        save_image(samples, run.sample_path(epoch), nrow=_grid_columns(run),
                   normalize=True, value_range=(-1, 1))
    run.best_epoch = None
    for callback in callbacks:
        callback(run, epoch)
    run.metrics = {**run.metrics, **_summary(run, dtype)}
    run.dir.write_history(run.history)
    run.dir.write_metrics(run.metrics)
    checkpointed = epoch % run.config.checkpoint_every == 0 or epoch == run.config.epochs
    if checkpointed:
        extra = {"ema": run.ema.state_dict()} if run.ema is not None else None
        ckpt.save_state(run.checkpoint_path, epoch=epoch, history=run.history,
                        config=run.config.to_dict(), extra=extra, **_state_parts(run, loop))
    if run.best_epoch == epoch:
        if checkpointed:
            run.dir.keep_best()
        else:
            warnings.warn(f"epoch {epoch} has the best metric but no checkpoint "
                          f"(checkpoint_every={run.config.checkpoint_every}); best.pt is not "
                          "updated. Evaluate on checkpoint epochs.", stacklevel=2)


def _show_progress(setting: bool | str) -> bool:
    """Whether to draw a progress bar: as set, or ("auto") in a terminal or a live notebook.

    Headless notebook runs (papermill, the book build) get the log lines only: a redrawn bar
    would be saved as dozens of stale copies in the executed notebook.
    """
    if setting != "auto":
        return bool(setting)
    if sys.stderr.isatty():
        return True
    return headless_reason() is None  # a notebook with a frontend shows the bar


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _grid_columns(run: Run) -> int:
    """8 columns, or one column per class for a conditional generator with up to 16 classes."""
    return run.num_classes if 0 < run.num_classes <= 16 else 8


def _repeat(data: Batches, config: TrainConfig, device: torch.device, rng: torch.Generator,
            with_labels: bool, processes: distributed.Processes):
    """Shuffled batches of `data`, `data_repeats` passes in a row, from one seeded generator.

    With several processes, each takes its slice of every global batch.
    """
    shard = {"shard": (processes.rank, processes.world)} if processes.world > 1 else {}
    for _ in range(config.data_repeats):
        yield from data.batches(config.batch_size, device=device, shuffle=True,
                                flip=config.flip, generator=rng, with_labels=with_labels,
                                **shard)


def _flush(run: Run, loop: _Loop, stats: torch.Tensor, logged: int, i: int, epoch: int,
           step: int, iters: int, bar) -> int:
    """Copy the unlogged iterations to the history (one host sync), check them, print a log line.

    With several processes the values are averaged over them first: the global batch's values.
    """
    values = distributed.mean_over_processes(stats[logged:i].float(), loop.processes).cpu()
    if not torch.isfinite(values).all():
        bad = int((~torch.isfinite(values)).any(dim=1).nonzero()[0]) + logged + 1
        last = run.checkpoint_path
        kept = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint yet"
        message = (f"a loss became NaN or infinite at epoch {epoch}, iteration {bad}/{iters}; "
                   f"training stopped and {kept}. Try lower learning rates, amp=False, or "
                   "another seed; resume=True restarts from the checkpoint.")
        if loop.processes.main:
            run.dir.write_history(run.history)
            run.dir.update_metrics(status="diverged", error=message, diverged_epoch=epoch)
        raise TrainingDiverged(message)
    for row, offset in zip(values.tolist(), range(logged + 1, i + 1)):
        run.history["step"].append(step + offset)
        run.history["epoch"].append(epoch)
        for key, value in zip(run.stat_names, row):
            run.history[key].append(value)
    last = dict(zip(run.stat_names, values[-1].tolist()))
    bar.set_postfix(loss_d=f"{last['loss_d']:.3f}", loss_g=f"{last['loss_g']:.3f}")
    if loop.processes.main:
        if run.task is not None and not run.task.adversarial_weight:  # D is not in this loop
            line = (f"[{epoch}/{run.config.epochs}][{i}/{iters}]\tContent: "
                    f"{last['loss_content']:.4f}\t(no discriminator: content loss only)")
        else:
            line = LOG_FORMAT.format(epoch=epoch, epochs=run.config.epochs, i=i, iters=iters,
                                     **last)
            line += f"\tPenalty: {last['penalty']:.4f}" if "penalty" in last else ""
            line += f"\tContent: {last['loss_content']:.4f}" if run.task is not None else ""
        tqdm.write(line)
    return i


def _summary(run: Run, dtype: torch.dtype | None) -> dict:
    """metrics.json: final losses and probabilities (last epoch's means) and throughput."""
    h = run.history
    last_epoch = h["epoch"][-1]
    rows = [j for j, e in enumerate(h["epoch"]) if e == last_epoch]
    final = {f"final_{k}": statistics.fmean(h[k][j] for j in rows) for k in run.stat_names}
    speeds = [e["images_per_s"] for e in h["epochs"]]
    steady = speeds[1:] or speeds  # the first epoch includes warm-up
    return {
        "epochs": last_epoch, "steps": h["step"][-1], **final,
        "last_logged": {k: h[k][-1] for k in run.stat_names},
        "images_per_s": statistics.median(steady),
        "seconds_per_epoch": statistics.median(e["seconds"] for e in h["epochs"]),
        "device": str(run.device), "amp": str(dtype) if dtype else None,
        "status": "finished" if last_epoch == run.config.epochs else "running",
    }


def _save_real_vs_fake(run: Run, data: Batches) -> None:
    """real_vs_fake.png: up to 64 real images beside 64 fixed-noise samples."""
    n = min(len(data), run.config.num_samples)
    real = to_signed(data.images[:n])
    fake = run.generate(n)
    pair = torch.stack([make_grid(real, nrow=8, normalize=True, value_range=(-1, 1), padding=2),
                        make_grid(fake, nrow=8, normalize=True, value_range=(-1, 1), padding=2)])
    save_image(pair, run.dir.figure("real_vs_fake"), nrow=2, padding=8, pad_value=1.0)
