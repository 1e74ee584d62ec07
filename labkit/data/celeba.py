"""CelebA aligned faces: the torchvision layout, the Kaggle copy, or a plain folder of JPEGs.

``download=True`` tries, in order: the Kaggle copy through the ``kaggle`` package when a Kaggle
token is set up (reliable; checksum recorded at the first download), then the official Google
Drive files through torchvision's downloader (``gdown``; checked against torchvision's md5s,
often refused by Google's quota). The zips are extracted safely (``labkit.data.download``).
"""

from __future__ import annotations

import csv
import os
import shutil
import warnings
from pathlib import Path

from torchvision.datasets.utils import download_file_from_google_drive

from ..fetch import ChecksumError, mismatch
from .decode import decode_files
from .download import extract, recorded
from .errors import DatasetNotFoundError
from .source import Request, Source
from .transforms import RESIZE

SPLITS = {"train": 0, "valid": 1, "test": 2, "all": None}

# (image folder, partition file or None, what it is), relative to root, searched in this order.
LAYOUTS = [
    ("celeba/img_align_celeba", "celeba/list_eval_partition.txt", "torchvision layout"),
    ("img_align_celeba/img_align_celeba", "list_eval_partition.csv", "Kaggle copy"),
    ("celeba-dataset/img_align_celeba/img_align_celeba", "celeba-dataset/list_eval_partition.csv",
     "Kaggle copy, downloaded by labkit"),
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
Automatic download: load("celeba", download=True) first tries Kaggle when a Kaggle API token is
set up (https://www.kaggle.com/settings -> "Create New Token": ~/.kaggle/kaggle.json, or the
variables KAGGLE_USERNAME and KAGGLE_KEY; needs `pip install kaggle`), then torchvision's
Google-Drive downloader (gdown), which Google often refuses with a quota error."""

# torchvision's CelebA.file_list entries that the loader needs: (Google Drive id, md5, file name)
GOOGLE_DRIVE_FILES = [
    ("0B7EVK8r0v71pZjFTYXZWM3FlRnM", "00d2c5bc6d35e252742224ab0c1e8fcb", "img_align_celeba.zip"),
    ("0B7EVK8r0v71pY0NSMzRuSXJEVkk", "d32c9cbf5e040fd4025c592c306e6668", "list_eval_partition.txt"),
]
KAGGLE_DATASET = "jessicali9530/celeba-dataset"
KAGGLE_ZIP = "celeba-dataset.zip"  # kept in the root; it becomes root/celeba-dataset/


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


def kaggle_token() -> bool:
    """Whether a Kaggle API token is set up (the variables, or kaggle.json in its folder)."""
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return True
    folder = Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle").expanduser()
    return (folder / "kaggle.json").is_file()


def from_kaggle(root: Path) -> None:
    """The Kaggle copy through the ``kaggle`` package: root/celeba-dataset.zip (checked against
    the size and sha256 recorded at its first download), extracted to root/celeba-dataset/."""
    archive = root / KAGGLE_ZIP
    origin = f"kaggle datasets download -d {KAGGLE_DATASET}"
    if not archive.is_file():
        from kaggle.api.kaggle_api_extended import KaggleApi  # needs `pip install kaggle`

        api = KaggleApi()
        api.authenticate()
        staging = root / ".celeba-dataset.kaggle"  # a zip cut short never reaches `archive`
        shutil.rmtree(staging, ignore_errors=True)
        api.dataset_download_files(KAGGLE_DATASET, path=str(staging), quiet=False)
        zips = list(staging.glob("*.zip"))
        if len(zips) != 1:
            raise FileNotFoundError(f"the Kaggle download left {len(zips)} zip files in {staging}")
        os.replace(zips[0], archive)
        shutil.rmtree(staging, ignore_errors=True)
    recorded(archive, root, origin)
    extract(archive, root / "celeba-dataset")


def from_google_drive(root: Path) -> None:
    """The official files through torchvision's Google-Drive downloader (gdown), each checked
    against torchvision's md5 (a damaged one is deleted), the zip extracted to root/celeba/."""
    folder = root / "celeba"
    for file_id, md5, name in GOOGLE_DRIVE_FILES:
        try:
            download_file_from_google_drive(file_id, folder, name, md5)
        except BaseException:
            path = folder / name
            if path.is_file() and mismatch(path, md5=md5):
                path.unlink()
            raise
        problem = mismatch(folder / name, md5=md5)  # torchvision skips a file that verifies
        if problem:
            (folder / name).unlink()
            raise ChecksumError(f"the Google Drive file {name} ({file_id}) is damaged: {problem}")
    extract(folder / "img_align_celeba.zip", folder / "img_align_celeba", inner="img_align_celeba")


def _download(request: Request) -> None:
    """Try each automatic route in turn; all failed: a ``DatasetNotFoundError`` saying why."""
    routes = [("Kaggle", from_kaggle)] if kaggle_token() else []
    routes.append(("Google Drive", from_google_drive))
    failures = [] if routes[0][0] == "Kaggle" else ["Kaggle: no Kaggle API token is set up"]
    for name, route in routes:
        try:
            route(request.root)
            return
        except Exception as error:  # network, quota, missing package, bad checksum: next route
            failures.append(f"{name}: {type(error).__name__}: {error}")
    steps = STEPS.format(root=request.root)
    raise DatasetNotFoundError.build("CelebA", _searched(request.root), steps,
                                     "; ".join(failures))


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
