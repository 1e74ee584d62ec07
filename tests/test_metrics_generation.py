"""Generation metrics: FID/KID (torchmetrics), SWD, classifier metrics, memorisation and the
scorers the training engine's Evaluator calls. Offline: Inception weights are never downloaded."""

from __future__ import annotations

import socket
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance
from torchvision.transforms.functional import gaussian_blur

from labkit import data as datasets
from labkit.metrics import (
    WEIGHTS_ENV,
    InceptionWeightsUnavailable,
    class_accuracy,
    classifier_fid,
    fid,
    kid,
    memorisation,
    swd,
    train_classifier,
)
from labkit.metrics.features import INCEPTION_FILE, INCEPTION_URL
from labkit.metrics.swd import resolutions
from labkit.viz import plot_closest_pairs

FAST_SWD = dict(directions=128, repeats=2, patches_per_image=32)


@pytest.fixture(scope="module", autouse=True)
def offline_cache(tmp_path_factory):
    """Datasets decoded into a private cache; no test reads or writes the user's folders."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABKIT_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch_home")))
        mp.delenv(WEIGHTS_ENV, raising=False)
        yield


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits", split="train"), datasets.load("digits", split="test")


@pytest.fixture(scope="module")
def classifier(digits):
    """Trained once. On one thread: on a 2-core machine shared with other jobs, two OpenMP
    threads spin at every barrier of the many small ops and training takes 10-40× longer."""
    train, test = digits
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        started = time.perf_counter()
        model = train_classifier(train, test_set=test, seed=0, device="cpu")
        model.seconds = time.perf_counter() - started
    finally:
        torch.set_num_threads(threads)
    return model


@pytest.fixture(scope="module")
def faces():
    return datasets.load("faces", split="all").float_images()


@pytest.fixture
def no_network(monkeypatch):
    """Every attempt to open a connection or resolve a name fails at once."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return calls


# ------------------------------------------------------------------------ FID / KID


def random_projection(dim: int = 16, in_features: int = 1024) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, dim))


def test_fid_and_kid_with_a_custom_extractor_equal_torchmetrics_called_directly(digits):
    train, test = digits
    real, fake = test.float_images(), train.float_images(300)
    fake = (fake + 0.3).clamp(-1, 1)  # brighter digits
    extractor = random_projection()

    direct = FrechetInceptionDistance(feature=extractor, normalize=True, input_img_size=(1, 32, 32))
    direct.update(real, real=True)
    direct.update(fake, real=False)
    result = fid(real, fake, features=extractor, batch_size=100)
    assert result.value == pytest.approx(float(direct.compute()), rel=1e-5)
    assert (result.name, result.n_real, result.n_fake) == ("fid", 360, 300)
    assert result.features == "Sequential 16" and result.extra["dims"] == 16
    assert fid(real, real, features=extractor).value == pytest.approx(0, abs=1e-6)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct_kid = KernelInceptionDistance(feature=extractor, subsets=20, subset_size=100)
    direct_kid.update(real, real=True)
    direct_kid.update(fake, real=False)
    torch.manual_seed(7)
    mean, std = direct_kid.compute()
    result = kid(real, fake, features=extractor, subsets=20, subset_size=100, seed=7)
    # torchmetrics directly computes the kernel in float32, labkit in float64
    assert result.value == pytest.approx(float(mean), rel=1e-3)
    assert result.extra["kid_std"] == pytest.approx(float(std), rel=1e-2)
    other_subsets = kid(real, fake, features=extractor, subsets=20, subset_size=100, seed=8)
    assert other_subsets.value != pytest.approx(float(mean), rel=1e-3)
    assert (result.n_real, result.n_fake, result.extra["subset_size"]) == (360, 300, 100)
    halves = torch.randperm(360, generator=torch.Generator().manual_seed(0)).split(180)
    same = kid(real[halves[0]], real[halves[1]], features=extractor)
    assert result.value > 10 * abs(same.value)


