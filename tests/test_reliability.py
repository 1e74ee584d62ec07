"""The reliability suite: faults a long Colab session meets, each case counted.

- kill -9 at random points of a training run (inside checkpoint writes too), then resume;
- a run whose losses turn NaN;
- bad image files in a folder dataset, damaged idx files;
- a checkpoint that would run code when unpickled.

Each case records its trials and failures (`record`); the summary is printed at the end of the
test session (tests/conftest.py). `make test` runs KILL_TRIALS kill trials; `make reliability`
runs this file alone with LABKIT_KILL_TRIALS=20.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from labkit.data import load
from labkit.train import RunDir, TrainingDiverged, train_gan
from labkit.train import checkpoint as ckpt

WORKER = Path(__file__).with_name("kill_worker.py")
KILL_TRIALS = int(os.environ.get("LABKIT_KILL_TRIALS", "4"))
EPOCHS = 6


def record(case: str, trials: int, failures: int) -> None:
    """Add a case's counts to the session's reliability log (printed by conftest.py)."""
    log = Path(os.environ["LABKIT_RELIABILITY_LOG"])
    with open(log, "a") as file:
        file.write(json.dumps({"case": case, "trials": trials, "failures": failures}) + "\n")


def _env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    return {**env, "OMP_NUM_THREADS": "1"}


def worker(out_dir: Path, resume: bool, result: Path, slow_writes: bool = False):
    """Start kill_worker.py; returns the process (stdout piped, line-buffered)."""
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(out_dir), str(EPOCHS), "yes" if resume else "no",
         "yes" if slow_writes else "no", str(result)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())


def finish(process: subprocess.Popen) -> str:
    out, _ = process.communicate(timeout=300)
    assert process.returncode == 0, out[-3000:]
    return out


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[dict, float, Path]:
    """An uninterrupted run (its final generator and training time) and an earlier run folder
    that every trial keeps beside its own."""
    folder = tmp_path_factory.mktemp("reference")
    process = worker(folder / "runs", False, folder / "result.pt")
    assert process.stdout.readline().strip() == "ready"
    started = time.perf_counter()  # from the end of the imports to the end of training
    finish(process)
    seconds = time.perf_counter() - started
    state = torch.load(folder / "result.pt", weights_only=True)
    return state["generator"], seconds, Path(state["dir"])


@pytest.mark.slow
def test_kill_minus_9_at_random_points_then_resume(reference, tmp_path):
    """After each kill: every checkpoint on disk loads, the resume starts after the last
    finished epoch, the earlier run is untouched, no half-written file is left, and the final
    generator equals the uninterrupted run's bit for bit (same seed, CPU, one thread: the
    engine reseeds every epoch from (seed, epoch) and restores the RNG, so nothing differs)."""
    final, seconds, earlier = reference
    rng = random.Random(int(os.environ.get("LABKIT_KILL_SEED", "0")))
    failures, outcomes = [], []
    for trial in range(KILL_TRIALS):
        parent = tmp_path / f"trial{trial}"
        shutil.copytree(earlier, parent / earlier.name)  # an earlier run beside this one
        before = files_of(parent / earlier.name)
        slow = trial % 2 == 1  # every other trial aims inside checkpoint writes
        process = worker(parent, False, parent / "unused.pt", slow_writes=slow)
        assert process.stdout.readline().strip() == "ready"
        if slow:
            writes = rng.randint(1, EPOCHS - 1)
            for line in process.stdout:
                if line.startswith("writing") and line.strip().endswith("last.pt"):
                    writes -= 1
                    if not writes:
                        break
        else:
            time.sleep(rng.uniform(0, seconds))
        process.send_signal(signal.SIGKILL)
        process.wait()
        runs = [r for r in RunDir(parent).children() if r.name != earlier.name]
        checkpoint_epoch = 0
        for run in runs:
            for path in run.path.glob("checkpoints/*.pt"):
                checkpoint_epoch = max(checkpoint_epoch, ckpt.load(path)["epoch"])
        resumed = worker(parent, True, parent / "result.pt")
        out = finish(resumed)
        state = torch.load(parent / "result.pt", weights_only=True)
        problems = []
        if checkpoint_epoch and f"after epoch {checkpoint_epoch}." not in out:
            problems.append(f"did not resume after epoch {checkpoint_epoch}")
        if files_of(parent / earlier.name) != before:
            problems.append("the earlier run changed")
        if list(parent.rglob(".*.tmp")):
            problems.append("a half-written file was left")
        if not all(torch.equal(state["generator"][k], v) for k, v in final.items()):
            problems.append("the final generator differs from the uninterrupted run's")
        outcomes.append(checkpoint_epoch)
        if problems:
            failures.append(f"trial {trial} (killed after epoch {checkpoint_epoch}): "
                            + "; ".join(problems))
    record(f"kill -9 then resume ({sum(e > 0 for e in outcomes)} resumed from a checkpoint, "
           f"{sum(e == 0 for e in outcomes)} before the first)", KILL_TRIALS, len(failures))
    assert not failures, "\n".join(failures)


class NaNAfter(torch.nn.Module):
    """A discriminator whose output turns NaN after `calls` forward passes (a diverged net)."""

    def __init__(self, inner: torch.nn.Module, calls: int):
        super().__init__()
        self.inner, self.calls = inner, calls
        self.config = getattr(inner, "config", {})

    def forward(self, x):
        self.calls -= 1
        out = self.inner(x)
        return out * float("nan") if self.calls < 0 else out


def test_divergence_stops_names_the_epoch_and_keeps_the_last_good_checkpoint(tmp_path):
    from labkit.data import synthetic_blobs
    from labkit.models import dcgan

    torch.manual_seed(0)
    generator, discriminator = dcgan(image_size=32, channels=1, nz=16, ngf=8, ndf=8)
    blobs = synthetic_blobs(n=64, image_size=32, channels=1, seed=0)
    with pytest.raises(TrainingDiverged) as error:
        train_gan(generator, NaNAfter(discriminator, calls=2 * 12 + 5), blobs, epochs=4,
                  batch_size=16, log_every=2, progress=False, out_dir=tmp_path)
    message = str(error.value)
    (run,) = RunDir(tmp_path).children()
    metrics = run.read_metrics()
    checks = ["epoch 3" in message, "lower learning rates" in message,
              ckpt.load(run.checkpoint_path)["epoch"] == 2, metrics["status"] == "diverged",
              metrics["diverged_epoch"] == 3]
    record("a loss turns NaN", 1, int(not all(checks)))
    assert all(checks), (message, metrics)


def _save(path: Path, array: np.ndarray, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)


def test_bad_image_files_are_skipped_and_a_folder_of_none_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "photos"
    for i in range(3):
        _save(folder / f"good_{i}.png", np.full((20, 20, 3), 40 * i, np.uint8))
    _save(folder / "whole.jpg", np.zeros((40, 40, 3), np.uint8))
    data = (folder / "whole.jpg").read_bytes()
    bad = {"corrupt.jpg": b"\xff\xd8\xff\xe0" + b"x" * 50, "truncated.jpg": data[:150],
           "empty.png": b"", "wrong_format.png": b"GIF89a not really"}
    (folder / "whole.jpg").unlink()
    for name, content in bad.items():
        (folder / name).write_bytes(content)
    with pytest.warns(UserWarning) as caught:
        images = load("folder", root=folder, image_size=8)
    (warning,) = [str(w.message) for w in caught if "unreadable" in str(w.message)]
    checks = [len(images) == 3, all(name in warning for name in bad)]
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.png").write_bytes(b"")
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="none of the 1"):
        load("folder", root=junk)
    record("bad image files (corrupt, truncated, empty, wrong format)", len(bad) + 1,
           int(not all(checks)))
    assert all(checks), warning


def test_an_untrusted_checkpoint_is_refused_without_running_its_code(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    run = RunDir.create("run", tmp_path)
    run.checkpoint_path.parent.mkdir(parents=True)
    torch.save({"format": ckpt.FORMAT, "epoch": 1, "generator": Payload()}, run.checkpoint_path)
    with pytest.raises(ValueError, match="never unpickles") as error:
        ckpt.load(run.checkpoint_path)
    checks = [not marker.exists(), "weights_only=False" not in str(error.value)]
    record("a checkpoint that would run code", 1, int(not all(checks)))
    assert all(checks)
