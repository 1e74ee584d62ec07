"""The `labkit` command line."""

import json

import pytest

from labkit.cli import main


def test_datasets_lists_every_dataset_with_its_offline_flag(capsys):
    main(["datasets"])
    out = capsys.readouterr().out
    for name in ("celeba", "cifar10", "emnist", "div2k", "anime", "folder"):
        assert f"{name:<8} download" in out
    for name in ("digits", "faces", "photos"):
        assert f"{name:<8} offline" in out


def test_run_trains_the_chapter_with_typed_parameters(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    main(["run", "dcgan", "--profile", "smoke", "-p", "epochs=1", "-p", "data_repeats=1",
          "-p", f"out_dir={tmp_path / 'runs'}", "-p", "lr_d=3e-4"])
    (run,) = (tmp_path / "runs").iterdir()
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["epochs"] == 1 and config["train"]["lr_d"] == 3e-4
    assert f"run folder: {run}" in capsys.readouterr().out


def test_bad_commands_and_parameters_are_refused(capsys):
    with pytest.raises(SystemExit):
        main(["train"])
    with pytest.raises(ValueError, match="epochs='many' should be of type int"):
        main(["run", "dcgan", "--profile", "smoke", "-p", "epochs=many"])
    with pytest.raises(SystemExit):
        main(["run", "dcgan", "-p", "epochs"])
