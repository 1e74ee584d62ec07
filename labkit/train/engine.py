"""`train_gan`: the training loop shared by every chapter, built from the two step functions."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
from torch import nn
from torchvision.utils import make_grid, save_image
from tqdm import tqdm

from . import checkpoint as ckpt
from .config import TrainConfig
from .device import amp_dtype, autocast, pick_device, use_channels_last
from .rundir import latest_run_dir, new_run_dir, read_json, write_json
from .steps import Labels, discriminator_step, generator_step

STATS = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2")
LOG_FORMAT = ("[{epoch}/{epochs}][{i}/{iters}]\tLoss_D: {loss_d:.4f}\tLoss_G: {loss_g:.4f}\t"
              "D(x): {d_x:.4f}\tD(G(z)): {d_g_z1:.4f} / {d_g_z2:.4f}")


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

    dir: Path
    config: TrainConfig
    generator: nn.Module
    discriminator: nn.Module
    device: torch.device
    fixed_noise: torch.Tensor
    history: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)

    @property
    def checkpoint_path(self) -> Path:
        """The run's latest checkpoint."""
        return self.dir / "checkpoints" / "last.pt"

    def sample_path(self, epoch: int) -> Path:
        """The fixed-noise grid saved at the end of `epoch`."""
        return self.dir / "samples" / f"epoch_{epoch:03d}.png"

    @property
    def num_classes(self) -> int:
        """The number of classes of a conditional generator (0 when unconditional)."""
        return num_classes(self.generator)

    @torch.no_grad()
    def generate(self, n: int = 64, seed: int | None = None,
                 labels: torch.Tensor | None = None) -> torch.Tensor:
        """n generated samples on the CPU (the fixed noise when seed is None and n fits).

        A conditional generator gets `labels` (default: classes 0, 1, 2, ... in turn).
        """
        if seed is None and n <= len(self.fixed_noise):
            z = self.fixed_noise[:n]
        else:
            g = torch.Generator().manual_seed(0 if seed is None else seed)
            z = torch.randn(n, self.generator.nz, generator=g).to(self.device)
        return _sample(self.generator, z, _labels_for(self.generator, n, labels, self.device))


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


def empty_history() -> dict:
    """A history with no entries: per-iteration lists plus per-epoch records."""
    return {"step": [], "epoch": [], **{k: [] for k in STATS}, "epochs": []}


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
    """G(z) on the CPU without gradients, in train mode as the PyTorch DCGAN tutorial samples."""
    return generator(z, *cond).float().cpu()


def _resolve_resume(config: TrainConfig) -> Path | None:
    """The run folder to resume from, or None for a fresh run."""
    if config.resume is False or config.resume is None:
        return None
    if config.resume is True:
        found = latest_run_dir(config.out_dir, config.name)
        if found is None:
            print(f"resume=True: no earlier '{config.name}' run with a checkpoint under "
                  f"{config.out_dir or 'runs'}; starting a fresh run.")
        return found
    path = Path(config.resume)
    if path.is_file():
        path = path.parent.parent
    if not (path / "checkpoints" / "last.pt").is_file():
        raise FileNotFoundError(f"resume={config.resume!r}: no checkpoints/last.pt in {path}")
    return path


