"""Run by tests/test_reliability.py: a small DCGAN run (the engine of chapter 2) on synthetic
blobs that a test kills with SIGKILL and then resumes.

    python kill_worker.py OUT_DIR EPOCHS RESUME(yes|no) SLOW_WRITES(yes|no) RESULT.pt

Prints "ready" once imported, "writing <file>" while a checkpoint is written (SLOW_WRITES holds
each write open for 50 ms between the temporary file and its rename, so that a kill lands inside
one), and saves the final generator's state to RESULT.pt.
"""

import sys
import time

import torch

import labkit.train.checkpoint as checkpoint
from labkit.data import synthetic_blobs
from labkit.models import dcgan
from labkit.train import train_gan


def slow(write_atomically):
    """atomic_write that waits between writing the temporary file and renaming it."""
    def wrapped(path, write):
        def write_then_wait(tmp):
            write(tmp)
            print(f"writing {path}", flush=True)
            time.sleep(0.05)
        return write_atomically(path, write_then_wait)
    return wrapped


def main(out_dir: str, epochs: int, resume: bool, slow_writes: bool, result: str) -> None:
    if slow_writes:
        checkpoint.atomic_write = slow(checkpoint.atomic_write)
    torch.manual_seed(0)
    generator, discriminator = dcgan(image_size=32, channels=1, nz=16, ngf=8, ndf=8)
    data = synthetic_blobs(n=64, image_size=32, channels=1, seed=0)
    print("ready", flush=True)
    run = train_gan(generator, discriminator, data, epochs=epochs, batch_size=16, flip=True,
                    log_every=4, progress=False, out_dir=out_dir, num_samples=8, seed=0,
                    resume=resume, device="cpu")
    torch.save({"generator": run.generator.state_dict(), "dir": str(run.dir)}, result)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "yes", sys.argv[4] == "yes", sys.argv[5])
