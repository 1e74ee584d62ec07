"""Run by tests/test_distributed.py under torchrun (or alone): a few DCGAN iterations on blobs."""

import sys

import torch

from labkit.data import synthetic_blobs
from labkit.models import dcgan
from labkit.train import train_gan


def main(out_dir: str, result: str, epochs: int, resume: str) -> None:
    torch.manual_seed(0)
    generator, discriminator = dcgan(image_size=32, channels=1, nz=16, ngf=8, ndf=8)
    data = synthetic_blobs(n=64, image_size=32, channels=1, seed=0)
    run = train_gan(generator, discriminator, data, epochs=epochs, batch_size=16, flip=True,
                    log_every=2, progress=False, out_dir=out_dir, num_samples=8,
                    resume=resume if resume != "no" else False, device="cpu")
    if not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0:
        torch.save({"generator": run.generator.state_dict(),
                    "discriminator": run.discriminator.state_dict(),
                    "loss_d": run.history["loss_d"], "dir": str(run.dir)}, result)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
