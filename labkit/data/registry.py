"""The dataset registry and ``load``: validate a call, locate the files, decode once, cache."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import celeba, cifar10, emnist, folders, offline
from .cache import CACHE_FORMAT, cached, fingerprint
from .imageset import ImageSet
from .paths import resolve_root
from .source import Request, Source


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: what it is, which splits it has, its defaults and its loader."""

    description: str
    offline: bool
    splits: tuple[str, ...]
    image_size: int
    channels: int
    locate: Callable[[Request], Source]
    classes: Callable[[str], list[str]] | None = None  # class names of a split; None: unlabelled


REGISTRY: dict[str, DatasetSpec] = {
    "celeba": DatasetSpec(
        "CelebA: 202,599 aligned celebrity faces (train/valid/test/all)",
        offline=False, splits=tuple(celeba.SPLITS), image_size=64, channels=3,
        locate=celeba.locate,
    ),
    "cifar10": DatasetSpec(
        "CIFAR-10: 60,000 32×32 colour images in 10 classes",
        offline=False, splits=("train", "test"), image_size=32, channels=3,
        locate=cifar10.locate, classes=lambda split: list(cifar10.CLASSES),
    ),
    "emnist": DatasetSpec(
        "EMNIST handwritten characters, 28×28 grey (split 'balanced', 'balanced-test', ...)",
        offline=False, splits=emnist.SPLITS, image_size=28, channels=1,
        locate=emnist.locate, classes=emnist.classes,
    ),
    "div2k": DatasetSpec(
        "DIV2K 2K-resolution photographs as seeded random crops (super-resolution)",
        offline=False, splits=tuple(folders.DIV2K_FOLDERS), image_size=96, channels=3,
        locate=folders.locate_div2k,
    ),
    "anime": DatasetSpec(
        "Anime faces (the Kaggle 'Anime Face Dataset', about 63,000 images)",
        offline=False, splits=("train", "all"), image_size=64, channels=3,
        locate=folders.locate_anime,
    ),
    "folder": DatasetSpec(
        "Any folder of images (root is the folder; searched recursively)",
        offline=False, splits=("train", "all"), image_size=64, channels=3,
        locate=folders.locate_folder,
    ),
    "digits": DatasetSpec(
        "scikit-learn handwritten digits: 1,797 8×8 images in 10 classes (offline)",
        offline=True, splits=("train", "test", "all"), image_size=32, channels=1,
        locate=offline.locate_digits, classes=lambda split: list(offline.DIGIT_CLASSES),
    ),
    "faces": DatasetSpec(
        "scikit-image LFW subset: 100 25×25 grey faces (offline)",
        offline=True, splits=("train", "test", "all"), image_size=32, channels=1,
        locate=offline.locate_faces,
    ),
    "photos": DatasetSpec(
        "scikit-image colour photographs as random crops; test = 2 held-out photos (offline)",
        offline=True, splits=("train", "test"), image_size=32, channels=3,
        locate=offline.locate_photos,
    ),
}  # fmt: skip


def available() -> dict[str, dict[str, Any]]:
    """Every registered dataset name -> ``{"offline": bool, "description": str}``."""
    return {
        name: {"offline": s.offline, "description": s.description} for name, s in REGISTRY.items()
    }


MAX_IMAGE_SIZE = 1024  # pixels a side: far above every model of the course


def _choices(values: Sequence[Any]) -> str:
    return ", ".join(repr(v) for v in values)


def _positive(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be a positive int or None, not {value!r}")


def _request(
    name: str,
    root: str | os.PathLike | None,
    split: str,
    image_size: int | None,
    channels: int | None,
    subset: int | None,
    classes: Sequence[str] | None,
    download: bool,
    seed: int,
) -> Request:
    """Check every argument (reading no file) and fill in the dataset's defaults."""
    if name not in REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; choose one of {_choices(list(REGISTRY))}")
    spec = REGISTRY[name]
    if split not in spec.splits:
        raise ValueError(f"{name} has no split {split!r}; choose one of {_choices(spec.splits)}")
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be None (native), 1 or 3, not {channels!r}")
    _positive("image_size", image_size)
    if image_size is not None and image_size > MAX_IMAGE_SIZE:
        raise ValueError(f"image_size={image_size} is larger than {MAX_IMAGE_SIZE}: the uint8 "
                         "cache of a dataset at that size would not fit in memory (the course's "
                         "models use 28 to 96; SR crops up to 256)")
    _positive("subset", subset)
    all_classes = tuple(spec.classes(split)) if spec.classes else ()
    if classes is not None:
        classes = (classes,) if isinstance(classes, str) else tuple(classes)
        unknown = [c for c in classes if c not in all_classes]
        if not all_classes or unknown or not classes:
            valid = _choices(all_classes) if all_classes else f"none: {name} is unlabelled"
            raise ValueError(f"bad classes {list(classes)!r} for {name}; valid classes: {valid}")
    return Request(
        name,
        resolve_root(root),
        split,
        image_size or spec.image_size,
        channels or spec.channels,
        subset,
        classes,
        all_classes,
        download,
        seed,
    )


def _manifest(request: Request, source: Source) -> dict[str, Any]:
    return {
        "format": CACHE_FORMAT,
        "dataset": request.name,
        "split": request.split,
        "image_size": request.image_size,
        "channels": request.channels,
        "subset": request.subset,
        "classes": None if request.classes is None else list(request.classes),
        "seed": request.seed,
        "transform": source.transform,
        "source": fingerprint(source.files, source.base, source.packaged),
    }


def load(
    name: str,
    *,
    root: str | os.PathLike | None = None,
    split: str = "train",
    image_size: int | None = None,
    channels: int | None = None,
    subset: int | None = None,
    classes: Sequence[str] | None = None,
    download: bool = False,
    seed: int = 0,
) -> ImageSet:
    """Load a registered dataset as an ``ImageSet`` (decoded once, then read from the cache).

    ``root``: the data folder (else ``$LABKIT_DATA``, else ``default_root()``); for
    ``"folder"`` it is the image folder itself. ``image_size``: None = the dataset's default;
    images are resized (shorter side) and center-cropped, except ``div2k`` and ``photos``,
    which are seeded random crops of that size at native resolution. ``channels``: None =
    native, 1 = grey, 3 = RGB. ``subset``: the first N items in sorted order (only those are
    decoded); for ``div2k``/``photos`` the number of crops (default 16 per DIV2K image, 1000
    photo crops). ``classes``: class names to keep (labels stay the original indices).
    ``split`` for ``emnist``: ``"balanced"`` (train part), ``"balanced-test"``, etc.; see
    ``labkit.data.emnist``. Nothing is downloaded unless ``download=True``.
    """
    request = _request(name, root, split, image_size, channels, subset, classes, download, seed)
    source = REGISTRY[name].locate(request)
    manifest = _manifest(request, source)

    def build() -> dict[str, Any]:
        images, labels = source.decode()
        return {"images": images, "labels": labels, "classes": list(request.all_classes)}

    entry = cached(name, manifest, build)
    return ImageSet(entry["images"], entry["labels"], list(entry["classes"]), name, manifest)
