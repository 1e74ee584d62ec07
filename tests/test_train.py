"""The training engine: step functions, logging, resume, NaN guard, checkpoints, mixed precision."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labkit.data import synthetic_blobs
from labkit.models import dcgan
from labkit.train import (
    CheckpointMismatchError,
    Labels,
    TrainConfig,
    TrainingDiverged,
    discriminator_step,
    generator_loss,
    generator_step,
    train_gan,
)
from labkit.train import checkpoint as ckpt
from labkit.train.device import autocast

FAST = dict(batch_size=16, log_every=2, progress=False, num_samples=16)


@pytest.fixture
def blobs():
    return synthetic_blobs(n=64, image_size=32, channels=1, seed=0)


def tiny_gan(seed: int = 0, ngf: int = 8, ndf: int = 8):
    torch.manual_seed(seed)
    return dcgan(image_size=32, channels=1, nz=16, ngf=ngf, ndf=ndf)


def no_amp():
    return autocast(torch.device("cpu"), None)


def test_generator_losses_match_their_formulas():
    logits = torch.tensor([-3.0, 0.0, 2.5])
    p = torch.sigmoid(logits)
    assert torch.allclose(generator_loss(logits, "non_saturating"), -torch.log(p).mean())
    assert torch.allclose(generator_loss(logits, "minimax"), torch.log(1 - p).mean(), atol=1e-6)
    with pytest.raises(ValueError, match="minimax"):
        generator_loss(logits, "wasserstein")


def test_discriminator_step_uses_smoothed_labels_and_updates_only_d(blobs):
    generator, discriminator = tiny_gan()
    real = blobs.float_images(16)
    fake = generator(torch.randn(16, 16))
    with torch.no_grad():
        lr, lf = discriminator(real), discriminator(fake)
    expected = (F.binary_cross_entropy_with_logits(lr, torch.full_like(lr, 0.9))
                + F.binary_cross_entropy_with_logits(lf, torch.full_like(lf, 0.1)))
    g_before = [p.clone() for p in generator.parameters()]
    d_before = [p.clone() for p in discriminator.parameters()]
    opt = torch.optim.Adam(discriminator.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    loss, d_x, d_g_z = discriminator_step(discriminator, real, fake, opt, scaler,
                                          Labels(0.9, 0.1), no_amp)
    assert torch.allclose(loss, expected, atol=1e-5)
    assert torch.allclose(d_x, torch.sigmoid(lr).mean(), atol=1e-6)
    assert torch.allclose(d_g_z, torch.sigmoid(lf).mean(), atol=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(g_before, generator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d_before, discriminator.parameters()))


def test_generator_steps_raise_d_of_g_z_and_leave_d_untouched():
    generator, _ = tiny_gan()
    # A fixed judge whose verdict the generator can move.
    discriminator = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 1), nn.Flatten(0))
    opt = torch.optim.Adam(generator.parameters(), lr=2e-3, betas=(0.5, 0.999))
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    d_before = [p.clone() for p in discriminator.parameters()]
    z = torch.randn(32, 16)
    scores = []
    for _ in range(15):
        _, d_g_z = generator_step(discriminator, generator(z), opt, scaler, no_amp)
        scores.append(float(d_g_z))
    assert scores[-1] > scores[0] + 0.05
    assert all(torch.equal(a, b) for a, b in zip(d_before, discriminator.parameters()))
    assert all(p.requires_grad for p in discriminator.parameters())


def test_discriminator_wins_against_a_frozen_generator(blobs, tmp_path):
    generator, discriminator = tiny_gan()
    run = train_gan(generator, discriminator, blobs, epochs=4, lr_g=1e-12, lr_d=1e-3,
                    out_dir=tmp_path, **FAST)
    h = run.history
    assert h["loss_d"][-1] < h["loss_d"][0] - 0.3
    assert run.metrics["final_d_x"] > 0.6 > 0.4 > run.metrics["final_d_g_z1"]
    assert run.metrics["final_loss_d"] < math.log(4)


def test_run_writes_its_files_and_logs_in_the_tutorial_format(blobs, tmp_path, capsys):
    generator, discriminator = tiny_gan()
    run = train_gan(generator, discriminator, blobs, epochs=2, out_dir=tmp_path, **FAST)
    out = capsys.readouterr().out
    line = re.compile(r"^\[(\d+)/2\]\[(\d+)/4\]\tLoss_D: \d+\.\d{4}\tLoss_G: \d+\.\d{4}\t"
                      r"D\(x\): [01]\.\d{4}\tD\(G\(z\)\): [01]\.\d{4} / [01]\.\d{4}$", re.M)
    assert len(line.findall(out)) == 4  # iterations 2 and 4 of both epochs
    names = {p.name for p in run.dir.path.iterdir()}
    assert {"config.json", "history.json", "metrics.json", "real_vs_fake.png", "samples",
            "checkpoints"} <= names
    assert sorted(p.name for p in (run.dir.path / "samples").iterdir()) == ["epoch_001.png",
                                                                       "epoch_002.png"]
    history = json.loads((run.dir.path / "history.json").read_text())
    assert len(history["loss_d"]) == 8 and all(math.isfinite(v) for v in history["loss_g"])
    metrics = json.loads((run.dir.path / "metrics.json").read_text())
    assert metrics["images_per_s"] > 0 and metrics["steps"] == 8
    config = json.loads((run.dir.path / "config.json").read_text())
    assert config["generator"]["image_size"] == 32 and config["train"]["batch_size"] == 16


def test_runs_never_overwrite_each_other(blobs, tmp_path):
    dirs = {train_gan(*tiny_gan(), blobs, epochs=1, out_dir=tmp_path, **FAST).dir
            for _ in range(2)}
    assert len(dirs) == 2


def test_resume_after_epoch_k_is_bit_identical_to_an_uninterrupted_run(blobs, tmp_path):
    full = train_gan(*tiny_gan(), blobs, epochs=3, flip=True, out_dir=tmp_path / "a", **FAST)
    part = train_gan(*tiny_gan(), blobs, epochs=2, flip=True, out_dir=tmp_path / "b", **FAST)
    resumed = train_gan(*tiny_gan(seed=123), blobs, epochs=3, flip=True,
                        out_dir=tmp_path / "b", resume=True, **FAST)
    assert resumed.dir == part.dir
    for a, b in ((full.generator, resumed.generator), (full.discriminator, resumed.discriminator)):
        sa, sb = a.state_dict(), b.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert full.history["loss_d"] == resumed.history["loss_d"]


def test_resume_appends_to_the_run_record_instead_of_rewriting_it(blobs, tmp_path):
    first = train_gan(*tiny_gan(), blobs, epochs=1, out_dir=tmp_path, **FAST)
    before = json.loads((first.dir.path / "config.json").read_text())
    resumed = train_gan(*tiny_gan(), blobs, epochs=2, out_dir=tmp_path, resume=True, **FAST)
    after = json.loads((resumed.dir.path / "config.json").read_text())
    assert resumed.dir == first.dir
    assert after["train"] == before["train"]  # the record the run started with is kept
    (entry,) = after["resumes"]
    assert entry["after_epoch"] == 1 and entry["train"]["epochs"] == 2


def test_a_given_run_folder_is_trained_into_and_resumed_there(blobs, tmp_path):
    from labkit.train import RunDir

    chapter = RunDir.create("chapter", tmp_path)
    child = chapter.child("digits")
    run = train_gan(*tiny_gan(), blobs, epochs=1, run_dir=child, record={"chapter": "x"},
                    **FAST)
    assert run.dir == child and child.has_checkpoint
    assert child.read_config()["chapter"] == "x"
    again = train_gan(*tiny_gan(), blobs, epochs=2, run_dir=child, resume=True, **FAST)
    assert again.dir == child and again.metrics["epochs"] == 2
    assert [p.name for p in tmp_path.iterdir()] == [chapter.name]


def test_sampling_leaves_the_generator_exactly_as_it_was(blobs, tmp_path):
    run = train_gan(*tiny_gan(), blobs, epochs=1, out_dir=tmp_path, **FAST)
    before = {k: v.clone() for k, v in run.generator.state_dict().items()}
    mode = run.generator.training
    first = run.generate(16, seed=3)
    run.generate(40, seed=4)
    after = run.generator.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BatchNorm buffers too
    assert run.generator.training == mode
    assert torch.equal(run.generate(16, seed=3), first)  # so sampling is repeatable


def test_a_checkpoint_from_another_architecture_is_refused(blobs, tmp_path):
    train_gan(*tiny_gan(ngf=8), blobs, epochs=1, out_dir=tmp_path, **FAST)
    with pytest.raises(CheckpointMismatchError, match="ngf=8.*ngf=16|different generator"):
        train_gan(*tiny_gan(ngf=16), blobs, epochs=2, out_dir=tmp_path, resume=True, **FAST)


class NaNAfter(nn.Module):
    """A discriminator wrapper whose output turns NaN after `calls` forward passes."""

    def __init__(self, inner: nn.Module, calls: int):
        super().__init__()
        self.inner, self.calls, self.config = inner, calls, inner.config

    def forward(self, x):
        self.calls -= 1
        out = self.inner(x)
        return out * float("nan") if self.calls < 0 else out


def test_nan_guard_stops_and_keeps_the_last_good_checkpoint(blobs, tmp_path):
    generator, discriminator = tiny_gan()
    # 4 iterations per epoch, 3 D forwards each: the NaN appears in epoch 2.
    bad = NaNAfter(discriminator, calls=12 + 4)
    with pytest.raises(TrainingDiverged, match="epoch 2.*last good checkpoint"):
        train_gan(generator, bad, blobs, epochs=3, out_dir=tmp_path, **FAST)
    (run_dir,) = tmp_path.iterdir()
    state = ckpt.load(run_dir / "checkpoints" / "last.pt")
    assert state["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["generator"].values()
               if v.is_floating_point())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "diverged" and metrics["diverged_epoch"] == 2
    assert "epoch 2" in metrics["error"]


def test_checkpoints_load_without_running_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pt"
    torch.save({"format": ckpt.FORMAT, "x": Payload()}, path)
    with pytest.raises(ValueError, match="not a readable labkit checkpoint"):
        ckpt.load(path)


def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = ckpt.save_atomic({"format": ckpt.FORMAT, "epoch": 1}, tmp_path / "last.pt")

    def broken_save(obj, f):
        open(f, "wb").write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        ckpt.save_atomic({"format": ckpt.FORMAT, "epoch": 2}, path)
    assert ckpt.load(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_bf16_autocast_trains_on_cpu(blobs, tmp_path):
    run = train_gan(*tiny_gan(), blobs, epochs=1, amp=True, out_dir=tmp_path, **FAST)
    assert run.metrics["amp"] == "torch.bfloat16"
    assert all(math.isfinite(v) for v in run.history["loss_d"] + run.history["loss_g"])


def test_bad_settings_fail_before_any_work(blobs, tmp_path):
    with pytest.raises(ValueError, match="lr_d"):
        TrainConfig(lr_d=5.0)
    with pytest.raises(ValueError, match="loss"):
        TrainConfig(loss="hinged")  # hinge itself is a loss now (chapter 7)
    with pytest.raises(ValueError, match="fewer than batch_size"):
        train_gan(*tiny_gan(), blobs, batch_size=128, out_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="no checkpoints"):
        train_gan(*tiny_gan(), blobs, resume=str(tmp_path / "nowhere"), out_dir=tmp_path,
                  batch_size=16)
    assert not any(tmp_path.iterdir())


class LabelledGenerator(nn.Module):
    """A conditional toy generator: the class sets a constant offset of the image."""

    def __init__(self, nz: int = 8, classes: int = 3, size: int = 8):
        super().__init__()
        self.nz, self.num_classes, self.size = nz, classes, size
        self.config = {"family": "toy-cgan", "nz": nz}
        self.linear = nn.Linear(nz, size * size)
        self.offset = nn.Embedding(classes, 1)

    def forward(self, z, labels):
        x = self.linear(z) + self.offset(labels)
        return torch.tanh(x).view(len(z), 1, self.size, self.size)


class RecordingDiscriminator(nn.Module):
    """A conditional toy discriminator that remembers the labels of every call."""

    def __init__(self, size: int = 8, classes: int = 3):
        super().__init__()
        self.config = {"family": "toy-cgan"}
        self.linear = nn.Linear(size * size, 1)
        self.embed = nn.Embedding(classes, 1)
        self.seen: list[torch.Tensor] = []

    def forward(self, x, labels):
        self.seen.append(labels.clone())
        return (self.linear(x.flatten(1)) + self.embed(labels)).view(-1)


def test_conditional_training_feeds_the_batch_labels_to_both_networks(tmp_path):
    from labkit.data import ImageSet

    images = torch.randint(0, 256, (48, 1, 8, 8), dtype=torch.uint8)
    labels = torch.arange(48) % 3
    data = ImageSet(images, labels, ["a", "b", "c"], name="toy")
    generator, discriminator = LabelledGenerator(), RecordingDiscriminator()
    run = train_gan(generator, discriminator, data, epochs=1, batch_size=16, log_every=10,
                    progress=False, out_dir=tmp_path, num_samples=9)
    seen = discriminator.seen
    assert len(seen) == 9  # 3 iterations × (real, fake, generator step)
    for real_labels, fake_labels, g_labels in zip(seen[0::3], seen[1::3], seen[2::3]):
        assert torch.equal(real_labels, fake_labels) and torch.equal(real_labels, g_labels)
    # The labels D saw for real images are the labels of those images in the data.
    assert sorted(torch.cat(seen[0::3]).tolist()) == sorted(labels.tolist())
    # generate() conditions on the classes asked for: class offsets make the rows differ.
    a = run.generate(4, seed=1, labels=torch.zeros(4, dtype=torch.long))
    b = run.generate(4, seed=1, labels=torch.full((4,), 2))
    assert a.shape == (4, 1, 8, 8) and not torch.equal(a, b)
    assert (run.dir.path / "samples" / "epoch_001.png").is_file()


def test_runs_go_to_google_drive_when_it_is_mounted(tmp_path, monkeypatch):
    from labkit import colab
    from labkit.train import rundir

    monkeypatch.delenv("LABKIT_RUNS", raising=False)
    monkeypatch.setattr(colab, "MY_DRIVE", tmp_path / "MyDrive")
    assert rundir.runs_parent() == rundir.Path("runs")
    (tmp_path / "MyDrive").mkdir()
    assert rundir.runs_parent() == tmp_path / "MyDrive" / "gan-lab" / "runs"
    monkeypatch.setenv("LABKIT_RUNS", str(tmp_path / "elsewhere"))
    assert rundir.runs_parent() == tmp_path / "elsewhere"
    assert rundir.runs_parent(tmp_path / "given") == tmp_path / "given"


class TinyUpscaler(nn.Module):
    """A ×2 super-resolution toy: nearest upsampling and a 3×3 convolution."""

    def __init__(self):
        super().__init__()
        self.config = {"family": "toy-sr"}
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, low):
        return self.conv(F.interpolate(low, scale_factor=2, mode="nearest"))


class TinyCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.config = {"family": "toy-sr"}
        self.linear = nn.Linear(32 * 32, 1)

    def forward(self, x):
        return self.linear(x.flatten(1)).view(-1)


def test_super_resolution_pretraining_fits_the_content_and_leaves_d_alone(blobs, tmp_path,
                                                                         capsys):
    from labkit.data import imresize
    from labkit.train import SuperResolution

    torch.manual_seed(0)
    task = SuperResolution(lambda hr: imresize(hr, 0.5), F.mse_loss, adversarial_weight=0.0)
    critic = TinyCritic()
    before = [p.clone() for p in critic.parameters()]
    run = train_gan(TinyUpscaler(), critic, blobs, epochs=3, task=task, lr_g=1e-2,
                    out_dir=tmp_path, **FAST)
    content = run.history["loss_content"]
    assert content[-1] < content[0] / 2
    assert run.history["loss_g"] == pytest.approx(content)  # no adversarial term
    assert all(torch.equal(a, b) for a, b in zip(before, critic.parameters()))
    assert set(run.history["d_x"]) == {0.0}
    log = capsys.readouterr().out  # no D columns of zeros that would read as a dead D
    assert "\tContent: " in log and "Loss_D" not in log and "content loss only" in log
    assert run.generate(4).shape == (4, 1, 32, 32)
    assert (run.dir.path / "samples" / "epoch_003.png").is_file()


def test_super_resolution_gan_adds_the_weighted_adversarial_loss(blobs, tmp_path, capsys):
    from labkit.data import imresize
    from labkit.train import SuperResolution

    torch.manual_seed(0)
    task = SuperResolution(lambda hr: imresize(hr, 0.5), F.mse_loss, adversarial_weight=0.5)
    critic = TinyCritic()
    before = [p.clone() for p in critic.parameters()]
    run = train_gan(TinyUpscaler(), critic, blobs, epochs=1, task=task, out_dir=tmp_path,
                    **FAST)
    h = run.history
    assert any(not torch.equal(a, b) for a, b in zip(before, critic.parameters()))
    # Loss_G = content + 0.5 × adversarial, and the adversarial part is -log D(G(x)) > 0.
    assert all(g > c for g, c in zip(h["loss_g"], h["loss_content"]))
    assert "\tContent: " in capsys.readouterr().out


def test_resume_refuses_a_run_trained_with_other_settings_and_leaves_it_alone(blobs, tmp_path):
    first = train_gan(*tiny_gan(), blobs, epochs=1, out_dir=tmp_path, **FAST)
    record = (first.dir.path / "config.json").read_text()
    with pytest.raises(ValueError, match=r"other settings \(lr_d: 0.0002 → 0.001\)"):
        train_gan(*tiny_gan(), blobs, epochs=2, lr_d=1e-3, out_dir=tmp_path, resume=True,
                  **FAST)
    assert (first.dir.path / "config.json").read_text() == record
    assert [p.name for p in tmp_path.iterdir()] == [first.dir.name]


def test_resume_continues_only_the_run_created_last(blobs, tmp_path):
    older = train_gan(*tiny_gan(), blobs, epochs=1, out_dir=tmp_path, **FAST)
    newer = train_gan(*tiny_gan(), blobs, epochs=1, lr_g=1e-3, out_dir=tmp_path, **FAST)
    with pytest.raises(ValueError, match=f"{newer.dir.name} was trained with other settings"):
        train_gan(*tiny_gan(), blobs, epochs=2, out_dir=tmp_path, resume=True, **FAST)
    assert older.dir.read_metrics()["epochs"] == 1  # the older run is never taken over
    resumed = train_gan(*tiny_gan(), blobs, epochs=2, out_dir=tmp_path,
                        resume=str(older.dir.path), **FAST)  # unless named
    assert resumed.dir == older.dir and resumed.metrics["epochs"] == 2


def test_a_run_killed_before_its_first_checkpoint_starts_afresh_and_leaves_older_ones(
        blobs, tmp_path, capsys):
    from labkit.train import RunDir

    older = train_gan(*tiny_gan(), blobs, epochs=1, out_dir=tmp_path, **FAST)
    before = {p: p.read_bytes() for p in older.dir.path.rglob("*") if p.is_file()}
    killed = RunDir.create("run", tmp_path)  # created, then killed in its first checkpoint write
    (killed.path / "checkpoints").mkdir()
    half_written = killed.path / "checkpoints" / ".last.pt.tmp"
    half_written.write_bytes(b"PK\x03\x04 cut short")
    fresh = train_gan(*tiny_gan(), blobs, epochs=2, out_dir=tmp_path, resume=True, **FAST)
    assert "stopped before its first checkpoint; starting a fresh run" in capsys.readouterr().out
    assert not half_written.exists()  # no half-written file is left behind
    assert fresh.dir not in (older.dir, killed) and fresh.metrics["epochs"] == 2
    assert {p: p.read_bytes() for p in older.dir.path.rglob("*") if p.is_file()} == before


def test_a_folder_being_trained_is_not_trained_by_a_second_process(blobs, tmp_path):
    from labkit.train import RunDir
    from labkit.train.rundir import RunInUse

    pytest.importorskip("fcntl")
    child = RunDir.create("run", tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from labkit.train import RunDir\n"
        f"with RunDir({str(child.path)!r}).lock():\n"
        "    print('locked', flush=True); time.sleep(30)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunInUse, match="is being trained by process"):
            train_gan(*tiny_gan(), blobs, epochs=1, run_dir=child, **FAST)
    finally:
        holder.kill()
        holder.wait()
    train_gan(*tiny_gan(), blobs, epochs=1, run_dir=child, **FAST)  # the lock died with it


def test_half_written_files_of_a_killed_process_are_removed_on_resume(blobs, tmp_path):
    run = train_gan(*tiny_gan(), blobs, epochs=1, out_dir=tmp_path, **FAST)
    stale = run.dir.path / "checkpoints" / ".last.pt.123-abcd.tmp"
    stale.write_bytes(b"half a checkpoint")
    train_gan(*tiny_gan(), blobs, epochs=2, out_dir=tmp_path, resume=True, **FAST)
    assert not stale.exists()


def test_a_saturated_run_finishes_with_a_warning_in_its_metrics(blobs, tmp_path):
    class Rejecting(nn.Module):  # a discriminator that rejects everything, untrainable
        def __init__(self):
            super().__init__()
            self.config = {"family": "rejecting"}
            self.bias = nn.Parameter(torch.tensor(-30.0))

        def forward(self, x):
            return self.bias + 1e-3 * x.flatten(1).mean(1)

    generator, _ = tiny_gan()
    with pytest.warns(UserWarning) as caught:
        run = train_gan(generator, Rejecting(), blobs, epochs=1, lr_d=1e-9, out_dir=tmp_path,
                        **FAST)
    messages = [str(w.message) for w in caught]
    assert any("saturated: D(G(z)) stayed below 0.001" in m for m in messages)
    metrics = json.loads((run.dir.path / "metrics.json").read_text())
    assert metrics["status"] == "finished" and metrics["warnings"][0].startswith("saturated")
    healthy = train_gan(*tiny_gan(), blobs, epochs=1, out_dir=tmp_path, **FAST)
    assert "warnings" not in healthy.metrics


def test_mixed_precision_is_fp16_on_a_gpu_that_would_only_emulate_bf16(monkeypatch):
    """A Colab T4 (compute capability 7.5): torch reports bf16 as supported through emulation,
    but cuDNN has no bf16 convolutions there; the engine must pick fp16 (with its scaler)."""
    from labkit.train.device import amp_dtype

    def t4(including_emulation=True):
        return including_emulation  # emulated only
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", t4)
    assert amp_dtype(torch.device("cuda"), "auto") == torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert amp_dtype(torch.device("cuda"), "auto") == torch.bfloat16  # an A100, an H100
    assert amp_dtype(torch.device("cpu"), "auto") is None
