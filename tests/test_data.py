"""Tests for labkit.data, all offline: miniature files in the real on-disk formats."""

from __future__ import annotations

import dataclasses
import gzip
import io
import os
import pickle
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import labkit.data as data
from labkit.data import (
    DatasetNotFoundError,
    ImageSet,
    available,
    folders,
    load,
    offline,
    registry,
    synthetic_blobs,
)
from labkit.data.cifar10 import CLASSES as CIFAR_CLASSES

RNG = np.random.default_rng(1234)


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data root (``LABKIT_DATA``) and cache (``LABKIT_CACHE``) in a temp folder."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("LABKIT_DATA", str(root))
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    return root


def save_image(path: Path, array: np.ndarray, **kwargs) -> Path:
    """Write an H×W(×C) uint8 array as an image file (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


def solid(color: tuple[int, ...], size: tuple[int, int] = (24, 20)) -> np.ndarray:
    """An H×W×C image of one colour."""
    return np.broadcast_to(np.array(color, np.uint8), (*size, len(color))).copy()


def matches(haystack: np.ndarray, needle: np.ndarray) -> bool:
    """Whether the C×h×w ``needle`` occurs exactly inside the C×H×W ``haystack``."""
    windows = np.lib.stride_tricks.sliding_window_view(haystack, needle.shape[1:], axis=(1, 2))
    return bool((windows == needle[:, None, None]).all(axis=(0, 3, 4)).any())


# --- CIFAR-10 ----------------------------------------------------------------------------------


def write_cifar(root: Path, per_batch: int = 4) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A miniature ``cifar-10-batches-py`` (pickled batches, as published); returns the pixels."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        pixels = RNG.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
        labels = RNG.integers(0, 10, per_batch).tolist()
        labels[0] = 0  # every batch has an airplane
        entry = {"batch_label": name, "data": pixels.reshape(per_batch, -1), "labels": labels}
        (folder / name).write_bytes(pickle.dumps(entry))
        written[name] = (pixels, np.array(labels))
    meta = {"label_names": CIFAR_CLASSES, "num_cases_per_batch": per_batch}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    return written


def test_cifar10_round_trips_pixels_labels_and_filters_classes(data_root: Path) -> None:
    written = write_cifar(data_root)
    train = load("cifar10")
    pixels = np.concatenate([written[f"data_batch_{i}"][0] for i in range(1, 6)])
    labels = np.concatenate([written[f"data_batch_{i}"][1] for i in range(1, 6)])
    assert train.images.shape == (20, 3, 32, 32) and train.images.dtype == torch.uint8
    assert np.array_equal(train.images.numpy(), pixels)
    assert train.labels.tolist() == labels.tolist() and train.labels.dtype == torch.int64
    assert train.classes == CIFAR_CLASSES

    test = load("cifar10", split="test")
    assert np.array_equal(test.images.numpy(), written["test_batch"][0])

    planes = load("cifar10", classes=["airplane"])
    assert len(planes) == int((labels == 0).sum()) and set(planes.labels.tolist()) == {0}
    assert np.array_equal(planes.images.numpy(), pixels[labels == 0])
    assert planes.classes == CIFAR_CLASSES  # the full list; labels keep the original indices

    cats_planes = load("cifar10", classes=["cat", "airplane"], subset=3)
    assert len(cats_planes) == 3 and set(cats_planes.labels.tolist()) <= {0, 3}

    grey = load("cifar10", channels=1, image_size=16, subset=2)
    assert grey.images.shape == (2, 1, 16, 16)


class RunsCode:
    """A pickle payload that would run a command when unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_cifar10_batch_that_would_run_code_is_refused_without_running_it(
        data_root: Path, tmp_path: Path) -> None:
    write_cifar(data_root)
    marker = tmp_path / "ran"
    batch = data_root / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(pickle.dumps({"data": RunsCode(marker), "labels": [0]}))
    with pytest.raises(ValueError, match=r"data_batch_3 is not a readable CIFAR-10 file "
                                         r"\(refers to posix.system"):
        load("cifar10")
    assert not marker.exists()


