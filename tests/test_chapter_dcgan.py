"""Chapter 2 (labkit.chapters.dcgan) without the notebook: the full profile is seed 000's
regime, the reference set of the quality metric, the training seeds the claims rest on."""

from __future__ import annotations

import pytest
import torch

from labkit.chapters import dcgan
from labkit.data import load


@pytest.fixture(autouse=True)
def offline_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))


def test_the_full_profile_is_seed_000s_regime():
    """Seed 000: 4000 CelebA images at 64×64, batches of 128, 15 trainings of 10 epochs."""
    full = dcgan.Config.resolve("full")
    seed = dcgan.SEED_REGIME
    assert (full.dataset, full.subset, full.image_size, full.channels) == (
        "celeba", 4000, 64, 3)
    assert seed["subset"] == 4000 and seed["image_size"] == 64 and seed["batch_size"] == 128
    assert (seed["trainings"], seed["epochs_per_training"]) == (15, 10)
    assert full.subset == seed["subset"] and full.image_size == seed["image_size"]
    assert full.batch_size == seed["batch_size"]
    assert full.epochs == seed["trainings"] * seed["epochs_per_training"] == 150
    assert full.data_repeats == 1 and not full.flip  # one pass per epoch, no augmentation
    assert (full.nz, full.ngf, full.ndf, full.lr_d, full.lr_g, full.beta1) == (
        100, 64, 64, 2e-4, 2e-4, 0.5)
    # FID after each of the seed's 10-epoch trainings, against 10,000 real images (the subset
    # among them), on 10,000 generated
    assert full.eval_every == seed["epochs_per_training"]
    assert full.metric == "fid" and full.eval_samples == full.reference_images == 10_000
    assert full.reference_images > full.subset
    # gpu-offline trains on the offline faces: no CelebA subset, no larger reference set
    offline = dcgan.Config.resolve("gpu-offline")
    assert offline.subset is None and offline.reference_images is None


def test_the_reference_set_is_the_training_images_unless_a_larger_one_is_asked():
    cfg = dcgan.Config.resolve("smoke", eval_samples=40)
    cfg, data = dcgan.load_data(cfg)
    assert len(dcgan.reference_images(cfg, data)) == 40
    small = dcgan.Config.resolve("smoke", subset=20, reference_images=60)
    small, data = dcgan.load_data(small)
    assert len(data) == 20
    reference = dcgan.reference_images(small, data)
    assert reference.shape[0] == 60 and reference.dtype == torch.float32
    # the first 60 images of the split: the 20 training images are its first 20
    expected = load("faces", split="all", image_size=32, channels=1, subset=60)
    assert torch.equal(reference, expected.float_images())
    assert torch.equal(reference[:20], data.float_images())
