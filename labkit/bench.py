"""Throughput of `train_gan` against a loop written the way the PyTorch DCGAN tutorial writes it.

Same model (DCGAN 64×64), batch size, images and device for both. The reference decodes a folder
of JPEGs with `ImageFolder` + `DataLoader(num_workers=2)` every epoch, uses Sigmoid + BCELoss and
calls `.item()` every iteration, as the tutorial does. Warm-up is excluded; the figure reported is
the median of several repeats. Run: `python -m labkit.bench --help`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from .data import load
from .models import dcgan
from .train import train_gan


def write_jpeg_folder(images: torch.Tensor, root: Path) -> Path:
    """Write uint8 N×3×H×W images as JPEGs in `root/all/` (the layout ImageFolder expects)."""
    from PIL import Image

    folder = root / "all"
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / f"{i:05d}.jpg", quality=95)
    return root


def reference_loop(root: Path, iterations: int, batch_size: int, device: torch.device,
                   warmup: int = 1) -> float:
    """images/s of a tutorial-style DCGAN loop over a JPEG folder (after `warmup` iterations)."""
    import torchvision.datasets as dset
    import torchvision.transforms as transforms

    dataset = dset.ImageFolder(root=str(root), transform=transforms.Compose([
        transforms.Resize(64), transforms.CenterCrop(64), transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]))
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True,
                                             num_workers=2, drop_last=True)
    netG, netD = dcgan(image_size=64)
    netD = nn.Sequential(netD, nn.Sigmoid())
    netG.to(device), netD.to(device)
    criterion = nn.BCELoss()
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    done, started = 0, None
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
                out_dir: Path, warmup: int = 1) -> float:
    """images/s of `train_gan` on the same images (decoded once into the uint8 cache)."""
    data = load("folder", root=root, image_size=64, channels=3)
    generator, discriminator = dcgan(image_size=64)
    run = train_gan(generator, discriminator, data, epochs=2, batch_size=batch_size,
                    max_steps_per_epoch=max(warmup, iterations), log_every=10**6,
                    device=str(device), progress=False, out_dir=str(out_dir), num_samples=16)
    return run.history["epochs"][-1]["images_per_s"]


def compare(images: int = 512, iterations: int = 4, repeats: int = 3, batch_size: int = 128,
            device: str = "auto") -> dict:
    """Median images/s of both loops over `repeats` runs, and their ratio."""
    from .train import pick_device

    dev = pick_device(device)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        photos = load("photos", image_size=64, subset=images)
        root = write_jpeg_folder(photos.images, tmp / "jpegs")
        ours, ref = [], []
        for _ in range(repeats):
            ref.append(reference_loop(root, iterations, batch_size, dev))
            ours.append(labkit_loop(root, iterations, batch_size, dev, tmp / "runs"))
    result = {"device": str(dev), "model": "dcgan-64", "batch_size": batch_size,
              "iterations": iterations, "repeats": repeats, "images": images,
              "reference_images_per_s": ref, "labkit_images_per_s": ours,
              "reference_median": statistics.median(ref), "labkit_median": statistics.median(ours)}
    result["ratio"] = result["labkit_median"] / result["reference_median"]
    return result


def main(argv: list[str] | None = None) -> None:
    """Command line: print (and optionally save) the comparison as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = compare(args.images, args.iterations, args.repeats, args.batch_size, args.device)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


if __name__ == "__main__":
    main()
