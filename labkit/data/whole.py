"""Whole images at native size, one tensor each: the evaluation sets of super-resolution.

``ImageSet`` holds images of one size; the SR benchmarks (Set5, Set14, DIV2K valid) and the
held-out offline photographs are scored on whole images of every size, so they load here as an
ordered ``{name: uint8 C×H×W tensor}``. Nothing is cached or resized; ``modcrop`` trims an image
so that its sides divide by the scale, as the SR literature does before making the LR input.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..pixels import to_signed
from .decode import decode_many, list_images, open_image
from .download import REMOTES, obtain
from .errors import DatasetNotFoundError, download_or_explain
from .folders import DIV2K_FOLDERS, div2k_files
from .offline import PHOTOS, photo_files
from .paths import resolve_root
from .transforms import to_chw

BENCHMARKS = {"set5": "Set5", "set14": "Set14", "bsd100": "BSD100", "urban100": "Urban100"}
# Sub-folders holding the HR images in the layouts the benchmarks are shared in.
HR_FOLDERS = ("HR", "GTmod12", "original", "image_SRF_4", "image_SRF_2", "image_SRF_3")
BENCHMARK_STEPS = """\
  1. Get the {name} images: {mirror}
     or from the SelfExSR release (Huang et al. 2015): https://github.com/jbhuang0604/SelfExSR
     (Set5 and Set14 under data/), or any SR benchmark pack with the high-resolution images
     (the files named *_HR.png, or a folder HR/).
  2. Put them so that the HR images sit in one of these places:
       {root}/{name}/*.png          {root}/{name}/HR/*.png
       {root}/{name}/image_SRF_4/*_HR.png   (the SelfExSR layout)
  3. Pass root="{root}" (or set LABKIT_DATA={root}), or pass the folder itself as source{auto}."""


def load_images(source: str | os.PathLike, *, split: str = "test",
                root: str | os.PathLike | None = None, mode: str = "RGB",
                limit: int | None = None, download: bool = False) -> dict[str, torch.Tensor]:
    """Whole images as ``{name: uint8 C×H×W tensor}`` (files in sorted order).

    ``source``: ``"photos"`` (scikit-image's colour photographs of ``split``: ``"test"`` = the
    held-out chelsea and coffee, ``"train"`` = the others; offline), ``"div2k"`` (``split``
    ``"valid"`` or ``"train"``: ``root/DIV2K/DIV2K_<split>_HR``), ``"set5"``, ``"set14"``,
    ``"bsd100"``, ``"urban100"`` (``root/Set5`` etc., in the usual layouts: the HR images only),
    or the path of any folder of images. ``mode``: ``"RGB"`` (grey images get three equal
    channels) or ``"L"``. ``limit``: the first N images only. ``download``: fetch DIV2K, Set5
    or Set14 when missing (``labkit.data.download``); nothing is downloaded otherwise.
    """
    name = str(source).lower()
    if name == "photos":
        if split not in ("train", "test"):
            raise ValueError(f"photos has splits 'train' and 'test', not {split!r}")
        files = photo_files(split)
        by_file = {stem: photo for photo, stem in PHOTOS.items()}
        keys = [by_file[f.name] for f in files]
    else:
        files = _locate(source, name, split, resolve_root(root), download)
        keys = [f.stem.removesuffix("_HR") for f in files]
    files, keys = files[:limit], keys[:limit]
    arrays = decode_many(files, lambda i: to_chw(open_image(files[i], mode)))
    return {key: torch.from_numpy(array.copy())
            for key, array in zip(keys, arrays) if array is not None}


def _locate(source: str | os.PathLike, name: str, split: str, root: Path,
            download: bool) -> list[Path]:
    """The image files of a DIV2K split, a benchmark or a folder; a clear error when missing."""
    if name == "div2k":
        if split not in DIV2K_FOLDERS:
            raise ValueError(f"div2k has splits {sorted(DIV2K_FOLDERS)}, not {split!r}")
        return div2k_files(root, split, download)
    if name in BENCHMARKS:
        return _benchmark(name, root, download)
    folder = Path(source).expanduser()
    files = list_images(folder) if folder.is_dir() else []
    if not files:
        known = ", ".join(["photos", "div2k", *BENCHMARKS])
        raise DatasetNotFoundError.build(
            f"An image folder ({source})", [f"{folder}/**/*.{{jpg,jpeg,png,webp}}"],
            f"  Pass an existing folder of images, or one of: {known}.")
    return files


def _benchmark(key: str, root: Path, download: bool) -> list[Path]:
    """The HR images of an SR benchmark under ``root`` (Set5 and Set14 downloaded if asked)."""
    name = BENCHMARKS[key]
    base = root / name
    folders = [base / sub for sub in HR_FOLDERS] + [base]
    searched = [f"{folder}/*.png" for folder in folders]
    remote = REMOTES.get(key)
    mirror = (f"{remote.url}\n     (its {remote.inner}/ folder is {root / remote.folder}),"
              if remote else "from a benchmark pack,")
    steps = BENCHMARK_STEPS.format(name=name, root=root, mirror=mirror,
                                   auto=", or use download=True" if remote else "")
    files, note = _benchmark_files(folders), None
    if not files and download:
        note = f"there is no automatic download of {name}"
        if remote:
            download_or_explain(name, lambda: obtain(key, root), searched, steps)
            files, note = _benchmark_files(folders), "it finished, but no images are there"
    if not files:
        raise DatasetNotFoundError.build(name, searched, steps, note)
    return files


def _benchmark_files(folders: list[Path]) -> list[Path]:
    """The HR images in the first of ``folders`` that has any, or []."""
    for folder in folders:
        files = list_images(folder, recursive=False) if folder.is_dir() else []
        marked = [f for f in files if f.stem.endswith("_HR")]
        files = marked or [f for f in files if not f.stem.endswith(("_LR", "_SR"))]
        if files:
            return files
    return []


def modcrop(image: torch.Tensor, scale: int) -> torch.Tensor:
    """The image (…×H×W) cropped at the bottom and right so that H and W divide by ``scale``."""
    height, width = image.shape[-2:]
    return image[..., : height - height % scale, : width - width % scale]


def bicubic_downscale(images: torch.Tensor, scale: int, *, quantise: bool = True) -> torch.Tensor:
    """The LR input of super-resolution: MATLAB-bicubic ×1/scale of images in [-1, 1] (or uint8).

    Float input (N×C×H×W or C×H×W in [-1, 1], on any device) is resized by ``imresize`` and,
    with ``quantise``, rounded to the 256 levels of an 8-bit image as the benchmarks' LR files
    are; uint8 input gives uint8 output (MATLAB's rounding).
    """
    from .imresize import imresize

    small = imresize(images, 1 / scale)
    if images.dtype == torch.uint8 or not quantise:
        return small
    levels = torch.floor((small + 1) * 127.5 + 0.5).clamp_(0, 255)
    return to_signed(levels)
