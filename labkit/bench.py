"""`labkit bench`: how fast the training path is, measured, with every row on the same footing.

Rows (same model, batch size, images and device within a row; warm-up excluded; median of
`repeats` runs):
- training: `train_gan` vs a loop written the way the PyTorch DCGAN tutorial writes it
  (ImageFolder of JPEGs, DataLoader with 2 workers, Sigmoid + BCELoss, `.item()` every
  iteration), DCGAN 64×64, images/s and the ratio;
- data path alone: one epoch of batches cut from the uint8 cache vs decoding the JPEG folder;
- CUDA only: mixed precision, channels-last and torch.compile on/off, and the achieved FLOP
  rate (FLOPs per image counted by PyTorch's FlopCounterMode) against a measured bf16 matmul peak;
- chapters: each notebook's wall time at `smoke` (run now by papermill) and at `cpu` (read from
  the jupyter-cache of the last `make book`, when there is one).
Results go to JSON and to a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .data import load
from .models import dcgan
from .train import pick_device, train_gan

ROOT = Path(__file__).resolve().parents[1]


def write_jpeg_folder(images: torch.Tensor, root: Path) -> Path:
    """Write uint8 N×3×H×W images as JPEGs in `root/all/` (the layout ImageFolder expects)."""
    from PIL import Image

    folder = root / "all"
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / f"{i:05d}.jpg", quality=95)
    return root


def tutorial_dataloader(root: Path, batch_size: int):
    """The tutorial's data path: ImageFolder + Resize/CenterCrop/ToTensor/Normalize, 2 workers."""
    import torchvision.datasets as dset
    import torchvision.transforms as transforms

    dataset = dset.ImageFolder(root=str(root), transform=transforms.Compose([
        transforms.Resize(64), transforms.CenterCrop(64), transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]))
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True,
                                       num_workers=2, drop_last=True)


def reference_loop(root: Path, iterations: int, batch_size: int, device: torch.device,
                   warmup: int = 1) -> float:
    """images/s of a tutorial-style DCGAN loop over a JPEG folder (after `warmup` iterations)."""
    dataloader = tutorial_dataloader(root, batch_size)
    netG, netD = dcgan(image_size=64)
    netD = nn.Sequential(netD, nn.Sigmoid())
    netG.to(device), netD.to(device)
    criterion = nn.BCELoss()
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    done, started = 0, 0.0
    while done < warmup + iterations:
        for data in dataloader:
            if done == warmup:
                _sync(device)
                started = time.perf_counter()
            if done == warmup + iterations:
                break
            netD.zero_grad()
            real_cpu = data[0].to(device)
            b_size = real_cpu.size(0)
            label = torch.full((b_size,), 1.0, dtype=torch.float, device=device)
            output = netD(real_cpu).view(-1)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()
            noise = torch.randn(b_size, 100, 1, 1, device=device)
            fake = netG(noise)
            label.fill_(0.0)
            output = netD(fake.detach()).view(-1)
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            optimizerD.step()
            netG.zero_grad()
            label.fill_(1.0)
            output = netD(fake).view(-1)
            errG = criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            optimizerG.step()
            _ = (errD.item(), errG.item(), D_x, D_G_z1, D_G_z2)
            done += 1
    _sync(device)
    return iterations * batch_size / (time.perf_counter() - started)


def labkit_loop(root: Path, iterations: int, batch_size: int, device: torch.device,
                out_dir: Path, **settings) -> float:
    """images/s of `train_gan` on the same images; the first epoch is the warm-up."""
    data = load("folder", root=root, image_size=64, channels=3)
    generator, discriminator = dcgan(image_size=64)
    run = train_gan(generator, discriminator, data, epochs=2, batch_size=batch_size,
                    max_steps_per_epoch=iterations, log_every=10**6, device=str(device),
                    progress=False, out_dir=str(out_dir), num_samples=16, **settings)
    return run.history["epochs"][-1]["images_per_s"]