def test_damaged_cifar10_batches_are_errors_that_name_the_file(data_root: Path) -> None:
    write_cifar(data_root)
    batch = data_root / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(batch.read_bytes()[:-30])
    with pytest.raises(ValueError, match="test_batch is not a readable CIFAR-10 file"):
        load("cifar10", split="test")
    batch.write_bytes(pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}))
    with pytest.raises(ValueError, match="test_batch is not a CIFAR-10 data batch"):
        load("cifar10", split="test")


# --- EMNIST -------------------------------------------------------------------------------------


def upright_l() -> np.ndarray:
    """A 28×28 "L": a vertical stroke down column 6 and a foot along row 21."""
    glyph = np.zeros((28, 28), np.uint8)
    glyph[5:22, 6] = 255
    glyph[21, 6:18] = 255
    return glyph


def write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    """An idx file (uint8, big-endian header, as in the EMNIST distribution)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    payload = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        with gzip.open(f"{path}.gz", "wb") as file:
            file.write(payload)
    else:
        path.write_bytes(payload)


def write_emnist(root: Path, variant: str = "balanced") -> np.ndarray:
    """Train (gzipped) and test (uncompressed) parts, each glyph stored transposed like EMNIST."""
    glyphs = np.stack([upright_l(), np.roll(upright_l(), 3, axis=1), upright_l()])
    stored = glyphs.transpose(0, 2, 1)  # the published files hold the transpose
    raw = root / "EMNIST" / "raw"
    for part, compress in (("train", True), ("test", False)):
        write_idx(raw / f"emnist-{variant}-{part}-images-idx3-ubyte", stored, compress)
        write_idx(raw / f"emnist-{variant}-{part}-labels-idx1-ubyte", np.array([10, 1, 46]),
                  compress)  # fmt: skip
    return glyphs


def test_emnist_is_upright_with_balanced_classes(data_root: Path) -> None:
    glyphs = write_emnist(data_root)
    train = load("emnist", split="balanced")
    assert train.images.shape == (3, 1, 28, 28)
    image = train.images[0, 0]
    assert image[10, 6] == 255 and image[21, 15] == 255  # the stroke and the foot of the "L"
    assert image[6, 10] == 0 and image[15, 21] == 0  # where a transposed "L" would have them
    assert np.array_equal(train.images[:, 0].numpy(), glyphs)
    assert train.labels.tolist() == [10, 1, 46]
    assert len(train.classes) == 47 and train.classes[10] == "A"

    test = load("emnist", split="balanced-test")  # read from the uncompressed files
    assert np.array_equal(test.images[:, 0].numpy(), glyphs)
    assert torch.equal(load("emnist", split="train").images, train.images)  # "train" = balanced

    only_a = load("emnist", split="balanced", classes=["A"], image_size=32, channels=3)
    assert only_a.images.shape == (1, 3, 32, 32) and only_a.labels.tolist() == [10]


@pytest.mark.parametrize("damage", ["truncated", "truncated gzip", "wrong magic",
                                    "header only"])
def test_damaged_idx_files_are_errors_that_name_the_file(data_root: Path, damage: str) -> None:
    write_emnist(data_root)
    raw = data_root / "EMNIST" / "raw"
    gz = raw / "emnist-balanced-train-images-idx3-ubyte.gz"
    plain = raw / "emnist-balanced-test-images-idx3-ubyte"
    if damage == "truncated gzip":
        gz.write_bytes(gz.read_bytes()[:-40])
        target, split, message = gz, "balanced", "is damaged or cut short"
    else:
        data = plain.read_bytes()
        cut = {"truncated": data[:-100], "wrong magic": b"\x1f\x8b" + data[2:],
               "header only": data[:10]}[damage]
        plain.write_bytes(cut)
        target, split = plain, "balanced-test"
        message = {"truncated": "cut short", "wrong magic": "is not a uint8 idx file",
                   "header only": "ends inside its header"}[damage]
    with pytest.raises(ValueError, match=message) as error:
        load("emnist", split=split)
    assert str(target) in str(error.value)


def test_labels_outside_the_split_are_an_error(data_root: Path) -> None:
    write_emnist(data_root)
    raw = data_root / "EMNIST" / "raw"
    write_idx(raw / "emnist-balanced-test-labels-idx1-ubyte", np.array([10, 1, 61]), False)
    with pytest.raises(ValueError, match=r"labels from 1 to 61, but the balanced split has "
                                         r"labels 0 to 46"):
        load("emnist", split="balanced-test")


# --- CelebA -------------------------------------------------------------------------------------


CELEBA_PARTS = [0, 0, 0, 1, 1, 2]


def write_celeba_images(folder: Path) -> list[str]:
    """Six 178×218 JPEGs named like CelebA's aligned images."""
    names = [f"{i:06d}.jpg" for i in range(1, len(CELEBA_PARTS) + 1)]
    for name in names:
        save_image(folder / name, RNG.integers(0, 256, (218, 178, 3), dtype=np.uint8))
    return names


