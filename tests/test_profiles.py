"""Profiles and chapter configurations: auto, precedence of explicit parameters, validation."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from labkit import profiles
from labkit.profiles import ChapterConfig, knob


@dataclass
class Toy(ChapterConfig):
    """A configuration with each kind of knob."""

    epochs: int = knob(smoke=1, cpu=5, full=20, low=1)
    lr: float = knob(2e-4, low=0, high=1)
    metric: str = knob(smoke="swd", cpu="swd", full="fid", offline="swd", choices=("swd", "fid"))
    subset: int | None = knob(None, low=1)
    sizes: list[int] = knob([32, 64], choices=(32, 64, 96))
    grid: dict | None = knob(None)

    def validate(self) -> None:
        super().validate()
        if self.metric == "fid" and self.epochs < 2:
            raise ValueError(f"metric='fid' needs epochs >= 2, got epochs={self.epochs}")


def test_auto_reads_the_environment_then_falls_back_to_cpu(monkeypatch):
    monkeypatch.setenv("LABKIT_PROFILE", "smoke")
    assert profiles.profile_name("auto") == "smoke"
    monkeypatch.delenv("LABKIT_PROFILE")
    monkeypatch.setattr(profiles.torch.cuda, "is_available", lambda: False)
    assert profiles.profile_name("auto") == "cpu"
    monkeypatch.setattr(profiles.torch.cuda, "is_available", lambda: True)
    assert profiles.profile_name("auto") == "full"


def test_gpu_offline_is_fulls_scale_with_the_offline_values_and_fallback_only_from_auto(
        monkeypatch):
    offline = Toy.resolve("gpu-offline")
    assert (offline.epochs, offline.metric) == (20, "swd")  # full's epochs, its offline metric
    monkeypatch.delenv("LABKIT_PROFILE", raising=False)
    monkeypatch.setattr(profiles, "gpu_available", lambda: True)
    chosen = Toy.resolve("auto", epochs=3, lr=2e-4)
    assert chosen.profile == "full" and chosen.fallback  # auto chose full: may fall back
    assert not Toy.resolve("full").fallback  # chosen by hand: an error stops the notebook
    monkeypatch.setenv("LABKIT_PROFILE", "full")
    assert not Toy.resolve("auto").fallback
    twin = chosen.offline()
    assert (twin.profile, twin.metric, twin.epochs, twin.lr) == ("gpu-offline", "swd", 3, 2e-4)
    assert set(twin.by_hand) == {"epochs", "lr"} and "fallback" not in twin.to_dict()
    assert chosen.replace(subset=5).fallback and "subset" in chosen.replace(subset=5).by_hand


def test_obtain_falls_back_only_when_auto_chose_full(monkeypatch, capsys):
    from labkit.chapters.common import obtain
    from labkit.data import DatasetNotFoundError

    def load(cfg):
        if cfg.metric == "fid":  # the full profile's data: missing
            raise DatasetNotFoundError("The automatic download of X failed: refused\nsteps")
        return f"offline data at {cfg.epochs} epochs"

    monkeypatch.delenv("LABKIT_PROFILE", raising=False)
    monkeypatch.setattr(profiles, "gpu_available", lambda: True)
    cfg, data = obtain(Toy.resolve("auto"), load)
    assert (cfg.profile, data) == ("gpu-offline", "offline data at 20 epochs")
    out = capsys.readouterr().out
    assert out.count("could not be obtained") == 1 and "download of X failed" in out
    with pytest.raises(DatasetNotFoundError, match="refused"):
        obtain(Toy.resolve("full"), load)


def test_profile_values_side_by_side_and_explicit_parameters_win():
    assert Toy.resolve("smoke").epochs == 1 and Toy.resolve("full").epochs == 20
    cfg = Toy.resolve("full", epochs=3, subset=4000, lr=None, sizes=[96])
    assert (cfg.profile, cfg.epochs, cfg.subset, cfg.lr, cfg.sizes) == ("full", 3, 4000, 2e-4,
                                                                         [96])
    assert cfg.changed() == {"epochs": 3, "subset": 4000, "sizes": [96]}
    assert Toy.names()[:5] == ("seed", "device", "data_root", "out_dir", "resume")
    assert "profile" not in Toy.names()


def test_ints_are_accepted_for_floats():
    cfg = Toy.resolve("cpu", lr=1)
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float)


@pytest.mark.parametrize("bad, message", [
    ({"epochs": "ten"}, r"epochs='ten' should be int"),
    ({"subset": "all"}, r"subset='all' should be int or None"),
    ({"epochs": True}, r"epochs=True should be int"),
    ({"lr": -1.0}, r"lr=-1.0 must lie in \[0, 1\]"),
    ({"epochs": 0}, r"epochs=0 must lie in \[1, inf\]"),
    ({"metric": "is"}, r"metric='is': allowed values are \['swd', 'fid'\]"),
    ({"sizes": [32, 100]}, r"sizes=\[32, 100\]: allowed values"),
    ({"sizes": "32"}, r"sizes='32' should be a list of int"),
    ({"colour": True}, r"unknown parameter\(s\) 'colour' for"),
    ({"epohcs": 3}, r"unknown parameter\(s\) 'epohcs' \(did you mean 'epochs'\?\)"),
    ({"device": "tpu"}, r"device='tpu'"),
    ({"metric": "fid", "epochs": 1}, r"metric='fid' needs epochs >= 2"),
])
def test_bad_parameters_are_named_with_what_is_allowed(bad, message):
    with pytest.raises(ValueError, match=message):
        Toy.resolve("smoke", **bad)


def test_unknown_profile():
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        Toy.resolve("fast")


def test_a_knob_needs_a_value_for_every_profile():
    with pytest.raises(TypeError, match=r"no value for the profile\(s\) \['full'\]"):
        knob(smoke=1, cpu=2)


def test_a_resolved_configuration_is_a_copy_the_notebook_may_change():
    cfg = Toy.resolve("cpu")
    cfg.sizes.append(96)
    assert Toy.resolve("cpu").sizes == [32, 64]
    assert cfg.replace(epochs=7).epochs == 7 and cfg.replace(epochs=7).sizes == [32, 64, 96]
    with pytest.raises(ValueError, match="epochs=0"):
        cfg.replace(epochs=0)


def test_every_chapter_config_resolves_at_every_profile():
    from labkit import chapters

    for name in chapters.names():
        config = chapters.get(name).Config
        for profile in profiles.PROFILES:
            cfg = config.resolve(profile)
            assert cfg.profile == profile and set(config.names()) <= set(cfg.to_dict())


def test_a_misspelled_notebook_parameter_is_refused_not_ignored():
    """papermill injects `-p epcohs 3` as a cell of assignments headed "# Parameters"; IPython
    keeps it in `In`. A name there that is no parameter stops the run."""
    injected = '# Parameters\nprofile = "smoke"\nepcohs = 3\n'
    namespace = {"In": ["", "profile = 'auto'\nepochs = None", injected], "epochs": None,
                 "epcohs": 3, "profile": "smoke"}
    with pytest.raises(ValueError, match=r"'epcohs' \(did you mean 'epochs'\?\)"):
        Toy.from_notebook("smoke", namespace)
    namespace["In"][2] = '# Parameters\nprofile = "smoke"\nepochs = 3\n'
    namespace["epochs"] = 3
    assert Toy.from_notebook("smoke", namespace).epochs == 3
    assert Toy.from_notebook("cpu", {"epochs": None, "steps": 9}).epochs == 5  # no history