def train_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    data: Batches,
    config: TrainConfig | None = None,
    *,
    callbacks: tuple[Callable[[Run, int], None], ...] = (),
    **overrides,
) -> Run:
    """Train an unconditional GAN on `data`; every file goes to a fresh (or resumed) run folder.

    Per iteration: one (or `d_steps`) discriminator update on a real and a fake batch, then one
    (or `g_steps`) generator update. Each epoch ends with a fixed-noise grid, history/metrics
    files, an atomic checkpoint, and the callbacks `callback(run, epoch)`.
    """
    config = TrainConfig(**{**(config.to_dict() if config else {}), **overrides})
    if not hasattr(generator, "nz"):
        raise ValueError("the generator must expose its latent size as `generator.nz`")
    if len(data) < config.batch_size:
        raise ValueError(f"the dataset has {len(data)} images, fewer than batch_size="
                         f"{config.batch_size}; lower batch_size or use more data")
    resume_dir = _resolve_resume(config)
    state = None
    if resume_dir is not None:
        state = ckpt.load(resume_dir / "checkpoints" / "last.pt")
        ckpt.check_compatible(state, {"generator": generator, "discriminator": discriminator},
                              resume_dir / "checkpoints" / "last.pt")

    device = pick_device(config.device)
    dtype = amp_dtype(device, config.amp)
    channels_last = use_channels_last(device, config.channels_last)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    generator.to(device, memory_format=memory_format)
    discriminator.to(device, memory_format=memory_format)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_d, betas=config.betas_d)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_g, betas=config.betas_g)
    scaler_enabled = dtype == torch.float16
    scaler_d = torch.amp.GradScaler(device.type, enabled=scaler_enabled)
    scaler_g = torch.amp.GradScaler(device.type, enabled=scaler_enabled)
    fixed_noise = torch.randn(config.num_samples, generator.nz,
                              generator=torch.Generator().manual_seed(config.seed)).to(device)

    run_dir = resume_dir or new_run_dir(config.out_dir, config.name)
    run = Run(run_dir, config, generator, discriminator, device, fixed_noise, empty_history())
    start_epoch = 1
    if state is not None:
        generator.load_state_dict(state["generator"])
        discriminator.load_state_dict(state["discriminator"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        scaler_d.load_state_dict(state["scaler_d"])
        scaler_g.load_state_dict(state["scaler_g"])
        torch.set_rng_state(state["rng"]["torch"])
        run.history = state["history"]
        start_epoch = state["epoch"] + 1
        print(f"Resuming {run_dir} after epoch {state['epoch']}.")
    write_json(run_dir / "config.json", {
        "train": config.to_dict(),
        "generator": ckpt.architecture(generator)["config"],
        "discriminator": ckpt.architecture(discriminator)["config"],
        "data": {"name": getattr(data, "name", type(data).__name__), "size": len(data),
                 "manifest": getattr(data, "manifest", {})},
        "device": str(device), "amp": str(dtype) if dtype else None,
        "channels_last": channels_last, "torch": torch.__version__,
        "resumed_from_epoch": start_epoch - 1 if state is not None else None,
    })

    labels = Labels(config.real_label, config.fake_label)
    amp = lambda: autocast(device, dtype)  # noqa: E731
    iters = data.num_batches(config.batch_size) * config.data_repeats
    if config.max_steps_per_epoch:
        iters = min(iters, config.max_steps_per_epoch)
    step = run.history["step"][-1] if run.history["step"] else 0
    conditional = num_classes(generator) > 0

    for epoch in range(start_epoch, config.epochs + 1):
        batch_rng = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch, 1))
        noise_rng = _noise_generator(device, _epoch_seed(config.seed, epoch, 2))
        stats = torch.zeros(iters, len(STATS), device=device)
        logged = 0
        bar = tqdm(total=iters, desc=f"epoch {epoch}/{config.epochs}", leave=False,
                   disable=not config.progress, mininterval=1.0)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        i = 0
        for batch in _repeat(data, config, device, batch_rng, conditional):
            real, *cond = batch if conditional else (batch,)  # cond: the real batch's labels
            if channels_last and real.dim() == 4:
                real = real.contiguous(memory_format=torch.channels_last)
            n = real.shape[0]
            z = torch.randn(n, generator.nz, device=noise_rng.device, generator=noise_rng)
            z = z.to(device)
            with amp():
                fake = generator(z, *cond)
            for k in range(config.d_steps):
                if k:
                    with amp():
                        fake = generator(torch.randn_like(z), *cond)
                loss_d, d_x, d_g_z1 = discriminator_step(discriminator, real, fake, opt_d,
                                                         scaler_d, labels, amp, cond)
            for k in range(config.g_steps):
                if k:
                    with amp():
                        fake = generator(torch.randn_like(z), *cond)
                loss_g, d_g_z2 = generator_step(discriminator, fake, opt_g, scaler_g, amp,
                                                config.loss, cond)
            stats[i] = torch.stack((loss_d, loss_g, d_x, d_g_z1, d_g_z2))
            i += 1
            bar.update(1)
            if i % config.log_every == 0 or i == iters:
                logged = _flush(run, stats, logged, i, epoch, step, iters, bar)
            if i == iters:
                break
        bar.close()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - started
        step += i
        images = i * config.batch_size
        record = {"epoch": epoch, "iterations": i, "seconds": seconds,
                  "images_per_s": images / seconds if seconds > 0 else float("nan")}
        run.history["epochs"].append(record)
        samples = run.generate(len(fixed_noise))
        if samples.dim() == 4:  # images: a grid; other data (toy points) are plotted by notebooks
            save_image(samples, _mkparent(run.sample_path(epoch)), nrow=_grid_columns(run),
                       normalize=True, value_range=(-1, 1))
        if epoch % config.checkpoint_every == 0 or epoch == config.epochs:
            _save_checkpoint(run, epoch, opt_d, opt_g, scaler_d, scaler_g)
        run.metrics = _summary(run, dtype)
        write_json(run_dir / "history.json", run.history)
        write_json(run_dir / "metrics.json", run.metrics)
        for callback in callbacks:
            callback(run, epoch)
        write_json(run_dir / "metrics.json", run.metrics)

    if start_epoch > config.epochs:
        print(f"{run_dir} already holds {config.epochs} epochs; nothing to train.")
        run.metrics = read_json(run_dir / "metrics.json")
    elif getattr(data, "images", None) is not None:
        _save_real_vs_fake(run, data)
    return run