def median_of(repeats: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    """The median of `repeats` measurements, and all of them."""
    values = [measure() for _ in range(repeats)]
    return statistics.median(values), values


def bench_training(root: Path, device: torch.device, iterations: int, repeats: int,
                   batch_size: int, out_dir: Path) -> dict:
    """train_gan vs the tutorial loop: images/s (median) and their ratio."""
    ref, ref_all = median_of(repeats, lambda: reference_loop(root, iterations, batch_size, device))
    ours, ours_all = median_of(repeats, lambda: labkit_loop(root, iterations, batch_size, device,
                                                            out_dir))
    return {"reference_images_per_s": ref, "labkit_images_per_s": ours, "ratio": ours / ref,
            "reference_all": ref_all, "labkit_all": ours_all}


def bench_data_path(root: Path, device: torch.device, repeats: int, batch_size: int) -> dict:
    """One epoch of batches on the device: uint8 cache vs decoding JPEGs, images/s."""
    cached = load("folder", root=root, image_size=64, channels=3)

    def from_cache() -> float:
        started = time.perf_counter()
        n = 0
        for x in cached.batches(batch_size, device=device, generator=torch.Generator()):
            n += len(x)
        _sync(device)
        return n / (time.perf_counter() - started)

    def from_jpegs() -> float:
        loader = tutorial_dataloader(root, batch_size)
        started = time.perf_counter()
        n = 0
        for x, _ in loader:
            n += len(x.to(device))
        _sync(device)
        return n / (time.perf_counter() - started)

    from_cache()  # warm-up: the device copy of the cache is made once
    cache, _ = median_of(repeats, from_cache)
    jpeg, _ = median_of(repeats, from_jpegs)
    return {"cache_images_per_s": cache, "jpeg_images_per_s": jpeg, "ratio": cache / jpeg}


def bench_cuda(root: Path, device: torch.device, iterations: int, repeats: int,
               batch_size: int, out_dir: Path) -> dict:
    """CUDA only: each speed setting on/off, and the achieved FLOP rate against the bf16 peak."""
    if device.type != "cuda":
        return {"measured": False, "why": f"no CUDA device (ran on {device})"}
    settings = {"all on": {}, "amp off": {"amp": False}, "channels-last off": {
        "channels_last": False}, "torch.compile on": {"compile": True}}
    rows = {name: median_of(repeats, lambda s=s: labkit_loop(root, iterations, batch_size,
                                                            device, out_dir, **s))[0]
            for name, s in settings.items()}
    flops = flops_per_image(device)
    peak = matmul_peak(device)
    best = max(rows.values())
    return {"measured": True, "images_per_s": rows, "flops_per_image": flops,
            "achieved_tflops": best * flops / 1e12, "bf16_matmul_peak_tflops": peak,
            "share_of_peak": best * flops / 1e12 / peak}


def flops_per_image(device: torch.device, batch_size: int = 16) -> float:
    """FLOPs of one training iteration (3 D forwards, G forward, backwards) per real image."""
    from torch.utils.flop_counter import FlopCounterMode

    generator, discriminator = (m.to(device) for m in dcgan(image_size=64))
    z = torch.randn(batch_size, 100, device=device)
    real = torch.randn(batch_size, 3, 64, 64, device=device)
    with FlopCounterMode(display=False) as counter:
        fake = generator(z)
        loss_d = discriminator(real).mean() + discriminator(fake.detach()).mean()
        loss_d.backward()
        discriminator(fake).mean().backward()
    return counter.get_total_flops() / batch_size


def matmul_peak(device: torch.device, n: int = 8192, repeats: int = 20) -> float:
    """Measured bf16 matrix-multiply rate of the device in TFLOP/s."""
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    _sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - started) / 1e12


def bench_chapters(tmp: Path, profiles: tuple[str, ...] = ("smoke",)) -> dict:
    """Wall time of every chapter notebook: run now at `profiles`, plus cpu from the book cache."""
    import papermill

    times: dict[str, dict[str, float | None]] = {}
    for notebook in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        row = times.setdefault(notebook.stem, {})
        for profile in profiles:
            started = time.perf_counter()
            papermill.execute_notebook(str(notebook), str(tmp / f"{notebook.stem}-{profile}.ipynb"),
                                       parameters={"profile": profile,
                                                   "out_dir": str(tmp / "runs")},
                                       cwd=str(tmp), progress_bar=False)
            row[profile] = time.perf_counter() - started
        row.setdefault("cpu", book_execution_seconds(notebook))
    return times


