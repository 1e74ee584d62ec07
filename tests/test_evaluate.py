"""The engine's Evaluator with labkit's scorers: evaluations recorded in the history before the
epoch's checkpoint (so a resume keeps them), the best checkpoint kept, sample-size warnings."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from labkit import data as datasets
from labkit.metrics import MetricResult, scorer
from labkit.models import dcgan
from labkit.train import Evaluator, train_gan
from labkit.train import checkpoint as ckpt

FAST_SWD = dict(directions=128, repeats=2, patches_per_image=32)


@pytest.fixture(scope="module", autouse=True)
def offline_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABKIT_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def faces():
    return datasets.load("faces", split="all")


def train_tiny(tmp_path, faces, callbacks, epochs=3, **overrides):
    torch.manual_seed(0)
    generator, discriminator = dcgan(image_size=32, channels=1, nz=16, ngf=8, ndf=8)
    settings = dict(epochs=epochs, batch_size=16, progress=False, out_dir=str(tmp_path),
                    log_every=100, num_samples=16, device="cpu")
    return train_gan(generator, discriminator, faces, callbacks=callbacks,
                     **{**settings, **overrides})


def test_evaluator_records_each_evaluation_and_keeps_the_best_checkpoint(tmp_path, faces,
                                                                        capsys):
    evaluate = Evaluator(scorer("swd", **FAST_SWD), faces.float_images(), every=2,
                         n_samples=64)
    run = train_tiny(tmp_path, faces, (evaluate,))
    entries = run.history["metrics"]["swd"]
    assert [e["epoch"] for e in entries] == [2, 3]  # every 2nd epoch and the last
    assert all(e["n_fake"] == 64 and e["name"] == "swd" for e in entries)
    best = min(entries, key=lambda e: e["value"])
    saved = json.loads((run.dir.path / "metrics.json").read_text())
    assert saved["metric_swd"] == entries[-1]["value"]
    assert (saved["metric_swd_best"], saved["metric_swd_best_epoch"]) == (best["value"],
                                                                          best["epoch"])
    assert ckpt.load(run.dir.best_path)["epoch"] == best["epoch"]
    on_disk = json.loads((run.dir.path / "history.json").read_text())
    assert [e["epoch"] for e in on_disk["metrics"]["swd"]] == [2, 3]
    # The checkpoint of an evaluated epoch holds that epoch's evaluation: a resume keeps it.
    in_checkpoint = ckpt.load(run.checkpoint_path)["history"]["metrics"]["swd"]
    assert [e["epoch"] for e in in_checkpoint] == [2, 3]
    assert "epoch 3: swd = " in capsys.readouterr().out
    assert not list((run.dir.path / "checkpoints").glob(".*tmp*"))


def test_a_metric_that_only_gets_worse_keeps_best_at_epoch_one(tmp_path, faces):
    def worsening(real, fake):
        worsening.calls += 1
        return MetricResult("worse", float(worsening.calls), len(real), len(fake), "count")

    worsening.calls = 0
    run = train_tiny(tmp_path, faces, (Evaluator(worsening, faces.float_images(8)),))
    assert [e["value"] for e in run.history["metrics"]["worsening"]] == [1.0, 2.0, 3.0]
    assert run.metrics["metric_worsening_best_epoch"] == 1
    assert ckpt.load(run.dir.best_path)["epoch"] == 1
    assert ckpt.load(run.checkpoint_path)["epoch"] == 3


def test_a_higher_is_better_metric_and_chosen_epochs(tmp_path, faces):
    values = iter([0.2, 0.9, 0.5, 0.7])

    def accuracy(real, fake):
        return next(values)

    evaluate = Evaluator(accuracy, faces.float_images(8), epochs={1, 2, 3}, mode="max")
    run = train_tiny(tmp_path, faces, (evaluate,), epochs=4)
    assert [e["epoch"] for e in run.history["metrics"]["accuracy"]] == [1, 2, 3, 4]
    assert run.metrics["metric_accuracy_best_epoch"] == 2
    assert run.metrics["metric_accuracy_mode"] == "max"  # so reports know which way is better
    assert ckpt.load(run.dir.best_path)["epoch"] == 2


def test_evaluation_after_a_resume_continues_the_best_so_far(tmp_path, faces):
    values = iter([0.5, 0.1, 0.3])

    def score(real, fake):
        return next(values)

    train_tiny(tmp_path, faces, (Evaluator(score, faces.float_images(8)),), epochs=2)
    resumed = train_tiny(tmp_path, faces, (Evaluator(score, faces.float_images(8)),), epochs=3,
                         resume=True)
    assert [e["value"] for e in resumed.history["metrics"]["score"]] == [0.5, 0.1, 0.3]
    assert resumed.metrics["metric_score_best_epoch"] == 2  # remembered across the resume
    assert ckpt.load(resumed.dir.best_path)["epoch"] == 2


def test_the_evaluator_refuses_to_keep_a_best_checkpoint_chosen_on_too_few_images(faces):
    """The sample-size rule: below the metric's min_samples (FID: 2,048) or the one given, an
    evaluator that keeps the best checkpoint refuses before training; one that only records
    the curve warns."""
    real = faces.float_images()
    with pytest.raises(ValueError, match=r"needs at least 2048 of each.*keep_best=False"):
        Evaluator(scorer("fid"), real, n_samples=10)
    with pytest.warns(UserWarning, match="rank-deficient"):
        recorder = Evaluator(scorer("fid"), real, n_samples=10, keep_best=False)
    assert recorder.min_samples == 2048
    with pytest.raises(ValueError, match="10 generated and 100 real images, but swd needs "
                                         "at least 50"):
        Evaluator(scorer("swd"), real, n_samples=10, min_samples=50)
    with pytest.raises(ValueError, match="60 generated and 20 real"):  # the real side counts
        Evaluator(scorer("swd"), real[:20], n_samples=60, min_samples=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Evaluator(scorer("swd"), real, n_samples=10)  # SWD states no minimum of its own
        assert Evaluator(scorer("swd"), real, n_samples=50, min_samples=50).min_samples == 50


def test_scorers_name_their_metric_and_fix_their_options(faces):
    swd = scorer("swd", seed=3, **FAST_SWD)
    assert (swd.name, swd.mode, swd.min_samples) == ("swd", "min", 0)
    real = faces.float_images(32)
    result = swd(real, real.flip(-1))
    assert result.extra["seed"] == 3 and result.extra["directions"] == 128
    assert scorer("fid").min_samples == 2048
    with pytest.raises(ValueError, match="unknown metric 'fd'"):
        scorer("fd")