def test_celeba_torchvision_layout_splits(data_root: Path) -> None:
    names = write_celeba_images(data_root / "celeba" / "img_align_celeba")
    lines = [f"{name} {part}\n" for name, part in zip(names, CELEBA_PARTS, strict=True)]
    (data_root / "celeba" / "list_eval_partition.txt").write_text("".join(lines))
    sizes = {split: len(load("celeba", split=split)) for split in ("train", "valid", "test", "all")}
    assert sizes == {"train": 3, "valid": 2, "test": 1, "all": 6}
    faces = load("celeba", split="all", image_size=32, subset=4)
    assert faces.images.shape == (4, 3, 32, 32) and faces.labels is None
    assert load("celeba").images.shape == (3, 3, 64, 64)  # the default size


def test_celeba_kaggle_layout_and_center_crop(data_root: Path) -> None:
    folder = data_root / "img_align_celeba" / "img_align_celeba"
    names = write_celeba_images(folder)
    rows = [f"{name},{part}\n" for name, part in zip(names, CELEBA_PARTS, strict=True)]
    (data_root / "list_eval_partition.csv").write_text("image_id,partition\n" + "".join(rows))
    assert len(load("celeba", split="valid")) == 2
    # A tall image, red / green / blue from top to bottom: the center crop keeps the green.
    bands = np.concatenate([solid((255, 0, 0), (80, 60)), solid((0, 255, 0), (80, 60)),
                            solid((0, 0, 255), (80, 60))])  # fmt: skip
    save_image(folder / "000001.jpg", bands, quality=95)
    crop = load("celeba", split="train", image_size=20, subset=1).images[0].float()
    assert crop.shape == (3, 20, 20)
    assert crop[1].mean() > 230 and crop[0].mean() < 25 and crop[2].mean() < 25


def test_celeba_plain_folder_warns_and_has_only_train(data_root: Path) -> None:
    write_celeba_images(data_root / "img_align_celeba")
    with pytest.warns(UserWarning, match="list_eval_partition"):
        assert len(load("celeba")) == 6
    with pytest.raises(ValueError, match="'train' or 'all'"):
        load("celeba", split="valid")


# --- folders ------------------------------------------------------------------------------------


