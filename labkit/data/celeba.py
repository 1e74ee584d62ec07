"""CelebA aligned faces: the torchvision layout, the Kaggle copy, or a plain folder of JPEGs."""

from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path

from .decode import decode_files
from .errors import DatasetNotFoundError, download_or_explain
from .source import Request, Source
from .transforms import RESIZE

SPLITS = {"train": 0, "valid": 1, "test": 2, "all": None}

# (image folder, partition file or None, what it is), relative to root, searched in this order.
LAYOUTS = [
    ("celeba/img_align_celeba", "celeba/list_eval_partition.txt", "torchvision layout"),
    ("img_align_celeba/img_align_celeba", "list_eval_partition.csv", "Kaggle copy"),
    ("img_align_celeba", None, "a plain folder of aligned JPEGs"),
]

STEPS = """\
  1. Download the aligned-and-cropped images and the partition file, either
     - from the official page https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html
       ("Align&Cropped Images": img_align_celeba.zip; "Eval": list_eval_partition.txt), or
     - from the Kaggle copy "jessicali9530/celeba-dataset"
       (https://www.kaggle.com/datasets/jessicali9530/celeba-dataset, or
        `kaggle datasets download -d jessicali9530/celeba-dataset`).
  2. Unzip so that the files sit like this (official files, torchvision layout):
       {root}/
         celeba/
           img_align_celeba/
             000001.jpg  000002.jpg  ...
           list_eval_partition.txt
     or, for the Kaggle zip, unzipped into {root} as it is:
       {root}/
         img_align_celeba/
           img_align_celeba/
             000001.jpg  ...
         list_eval_partition.csv
  3. Pass root="{root}" (or set LABKIT_DATA={root}).
Automatic download: load("celeba", download=True) uses torchvision's Google-Drive downloader
(needs `pip install gdown`), which Google often refuses with a quota error."""


def _searched(root: Path) -> list[str]:
    lines = []
    for images, partition, what in LAYOUTS:
        extra = f" with {root / partition}" if partition else ""
        lines.append(f"{root / images}/*.jpg{extra}  ({what})")
    return lines


def _has_jpeg(folder: Path) -> bool:
    if not folder.is_dir():
        return False
    with os.scandir(folder) as entries:
        return any(e.name.lower().endswith(".jpg") for e in entries)


def _find(root: Path) -> tuple[Path, Path | None] | None:
    """The first layout whose image folder holds JPEGs: (image folder, partition file or None)."""
    for images, partition, _ in LAYOUTS:
        if _has_jpeg(root / images):
            part = root / partition if partition else None
            return root / images, part if part is not None and part.is_file() else None
    return None


def read_partition(path: Path) -> dict[str, int]:
    """``list_eval_partition.txt`` (``name 0``) or the Kaggle ``.csv`` as {file name: split}."""
    with path.open(newline="") as file:
        if path.suffix == ".csv":
            return {row["image_id"]: int(row["partition"]) for row in csv.DictReader(file)}
        return {name: int(part) for name, part in (line.split() for line in file if line.strip())}


def _split_files(folder: Path, partition: Path | None, split: str) -> list[Path]:
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if e.name.lower().endswith(".jpg"))
    if partition is None:
        if split not in ("train", "all"):
            raise ValueError(
                f"{folder} has no list_eval_partition file, so split must be "
                f"'train' or 'all' (every image), not {split!r}"
            )
        warnings.warn(
            f"no list_eval_partition file for {folder}: split {split!r} is every "
            "image in the folder",
            stacklevel=4,
        )
    elif SPLITS[split] is not None:
        parts = read_partition(partition)
        names = [name for name in names if parts.get(name) == SPLITS[split]]
    return [folder / name for name in names]


def _download(request: Request) -> None:
    from torchvision.datasets import CelebA

    def fetch() -> None:
        CelebA(str(request.root), split=request.split, download=True)

    steps = STEPS.format(root=request.root)
    download_or_explain("CelebA", fetch, _searched(request.root), steps)


def locate(request: Request) -> Source:
    """Find CelebA under ``request.root`` (downloading only if asked) and plan its decoding."""
    found = _find(request.root)
    note = None
    if found is None and request.download:
        _download(request)
        found = _find(request.root)
        note = "it finished, but no images are where they were expected"
    if found is None:
        steps = STEPS.format(root=request.root)
        raise DatasetNotFoundError.build("CelebA", _searched(request.root), steps, note)
    folder, partition = found
    files = _split_files(folder, partition, request.split)[: request.subset]
    size, mode = request.image_size, request.mode
    return Source(
        files=files + ([partition] if partition else []),
        decode=lambda: (decode_files(files, size, mode)[0], None),
        transform=RESIZE,
        base=request.root,
    )
