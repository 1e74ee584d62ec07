"""Profile resolution: auto, precedence of explicit parameters, and validation."""

import pytest

from labkit import profiles


def test_auto_reads_the_environment_then_falls_back_to_cpu(monkeypatch):
    monkeypatch.setenv("LABKIT_PROFILE", "smoke")
    assert profiles.profile_name("auto") == "smoke"
    monkeypatch.delenv("LABKIT_PROFILE")
    monkeypatch.setattr(profiles.torch.cuda, "is_available", lambda: False)
    assert profiles.profile_name("auto") == "cpu"
    monkeypatch.setattr(profiles.torch.cuda, "is_available", lambda: True)
    assert profiles.profile_name("auto") == "full"


def test_explicit_parameters_win_and_none_means_profile_default():
    cfg = profiles.resolve("dcgan", "full", epochs=3, subset=4000, batch_size=None)
    assert (cfg.profile, cfg.epochs, cfg.subset, cfg.batch_size) == ("full", 3, 4000, 128)
    assert cfg.dataset == "celeba" and cfg.image_size == 64 and cfg.lr_d == 2e-4
    assert profiles.resolve("dcgan", "cpu").dataset == "faces"


def test_seed_hyper_parameters_are_the_full_profile():
    full = profiles.resolve("dcgan", "full")
    assert (full.batch_size, full.nz, full.ngf, full.ndf, full.beta1) == (128, 100, 64, 64, 0.5)


@pytest.mark.parametrize("bad, message", [
    ({"epochs": "ten"}, "epochs='ten' should be of type int"),
    ({"subset": "all"}, "subset"),
    ({"flip": 1}, "flip"),
    ({"lr_d": -1.0}, "negative"),
    ({"colour": True}, "unknown parameter"),
])
def test_bad_parameters_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        profiles.resolve("dcgan", "smoke", **bad)


def test_unknown_profile_and_chapter():
    with pytest.raises(ValueError, match="smoke"):
        profiles.resolve("dcgan", "fast")
    with pytest.raises(ValueError, match="dcgan"):
        profiles.resolve("wgan", "cpu")


def test_a_resolved_configuration_is_a_copy_the_notebook_may_change():
    cfg = profiles.resolve("improved_dcgan", "cpu")
    cfg.grid["grids"].clear()
    cfg.eval_epochs.append(99)
    again = profiles.resolve("improved_dcgan", "full")
    assert again.grid["grids"] and profiles.resolve("improved_dcgan", "cpu").grid["grids"]
    assert 99 not in profiles.resolve("improved_dcgan", "cpu").eval_epochs
    assert again.grid == profiles.resolve("improved_dcgan", "cpu").grid  # one grid, shared