def test_fid_warns_when_there_are_fewer_images_than_feature_dimensions(digits):
    real = digits[1].float_images()
    with pytest.warns(UserWarning, match="rank-deficient"):
        fid(real[:10], real[10:20], features=random_projection(16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 100 images in 16 dimensions: no warning
        fid(real[:100], real[100:200], features=random_projection(16))


def test_missing_weights_file_from_the_environment_is_named(monkeypatch, tmp_path, no_network,
                                                            digits):
    missing = tmp_path / "nowhere" / INCEPTION_FILE
    monkeypatch.setenv(WEIGHTS_ENV, str(missing))
    images = digits[1].float_images(8)
    with pytest.raises(InceptionWeightsUnavailable, match=WEIGHTS_ENV) as error:
        fid(images, images)
    assert str(missing) in str(error.value)
    assert not no_network  # a named file that is missing is an error, not a reason to download


class RunsCode:
    """A pickle payload that would run a command when unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_inception_weights_file_is_refused_without_running_it(monkeypatch, tmp_path,
                                                                        digits):
    crafted = tmp_path / INCEPTION_FILE
    marker = tmp_path / "ran"
    torch.save({"weights": RunsCode(marker)}, crafted)
    monkeypatch.setenv(WEIGHTS_ENV, str(crafted))
    images = digits[1].float_images(8)
    with pytest.raises(ValueError, match="does not load as plain tensors"):
        fid(images, images)
    assert not marker.exists()


def test_offline_without_weights_fails_clearly_and_never_falls_back(monkeypatch, tmp_path,
                                                                    no_network, digits):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # an empty torch.hub cache
    images = digits[1].float_images(8)
    started = time.perf_counter()
    for metric in (fid, kid):
        with pytest.raises(InceptionWeightsUnavailable) as error:
            metric(images, images)
        message = str(error.value)
        for part in ("weights=", WEIGHTS_ENV, INCEPTION_URL, "could not be downloaded",
                     f"({INCEPTION_FILE}, about 90 MB)"):
            assert part in message
    assert no_network, "the download was attempted"
    assert time.perf_counter() - started < 10
    assert isinstance(error.value, FileNotFoundError)


def test_weights_are_downloaded_once_into_the_torch_hub_cache(monkeypatch, tmp_path):
    import labkit.weights
    from labkit.metrics import inception_weights_path

    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    downloads = []

    def fake_fetch(url, dest, *, sha256_prefix, timeout):  # labkit.fetch: tested offline
        downloads.append((url, sha256_prefix, timeout))  # in tests/test_download.py
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(b"weights")
        return dest

    monkeypatch.setattr(labkit.weights, "fetch", fake_fetch)
    path = inception_weights_path()
    assert path == tmp_path / "torch" / "hub" / "checkpoints" / INCEPTION_FILE and path.is_file()
    assert downloads == [(INCEPTION_URL, "6726825d", 10.0)]  # checked against its name's hash
    assert inception_weights_path() == path and len(downloads) == 1  # cached from now on


def test_inception_url_is_torch_fidelitys():
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    assert INCEPTION_URL == URL_INCEPTION_V3 and URL_INCEPTION_V3.endswith(INCEPTION_FILE)


class FakeInception(nn.Module):
    """Stands in for torchmetrics' NoTrainInceptionV3: records its weights path and inputs."""

    built: list[dict] = []
    inputs: list[tuple] = []
    num_features = 6

    def __init__(self, **kwargs):
        super().__init__()
        FakeInception.built.append(kwargs)

    def forward(self, x):
        FakeInception.inputs.append((x.dtype, tuple(x.shape[1:]), int(x.min()), int(x.max())))
        pooled = x.float().mean(dim=(2, 3))
        return torch.cat([pooled, pooled ** 2 / 255], dim=1)


def test_inception_weights_path_is_passed_through_and_inputs_are_uint8_rgb(monkeypatch, tmp_path,
                                                                           no_network, faces):
    import torchmetrics.image.fid as tm_fid

    monkeypatch.setattr(tm_fid, "NoTrainInceptionV3", FakeInception)
    FakeInception.built.clear()
    FakeInception.inputs.clear()
    given, from_env = tmp_path / "given.pth", tmp_path / "env.pth"
    for path in (given, from_env):  # plain tensors: the file passes the weights_only check
        torch.save({"fc.weight": torch.zeros(2, 2)}, path)
    monkeypatch.setenv(WEIGHTS_ENV, str(from_env))
    real, fake = faces[:40], faces[40:80].flip(-1)
    result = fid(real, fake, weights=given, batch_size=20)
    kid(real, fake, subsets=5)
    assert [b["feature_extractor_weights_path"] for b in FakeInception.built] == [
        str(given), str(from_env)]  # the argument first, then the environment variable
    assert {i[:2] for i in FakeInception.inputs} == {(torch.uint8, (3, 32, 32))}
    assert max(i[3] for i in FakeInception.inputs) > 200  # 0..255, not [-1, 1]
    assert result.features.startswith("inception-v3 pool3") and result.n_real == 40
    assert not no_network


# ------------------------------------------------------------------------ SWD


def test_resolutions_follow_progan():
    assert resolutions(32, 32) == [32, 16]
    assert resolutions(16, 16) == [16]
    assert resolutions(256, 256) == [256, 128, 64, 32, 16]
    assert resolutions(64, 64, max_levels=2) == [64, 32]


def test_swd_is_zero_for_identical_sets_and_grows_with_a_shift_and_with_blur(faces):
    a, b = faces[:50], faces[50:]
    assert swd(a, a, **FAST_SWD).value == pytest.approx(0, abs=1e-9)
    base = swd(a, b, **FAST_SWD)
    assert base.n_real == base.n_fake == 50
    assert set(base.extra["per_level"]) == {"32", "16"}
    assert base.value == pytest.approx(np.mean(list(base.extra["per_level"].values())))
    shifted = swd(a, (b + 0.3).clamp(-1, 1), **FAST_SWD).value
    assert shifted > 3 * base.value
    blurred = [swd(a, gaussian_blur(b, 9, sigma), **FAST_SWD).value for sigma in (0.5, 1, 1.5, 2)]
    assert base.value < blurred[0] < blurred[1] < blurred[2] < blurred[3]


def test_swd_standardised_per_set_is_progans_and_ignores_a_global_shift(faces):
    a, b = faces[:50], faces[50:]
    each = swd(a, b, standardize="each", **FAST_SWD).value
    assert swd(a, b + 0.3, standardize="each", **FAST_SWD).value == pytest.approx(each, rel=1e-4)
    assert swd(a, b + 0.3, **FAST_SWD).value > 3 * each


def test_swd_is_seeded_and_works_for_colour_and_other_sizes():
    photos = datasets.load("photos", split="train").float_images(128)
    a, b = photos[:64], photos[64:]
    first, again = swd(a, b, **FAST_SWD), swd(a, b, **FAST_SWD)
    other = swd(a, b, seed=1, **FAST_SWD)
    assert first.value == again.value
    assert other.value != first.value and other.value == pytest.approx(first.value, rel=0.1)
    for size, levels in ((16, 1), (64, 3)):
        x = datasets.synthetic_blobs(6, size, 3, seed=0).float_images()
        y = datasets.synthetic_blobs(6, size, 3, seed=1).float_images()
        result = swd(x, y, **FAST_SWD)
        assert len(result.extra["per_level"]) == levels and result.value > 0


# ------------------------------------------------------------------------ classifier


def images_of_class(data, labels: torch.Tensor) -> torch.Tensor:
    """For each requested label, a real image of that class (cycling through the class)."""
    pools = {c: (data.labels == c).nonzero().flatten() for c in range(10)}
    seen = {c: 0 for c in range(10)}
    index = []
    for c in labels.tolist():
        index.append(int(pools[c][seen[c] % len(pools[c])]))
        seen[c] += 1
    return data.float_images()[index]


def test_classifier_reaches_95_percent_on_held_out_digits(classifier):
    assert classifier.accuracy >= 0.95
    assert classifier.seconds < 15  # about 2 s on one core
    assert not classifier.training and classifier.classes == [str(c) for c in range(10)]
    assert classifier.features(torch.zeros(2, 1, 32, 32)).shape == (2, 64)


def test_class_accuracy_of_right_and_wrong_classes(classifier, digits):
    test = digits[1]
    labels = torch.arange(10).repeat(20)
    right = class_accuracy(lambda y: images_of_class(test, y), classifier, labels)
    wrong = class_accuracy(lambda y: images_of_class(test, (y + 1) % 10), classifier, labels)
    assert right.value >= 0.9 and right.value == pytest.approx(classifier.accuracy, abs=0.05)
    assert wrong.value <= 0.05
    assert right.n_fake == 200 and len(right.extra["per_class"]) == 10
    batched = class_accuracy(lambda y: images_of_class(test, y), classifier, 20, batch_size=64)
    assert batched.n_fake == 200 and batched.value == pytest.approx(right.value, abs=0.05)


def test_classifier_fid_separates_real_digits_from_degraded_ones(classifier, digits):
    train, test = digits
    real, same = test.float_images(200), train.float_images(200)
    close = classifier_fid(real, same, classifier)
    far = classifier_fid(real, gaussian_blur(same, 9, 2.0), classifier)
    assert close.features == "classifier penultimate 64" and close.extra["dims"] == 64
    assert far.value > 5 * close.value
    assert not classifier.training  # eval mode kept


# ------------------------------------------------------------------------ memorisation


def test_memorisation_detects_copies_and_not_held_out_images(digits, tmp_path):
    train, test = digits[0].float_images(), digits[1].float_images()
    picked = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:100]
    noise = 0.05 * torch.randn(100, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    copies = memorisation(train[picked] + noise, train, test)
    assert copies.value < 0.3
    assert copies.extra["share_closer_than_held_out_p5"] > 0.9
    for f, t in zip(copies.extra["closest_fake"], copies.extra["closest_train"]):
        assert int(picked[f]) == t
    unseen = memorisation(test[:180], train, test[180:])
    assert 0.7 < unseen.value < 1.4
    assert unseen.n_fake == 180 and unseen.extra["n_held_out"] == 180

    path = tmp_path / "figures" / "closest.png"
    fig = plot_closest_pairs(train[picked] + noise, train, copies, n=6, path=path)
    assert isinstance(fig, Figure) and path.stat().st_size > 1000
    assert not plt.get_fignums()