def book_execution_seconds(notebook: Path) -> float | None:
    """The execution time the last `make book` recorded for `notebook`, if it is cached and that
    build ran the `cpu` profile (`make book` writes its profile to `_build/.profile`)."""
    cache = ROOT / "_build" / ".jupyter_cache"
    profile_file = ROOT / "_build" / ".profile"
    profile = profile_file.read_text().strip() if profile_file.is_file() else None
    if not cache.is_dir() or profile not in ("cpu", "auto") or (
            profile == "auto" and torch.cuda.is_available()):  # auto means full on a GPU
        return None
    import nbformat
    from jupyter_cache import get_cache

    try:
        record = get_cache(cache).match_cache_notebook(nbformat.read(notebook, as_version=4))
    except KeyError:  # this version of the notebook was not executed by that build
        return None
    return record.data.get("execution_seconds")


def run_all(images: int = 512, iterations: int = 4, repeats: int = 3, batch_size: int = 128,
            device: str = "auto", chapters: bool = True) -> dict:
    """Every row of the benchmark, as one JSON-ready dict."""
    dev = pick_device(device)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        photos = load("photos", image_size=64, subset=images)
        root = write_jpeg_folder(photos.images, tmp / "jpegs")
        result = {
            "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else str(dev),
            "measured_at": time.strftime("%Y-%m-%d %H:%M %Z"), "cpu_cores": os.cpu_count(),
            "load_average_before": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "model": "DCGAN 64×64 (PyTorch tutorial layout)", "batch_size": batch_size,
            "images": images, "iterations": iterations, "repeats": repeats,
            "training": bench_training(root, dev, iterations, repeats, batch_size, tmp / "r"),
            "data_path": bench_data_path(root, dev, repeats, batch_size),
            "cuda": bench_cuda(root, dev, iterations, repeats, batch_size, tmp / "c"),
        }
        if chapters:
            result["chapters"] = bench_chapters(tmp)
    return result


def markdown(result: dict) -> str:
    """The benchmark as a Markdown table."""
    t, d, c = result["training"], result["data_path"], result["cuda"]
    load = result.get("load_average_before")
    lines = [f"Device: {result['device']} ({result.get('cpu_cores')} CPU cores, torch "
             f"{result['torch']}, {result['threads']} threads); {result['model']}, batch "
             f"{result['batch_size']}, median of {result['repeats']}. Measured "
             f"{result.get('measured_at', '(time not recorded)')}"
             + (f", 1-minute load average {load:.1f} at the start." if load is not None else "."),
             "", "| row | measured | reference | ratio |", "|---|---|---|---|",
             f"| training, images/s: train_gan vs tutorial loop | {t['labkit_images_per_s']:.1f} | "
             f"{t['reference_images_per_s']:.1f} | {t['ratio']:.2f} |",
             f"| data path, images/s: uint8 cache vs JPEG decoding | "
             f"{d['cache_images_per_s']:.0f} | {d['jpeg_images_per_s']:.0f} | {d['ratio']:.1f} |"]
    if c["measured"]:
        base = c["images_per_s"]["all on"]
        for name, value in c["images_per_s"].items():
            lines.append(f"| CUDA {name}, images/s | {value:.0f} | {base:.0f} | "
                         f"{value / base:.2f} |")
        lines.append(f"| achieved TFLOP/s vs bf16 matmul peak | {c['achieved_tflops']:.1f} | "
                     f"{c['bf16_matmul_peak_tflops']:.0f} | {c['share_of_peak']:.2f} |")
    else:
        lines.append(f"| CUDA rows (AMP, channels-last, compile, FLOP rate) | not measured: "
                     f"{c['why']} | | |")
    for name, row in result.get("chapters", {}).items():
        cpu = row.get("cpu")
        lines.append(f"| {name} wall time, s: smoke / cpu | {row['smoke']:.0f} | "
                     f"{'not measured' if cpu is None else f'{cpu:.0f}'} | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """`labkit bench`: run the benchmark, print the table, write JSON and Markdown."""
    parser = argparse.ArgumentParser(prog="labkit bench", description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-chapters", action="store_true", help="skip the notebook timings")
    parser.add_argument("--out", type=Path, default=Path("bench"),
                        help="folder for bench.json and bench.md (default: ./bench)")
    args = parser.parse_args(argv)
    result = run_all(args.images, args.iterations, args.repeats, args.batch_size, args.device,
                     chapters=not args.no_chapters)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(result, indent=2))
    table = markdown(result)
    (args.out / "bench.md").write_text(table)
    print(table)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


if __name__ == "__main__":
    main()
