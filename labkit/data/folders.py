"""Folder-based sets: any folder of images, the Kaggle anime faces, and DIV2K (random crops)."""

from __future__ import annotations

from pathlib import Path

from .decode import decode_crops, decode_first, list_images
from .download import REMOTES, obtain
from .errors import DatasetNotFoundError, download_or_explain
from .source import Request, Source
from .transforms import CROPS, RESIZE

FOLDER_STEPS = """\
  Pass the folder itself as root: load("folder", root="/path/to/images"). It is searched
  recursively for .jpg/.jpeg/.jfif/.png/.webp files (any case)."""

ANIME_STEPS = """\
  1. Download the Kaggle "Anime Face Dataset" (splcher/animefacedataset):
     https://www.kaggle.com/datasets/splcher/animefacedataset
     (or `kaggle datasets download -d splcher/animefacedataset`). There is no automatic download.
  2. Unzip it so that the images sit like this (any image files, in any subfolders):
       {root}/
         anime/
           images/
             1_2000.jpg  10_2000.jpg  ...
  3. Pass root="{root}" (or set LABKIT_DATA={root})."""

DIV2K_FOLDERS = {"train": "DIV2K_train_HR", "valid": "DIV2K_valid_HR"}
DIV2K_STEPS = """\
  1. Download {url}
     (official page: https://data.vision.ee.ethz.ch/cvl/DIV2K/).
  2. Unzip it so that the PNGs sit like this:
       {root}/
         DIV2K/
           {folder}/
             0001.png  0002.png  ...
  3. Pass root="{root}" (or set LABKIT_DATA={root}), or use download=True."""
DIV2K_CROPS_PER_IMAGE = 16


def _folder_source(request: Request, folder: Path, files: list[Path]) -> Source:
    size, mode, subset = request.image_size, request.mode, request.subset
    return Source(
        files=files,  # the cache's fingerprint: a subset may reach past unreadable files
        decode=lambda: (decode_first(files, subset, size, mode), None),
        transform=RESIZE,
        base=folder,
    )


def locate_folder(request: Request) -> Source:
    """Every image under ``request.root`` itself (recursive), resized and center-cropped."""
    files = list_images(request.root) if request.root.is_dir() else []
    if not files:
        searched = [f"{request.root}/**/*.{{jpg,jpeg,jfif,png,webp}}"]
        raise DatasetNotFoundError.build("An image folder", searched, FOLDER_STEPS)
    return _folder_source(request, request.root, files)


def locate_anime(request: Request) -> Source:
    """The anime face images under ``root/anime`` (e.g. ``root/anime/images``, recursive)."""
    folder = request.root / "anime"
    files = list_images(folder) if folder.is_dir() else []
    if not files:
        searched = [f"{folder}/**/*.jpg (for example {folder / 'images'}/*.jpg)"]
        steps = ANIME_STEPS.format(root=request.root)
        error = "there is no automatic download for this dataset" if request.download else None
        raise DatasetNotFoundError.build("Anime faces", searched, steps, error)
    return _folder_source(request, folder, files)


def div2k_files(root: Path, split: str, download: bool) -> list[Path]:
    """The PNGs of a DIV2K split (``root/DIV2K/DIV2K_<split>_HR``), downloading the official
    zip only if asked (checked against the sha256 TensorFlow Datasets publishes); else a
    ``DatasetNotFoundError`` with the manual steps."""
    folder_name = DIV2K_FOLDERS[split]
    folder = root / "DIV2K" / folder_name
    url = REMOTES[f"div2k-{split}"].url
    steps = DIV2K_STEPS.format(root=root, url=url, folder=folder_name)
    searched = [f"{folder}/*.png"]
    if not list_images(folder, recursive=False) and download:
        download_or_explain("DIV2K", lambda: obtain(f"div2k-{split}", root), searched, steps)
    files = list_images(folder, recursive=False)
    if not files:
        note = "it finished, but the folder holds no images" if download else None
        raise DatasetNotFoundError.build("DIV2K", searched, steps, note)
    return files


def locate_div2k(request: Request) -> Source:
    """DIV2K high-resolution PNGs as seeded random crops (``subset`` = number of crops)."""
    files = div2k_files(request.root, request.split, request.download)
    count = request.subset or DIV2K_CROPS_PER_IMAGE * len(files)
    used = files[:count]  # crop i comes from image i % len(used): only these are decoded
    size, mode, seed = request.image_size, request.mode, request.seed
    return Source(
        files=used,
        decode=lambda: (decode_crops(used, count, size, mode, seed), None),
        transform=CROPS,
        base=request.root,
    )