def _grid_columns(run: Run) -> int:
    """8 columns, or one column per class for a conditional generator with up to 16 classes."""
    return run.num_classes if 0 < run.num_classes <= 16 else 8


def _repeat(data: Batches, config: TrainConfig, device: torch.device, rng: torch.Generator,
            with_labels: bool = False):
    """Shuffled batches of `data`, `data_repeats` passes in a row, from one seeded generator."""
    for _ in range(config.data_repeats):
        yield from data.batches(config.batch_size, device=device, shuffle=True,
                                flip=config.flip, generator=rng, with_labels=with_labels)


def _flush(run: Run, stats: torch.Tensor, logged: int, i: int, epoch: int, step: int,
           iters: int, bar) -> int:
    """Copy the unlogged iterations to the history (one host sync), check them, print a log line."""
    values = stats[logged:i].float().cpu()
    if not torch.isfinite(values).all():
        bad = int((~torch.isfinite(values)).any(dim=1).nonzero()[0]) + logged + 1
        last = run.checkpoint_path
        kept = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint yet"
        write_json(run.dir / "history.json", run.history)
        raise TrainingDiverged(
            f"a loss became NaN or infinite at epoch {epoch}, iteration {bad}/{iters}; "
            f"training stopped and {kept}. Try lower learning rates, amp=False, or another "
            "seed; resume=True restarts from the checkpoint.")
    for row, offset in zip(values.tolist(), range(logged + 1, i + 1)):
        run.history["step"].append(step + offset)
        run.history["epoch"].append(epoch)
        for key, value in zip(STATS, row):
            run.history[key].append(value)
    last = dict(zip(STATS, values[-1].tolist()))
    bar.set_postfix(loss_d=f"{last['loss_d']:.3f}", loss_g=f"{last['loss_g']:.3f}")
    tqdm.write(LOG_FORMAT.format(epoch=epoch, epochs=run.config.epochs, i=i, iters=iters, **last))
    return i


def _mkparent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _save_checkpoint(run: Run, epoch: int, opt_d, opt_g, scaler_d, scaler_g) -> None:
    state = {
        "format": ckpt.FORMAT,
        "epoch": epoch,
        "architecture": {"generator": ckpt.architecture(run.generator),
                         "discriminator": ckpt.architecture(run.discriminator)},
        "generator": run.generator.state_dict(),
        "discriminator": run.discriminator.state_dict(),
        "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
        "scaler_d": scaler_d.state_dict(), "scaler_g": scaler_g.state_dict(),
        "rng": {"torch": torch.get_rng_state()},
        "history": run.history,
        "train_config": run.config.to_dict(),
    }
    ckpt.save_atomic(state, run.checkpoint_path)


def _summary(run: Run, dtype: torch.dtype | None) -> dict:
    """metrics.json: final losses and probabilities (last epoch's means) and throughput."""
    h = run.history
    last_epoch = h["epoch"][-1]
    rows = [j for j, e in enumerate(h["epoch"]) if e == last_epoch]
    final = {f"final_{k}": statistics.fmean(h[k][j] for j in rows) for k in STATS}
    speeds = [e["images_per_s"] for e in h["epochs"]]
    steady = speeds[1:] or speeds  # the first epoch includes warm-up
    return {
        "epochs": last_epoch, "steps": h["step"][-1], **final,
        "last_logged": {k: h[k][-1] for k in STATS},
        "images_per_s": statistics.median(steady),
        "seconds_per_epoch": statistics.median(e["seconds"] for e in h["epochs"]),
        "device": str(run.device), "amp": str(dtype) if dtype else None,
        "status": "finished" if last_epoch == run.config.epochs else "running",
        **{k: v for k, v in run.metrics.items() if k.startswith("metric_")},
    }


def _save_real_vs_fake(run: Run, data: Batches) -> None:
    """real_vs_fake.png: up to 64 real images beside 64 fixed-noise samples."""
    n = min(len(data), run.config.num_samples)
    real = data.images[:n].float() / 127.5 - 1
    fake = run.generate(n)
    pair = torch.stack([make_grid(real, nrow=8, normalize=True, value_range=(-1, 1), padding=2),
                        make_grid(fake, nrow=8, normalize=True, value_range=(-1, 1), padding=2)])
    save_image(pair, run.dir / "real_vs_fake.png", nrow=2, padding=8, pad_value=1.0)
