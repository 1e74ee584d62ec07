"""The `labkit` command line: every chapter runs headless; usage errors are one clear line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from labkit.cli import main


def test_datasets_lists_every_dataset_with_its_offline_flag(capsys):
    main(["datasets"])
    out = capsys.readouterr().out
    for name in ("celeba", "cifar10", "emnist", "div2k", "anime", "folder"):
        assert f"{name:<8} download" in out
    for name in ("digits", "faces", "photos"):
        assert f"{name:<8} offline" in out


def test_run_trains_the_chapter_with_typed_parameters_and_its_seed(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    args = ["run", "dcgan", "--profile", "smoke", "-p", "epochs=1", "-p", "data_repeats=1",
            "-p", "lr_d=3e-4", "-p", "replicates=1"]
    main(args + ["-p", f"out_dir={tmp_path / 'a'}"])
    main(args + ["-p", f"out_dir={tmp_path / 'b'}"])
    (a,), (b,) = (tmp_path / "a").iterdir(), (tmp_path / "b").iterdir()
    config = json.loads((a / "config.json").read_text())
    assert config["train"]["epochs"] == 1 and config["train"]["lr_d"] == 3e-4
    assert config["chapter"] == "dcgan" and config["parameters"]["seed"] == 0
    out = capsys.readouterr().out
    assert f"run folder: {a}" in out and "claim d_loss_low: inconclusive (1 seed(s))" in out
    claims = json.loads((a / "claims.json").read_text())
    assert {c["id"] for c in claims} >= {"d_loss_low", "d_loss_stable"}
    assert all(c["seeds"] == 1 and c["verdict"] == "inconclusive" for c in claims)
    # The same seed twice: the same training, to the last logged number.
    history = [json.loads((run / "history.json").read_text()) for run in (a, b)]
    assert history[0]["loss_d"] == history[1]["loss_d"]


@pytest.mark.parametrize("argv, message", [
    (["train"], "labkit: error: unknown command 'train'"),
    (["run", "dcgan", "--profile", "smoke", "-p", "epochs=many"],
     "labkit run: error: parameter epochs='many' should be int"),
    (["run", "dcgan", "--profile", "smoke", "-p", "epcohs=3"],
     "labkit run: error: unknown parameter(s) 'epcohs' (did you mean 'epochs'?)"),
    (["run", "dcgan", "-p", "epochs"], "labkit run: error: -p 'epochs': expected KEY=VALUE"),
    (["run", "nine"], "labkit run: error: unknown chapter 'nine'; choose one of: 1 theory"),
    (["run", "dcgan", "--profile", "fast"], "labkit run: error: unknown profile 'fast'"),
])
def test_usage_errors_exit_2_with_one_line_and_no_traceback(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_help_exits_0():
    done = subprocess.run([sys.executable, "-m", "labkit", "--help"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and "run CHAPTER" in done.stdout
    done = subprocess.run([sys.executable, "-m", "labkit", "run", "--help"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "chapters: 1 theory, 2 dcgan" in done.stdout


def test_chapters_are_found_by_name_number_and_notebook():
    from labkit import chapters

    dcgan = chapters.get("dcgan")
    assert chapters.get(2) is dcgan and chapters.get("02") is dcgan
    assert chapters.get("02_dcgan_celeba") is dcgan and dcgan.NUMBER == 2