def write_mixed_folder(folder: Path) -> None:
    """Eight good images in eight encodings/modes, one corrupt file and one non-image."""
    save_image(folder / "a_rgba.png", solid((10, 200, 30, 255)))
    palette = Image.fromarray(solid((0, 0, 0))[..., 0]).convert("P")
    palette.info["transparency"] = 0
    palette.save(folder / "b_palette.png", transparency=0)
    save_image(folder / "c_grey.jpg", solid((90,))[..., 0])
    save_image(folder / "d_photo.webp", solid((200, 100, 50)))
    save_image(folder / "e_photo.JFIF", solid((50, 100, 200)), format="JPEG")
    save_image(folder / "nested" / "deeper" / "f_nested.png", solid((1, 2, 3)))
    Image.fromarray(solid((20, 40, 60))).convert("CMYK").save(folder / "g_cmyk.jpg")
    sixteen = np.full((24, 20), 128 * 257, np.uint16)  # mid grey as 16-bit
    Image.fromarray(sixteen).save(folder / "h_16bit.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    (folder / "notes.txt").write_text("not an image")


def unreadable_warnings(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if "unreadable" in str(w.message)]


def test_folder_mixed_formats_skips_the_corrupt_file(data_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "pictures"
    write_mixed_folder(folder)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        rgb = load("folder", root=folder, image_size=16)
    messages = unreadable_warnings(record)
    assert len(messages) == 1 and "1 " in messages[0] and "broken.jpg" in messages[0]
    assert rgb.images.shape == (8, 3, 16, 16) and rgb.labels is None
    # Sorted by path: a_rgba, b_palette, c_grey, d_photo, e_photo, g_cmyk, h_16bit, nested/...
    assert rgb.images[0, :, 5, 5].tolist() == [10, 200, 30]
    assert rgb.images[1].max() == 0  # palette → black
    assert abs(rgb.images[5, :, 5, 5].int() - torch.tensor([20, 40, 60])).max() <= 3  # CMYK
    assert rgb.images[6, :, 5, 5].tolist() == [128, 128, 128]  # 16-bit scaled, not clipped
    assert rgb.images[7, :, 5, 5].tolist() == [1, 2, 3]  # found in the nested folder

    with pytest.warns(UserWarning, match="unreadable"):
        grey = load("folder", root=folder, image_size=16, channels=1)
    assert grey.images.shape == (8, 1, 16, 16)
    assert abs(int(grey.images[2, 0, 5, 5]) - 90) <= 2


def test_folder_with_nothing_readable_names_the_folder(data_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "x.png").write_bytes(b"garbage")
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match=str(folder)):
        load("folder", root=folder)


def test_bad_files_are_skipped_with_one_warning_and_subset_counts_readable_images(
        data_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    for i in range(6):
        save_image(folder / f"good_{i}.png", solid((10 * i, 0, 0)))
    whole = io.BytesIO()
    Image.fromarray(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(whole, "JPEG")
    (folder / "a_truncated.jpg").write_bytes(whole.getvalue()[:200])
    (folder / "b_empty.png").write_bytes(b"")
    (folder / "c_text.jpg").write_text("a text file with an image's name")
    (folder / "d_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        some = load("folder", root=folder, image_size=16, subset=4)
    (message,) = unreadable_warnings(record)
    assert "4 unreadable" in message and str(folder) in message
    assert all(n in message for n in ("a_truncated.jpg", "b_empty.png", "c_text.jpg",
                                      "d_corrupt.png"))
    assert len(some) == 4  # four readable images, reached past the four unreadable ones
    assert some.images[:, 0, 5, 5].tolist() == [0, 10, 20, 30]


def test_anime_and_div2k_folders(data_root: Path) -> None:
    for i in range(3):
        save_image(data_root / "anime" / "images" / f"{i}_2000.jpg", solid((i * 50, 0, 0)))
    assert load("anime", image_size=16).images.shape == (3, 3, 16, 16)

    photos = [RNG.integers(0, 256, (100, 120, 3), dtype=np.uint8) for _ in range(2)]
    for i, photo in enumerate(photos):
        save_image(data_root / "DIV2K" / "DIV2K_train_HR" / f"{i + 1:04d}.png", photo)
    crops = load("div2k", image_size=32)
    assert crops.images.shape == (32, 3, 32, 32)  # 16 crops per image by default
    assert matches(photos[0].transpose(2, 0, 1), crops.images[0].numpy())  # native resolution
    assert matches(photos[1].transpose(2, 0, 1), crops.images[1].numpy())
    assert load("div2k", image_size=32, subset=5).images.shape == (5, 3, 32, 32)
    assert not torch.equal(load("div2k", image_size=32, seed=1).images, crops.images)


# --- errors -------------------------------------------------------------------------------------


def test_missing_celeba_lists_paths_and_manual_steps(data_root: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as caught:
        load("celeba")
    message = str(caught.value)
    for path in ("celeba/img_align_celeba", "img_align_celeba/img_align_celeba",
                 "celeba/list_eval_partition.txt", "list_eval_partition.csv"):  # fmt: skip
        assert str(data_root / path) in message
    assert "mmlab.ie.cuhk.edu.hk" in message and "jessicali9530/celeba-dataset" in message
    assert "automatic download" not in message
    assert isinstance(caught.value, FileNotFoundError)


@pytest.mark.parametrize(
    ("name", "split", "expected"),
    [
        ("cifar10", "train", "cifar-10-python.tar.gz"),
        ("emnist", "letters-test", "emnist-letters-test-images-idx3-ubyte"),
        ("div2k", "valid", "DIV2K_valid_HR"),
        ("anime", "train", "splcher/animefacedataset"),
    ],
)
def test_missing_real_sets_explain_how_to_get_them(
    data_root: Path, name: str, split: str, expected: str
) -> None:
    with pytest.raises(DatasetNotFoundError, match="Paths searched") as caught:
        load(name, split=split)
    assert str(data_root) in str(caught.value) and expected in str(caught.value)


def test_bad_arguments_fail_before_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_reading(request: object) -> None:
        raise AssertionError("a loader ran before the arguments were checked")

    for name, spec in registry.REGISTRY.items():
        monkeypatch.setitem(registry.REGISTRY, name, dataclasses.replace(spec, locate=no_reading))
    bad_calls = [
        (dict(name="celebA"), "'celeba'"),
        (dict(name="cifar10", split="valid"), "'test'"),
        (dict(name="faces", image_size=100_000), "image_size=100000 is larger than 1024"),
        (dict(name="emnist", split="balanced-valid"), "'balanced-test'"),
        (dict(name="digits", channels=2), "1 or 3"),
        (dict(name="cifar10", classes=["aeroplane"]), "'airplane'"),
        (dict(name="celeba", classes=["smiling"]), "unlabelled"),
        (dict(name="digits", subset=0), "subset"),
    ]
    for kwargs, expected in bad_calls:
        with pytest.raises(ValueError, match=expected):
            load(**kwargs)


def test_failed_download_gives_the_manual_route(
    data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.data import celeba

    def quota(*args: object) -> None:
        raise RuntimeError("Too many users have viewed or downloaded this file recently")

    monkeypatch.setattr(celeba, "download_file_from_google_drive", quota)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(data_root / "no-kaggle"))  # no Kaggle token
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    with pytest.raises(DatasetNotFoundError) as caught:
        load("celeba", download=True)
    message = str(caught.value)
    assert "automatic download of CelebA failed" in message and "Too many users" in message
    assert "jessicali9530/celeba-dataset" in message and "list_eval_partition.txt" in message
    with pytest.raises(DatasetNotFoundError) as caught:  # download=False never calls it
        load("celeba")
    assert "Too many users" not in str(caught.value)


# --- cache --------------------------------------------------------------------------------------


def test_cache_reuses_rebuilds_on_change_and_survives_corruption(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "pictures"
    for i in range(3):
        save_image(folder / f"{i}.png", solid((i * 40, 0, 0)))
    calls = []
    real_decode = folders.decode_first

    def counting_decode(*args, **kwargs):
        calls.append(1)
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(folders, "decode_first", counting_decode)
    first = load("folder", root=folder, image_size=8)
    again = load("folder", root=folder, image_size=8)
    assert len(calls) == 1 and torch.equal(first.images, again.images)
    cache_files = sorted((tmp_path / "cache").glob("folder-*.pt"))
    assert len(cache_files) == 1 and cache_files[0].with_suffix(".json").is_file()

    load("folder", root=folder, image_size=8, channels=1)  # another transform: another key
    assert len(calls) == 2

    save_image(folder / "1.png", solid((7, 7, 7)))  # a changed source file
    os.utime(folder / "1.png", ns=(1, 10**18))
    changed = load("folder", root=folder, image_size=8)
    assert len(calls) == 3 and changed.images[1, :, 0, 0].tolist() == [7, 7, 7]

    for path in (tmp_path / "cache").glob("folder-*.pt"):
        path.write_bytes(b"not a torch file")
    with pytest.warns(UserWarning, match="rebuilding"):
        rebuilt = load("folder", root=folder, image_size=8)
    assert len(calls) == 4 and torch.equal(rebuilt.images, changed.images)
    load("folder", root=folder, image_size=8)
    assert len(calls) == 4  # the rebuilt file was written back


# --- ImageSet batches ---------------------------------------------------------------------------


def tiny_set(n: int = 10) -> ImageSet:
    images = torch.from_numpy(RNG.integers(0, 256, (n, 3, 4, 5), dtype=np.uint8))
    return ImageSet(images, torch.arange(n), [str(i) for i in range(n)], "tiny")


def as_float(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1


def test_batches_shapes_range_count_and_order() -> None:
    dataset = tiny_set(10)
    ordered = list(dataset.batches(4, shuffle=False))
    assert len(ordered) == dataset.num_batches(4) == 2
    assert all(b.shape == (4, 3, 4, 5) and b.dtype == torch.float32 for b in ordered)
    assert torch.equal(torch.cat(ordered), as_float(dataset.images[:8]))
    assert min(b.min() for b in ordered) >= -1 and max(b.max() for b in ordered) <= 1
    assert as_float(torch.tensor([0, 255], dtype=torch.uint8)).tolist() == [-1.0, 1.0]
    every = list(dataset.batches(4, shuffle=False, drop_last=False))
    assert len(every) == dataset.num_batches(4, drop_last=False) == 3 and len(every[-1]) == 2

    def epoch(seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return torch.cat(list(dataset.batches(5, generator=generator)))

    assert torch.equal(epoch(0), epoch(0))
    assert not torch.equal(epoch(0), epoch(1))
    assert sorted(map(tuple, epoch(3).flatten(1).tolist())) == sorted(
        map(tuple, as_float(dataset.images).flatten(1).tolist())
    )  # a permutation of the whole set


def test_batches_flip_and_labels_match_the_images() -> None:
    dataset = tiny_set(64)
    generator = torch.Generator().manual_seed(0)
    flipped = kept = 0
    for x, y in dataset.batches(16, flip=True, generator=generator, with_labels=True):
        assert y.dtype == torch.int64
        for image, label in zip(x, y, strict=True):
            original = as_float(dataset.images[label])
            if torch.equal(image, original):
                kept += 1
            else:
                assert torch.equal(image, original.flip(-1))
                flipped += 1
    assert flipped > 10 and kept > 10 and flipped + kept == 64
    with pytest.raises(ValueError):
        next(iter(synthetic_blobs(8).batches(4, with_labels=True)))


def test_float_images_and_repr() -> None:
    dataset = tiny_set(10)
    assert torch.equal(dataset.float_images(3), as_float(dataset.images[:3]))
    picked = dataset.float_images(4, generator=torch.Generator().manual_seed(0))
    assert picked.shape == (4, 3, 4, 5) and not torch.equal(picked, as_float(dataset.images[:4]))
    assert dataset.float_images().shape == (10, 3, 4, 5)
    assert repr(dataset) == "ImageSet('tiny', 10 images, 3×4×5, 10 classes)"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batches_match_cpu_batches_resident_and_pinned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dataset = tiny_set(64)

    def epoch(data_set: ImageSet, device: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator().manual_seed(0)
        batches = data_set.batches(16, device=device, flip=True, generator=generator,
                                   with_labels=True)  # fmt: skip
        return [(x.cpu(), y.cpu()) for x, y in batches]

    def same(a: list, b: list) -> bool:
        return all(torch.allclose(xa, xb, atol=1e-6) and torch.equal(ya, yb)
                   for (xa, ya), (xb, yb) in zip(a, b, strict=True))  # fmt: skip

    on_cpu = epoch(dataset, "cpu")
    assert same(epoch(dataset, "cuda"), on_cpu)
    assert dataset._on_device["cuda:0"][0].is_cuda  # resident on the GPU
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (0, 1))
    pinned = ImageSet(dataset.images, dataset.labels, dataset.classes, "tiny")
    assert same(epoch(pinned, "cuda"), on_cpu)
    assert pinned._on_device["cuda:0"][0].is_pinned()  # too big: pinned host memory


# --- offline and synthetic sets -----------------------------------------------------------------


def test_digits(data_root: Path) -> None:
    train, test = load("digits"), load("digits", split="test")
    assert train.images.shape == (1437, 1, 32, 32) and len(test) == 360
    assert train.classes == [str(d) for d in range(10)]
    assert train.labels.unique().tolist() == list(range(10))
    assert train.images.max() > 200  # 0..16 scaled to 0..255
    threes = load("digits", split="all", classes=["3"], image_size=8)
    assert threes.images.shape[1:] == (1, 8, 8) and set(threes.labels.tolist()) == {3}
    assert len(threes) == 183


def test_faces(data_root: Path) -> None:
    train, test = load("faces"), load("faces", split="test")
    assert train.images.shape == (80, 1, 32, 32) and test.images.shape == (20, 1, 32, 32)
    assert train.labels is None and train.classes == []
    rgb = load("faces", split="all", channels=3)
    assert rgb.images.shape == (100, 3, 32, 32)
    assert torch.equal(rgb.images[:, 0], rgb.images[:, 1])


def test_photos_crops_and_held_out_split(data_root: Path) -> None:
    train, test = load("photos"), load("photos", split="test")
    assert train.images.shape == (1000, 3, 32, 32) and test.images.shape == (1000, 3, 32, 32)
    train_files = {p.name for p in offline.photo_files("train")}
    test_files = {p.name for p in offline.photo_files("test")}
    assert test_files == {"chelsea.png", "coffee.png"} and not train_files & test_files
    assert len(train_files) >= 5
    chelsea = np.asarray(Image.open(offline.photo_files("test")[0]).convert("RGB"))
    assert matches(chelsea.transpose(2, 0, 1), test.images[0].numpy())  # native-resolution crop
    small = load("photos", image_size=16, subset=50, seed=1)
    assert small.images.shape == (50, 3, 16, 16)


def test_synthetic_blobs() -> None:
    blobs = synthetic_blobs(n=12, image_size=16, channels=3, seed=0)
    assert blobs.images.shape == (12, 3, 16, 16) and blobs.images.dtype == torch.uint8
    assert blobs.images.max() > 200 and blobs.images.float().median() < 60
    peaks = blobs.images[:, 0].flatten(1).argmax(1)
    assert len(set(peaks.tolist())) > 6  # the blobs move
    assert torch.equal(synthetic_blobs(seed=3).images, synthetic_blobs(seed=3).images)
    assert blobs.float_images().min() >= -1 and len(blobs) == 12


def test_available_and_default_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    offline_flags = {name: info["offline"] for name, info in available().items()}
    assert offline_flags == {
        "celeba": False, "cifar10": False, "emnist": False, "div2k": False, "anime": False,
        "folder": False, "digits": True, "faces": True, "photos": True,
    }  # fmt: skip
    assert all(info["description"] for info in available().values())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.default_root() == tmp_path / "labkit" / "data"
