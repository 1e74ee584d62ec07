"""Decoding image files with a thread pool; unreadable files are skipped and counted."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from PIL import Image

from .transforms import at_least, convert_mode, random_crops, resize_center_crop, to_chw

EXTENSIONS = (".jpg", ".jpeg", ".jfif", ".png", ".webp")
T = TypeVar("T")


def list_images(folder: Path, recursive: bool = True) -> list[Path]:
    """Image files (jpg/jpeg/jfif/png/webp, any case) under ``folder``, sorted by path."""
    pattern = "**/*" if recursive else "*"
    files = (p for p in folder.glob(pattern) if p.suffix.lower() in EXTENSIONS)
    return sorted(p for p in files if p.is_file())


def open_image(path: Path, mode: str, size: int | None = None) -> Image.Image:
    """Open and fully decode one file in ``mode``; JPEGs decode at a reduced scale if allowed."""
    with Image.open(path) as image:
        if size is not None:
            image.draft(mode, (size, size))  # JPEG DCT scaling; never below ``size``
        image.load()
        return convert_mode(image, mode)


def _workers() -> int:
    return min(16, (os.cpu_count() or 1) + 4)


def _folder(files: Sequence[Path]) -> str:
    return os.path.commonpath([str(p.parent) for p in files])


def _warn_skipped(failed: list[Path]) -> None:
    names = ", ".join(p.name for p in failed[:10]) + (", ..." if len(failed) > 10 else "")
    warnings.warn(f"skipped {len(failed)} unreadable image file(s) in {_folder(failed)} "
                  f"(empty, cut short, or not an image): {names}", stacklevel=3)


def decode_many(files: Sequence[Path], read: Callable[[int], T]) -> list[T | None]:
    """Run ``read(i)`` for each file in a thread pool; failures give None and one warning."""

    def safe(index: int) -> T | None:
        try:
            return read(index)
        except Exception:  # any decoder error: skip the file, never crash half-way
            return None

    with ThreadPoolExecutor(_workers()) as pool:
        results = list(pool.map(safe, range(len(files))))
    failed = [path for path, result in zip(files, results, strict=True) if result is None]
    if failed:
        _warn_skipped(failed)
    return results


def decode_files(files: Sequence[Path], size: int, mode: str) -> tuple[torch.Tensor, np.ndarray]:
    """Decode, resize and center-crop ``files`` into N×C×H×W uint8; also the kept indices."""
    images = torch.empty((len(files), 1 if mode == "L" else 3, size, size), dtype=torch.uint8)
    out = images.numpy()

    def read(index: int) -> bool:
        out[index] = to_chw(resize_center_crop(open_image(files[index], mode, size), size))
        return True

    results = decode_many(files, read)
    kept = np.array([i for i, ok in enumerate(results) if ok], dtype=np.int64)
    if files and not len(kept):
        raise RuntimeError(f"none of the {len(files)} image files in {_folder(files)} is readable")
    if len(kept) < len(files):
        images = images[torch.from_numpy(kept)].contiguous()
    return images, kept


def decode_first(files: Sequence[Path], count: int | None, size: int, mode: str
                 ) -> torch.Tensor:
    """The first ``count`` *readable* files (all when None), decoded like `decode_files`:
    files that fail to decode are skipped and the next ones read in their place."""
    if count is None or count >= len(files):
        return decode_files(files, size, mode)[0]
    parts, start, failed = [], 0, []
    while start < len(files) and sum(len(p) for p in parts) < count:
        wanted = count - sum(len(p) for p in parts)
        batch = list(files[start:start + wanted])
        with warnings.catch_warnings(record=True):  # one warning for all of them, below
            warnings.simplefilter("always")
            try:
                images, kept = decode_files(batch, size, mode)
            except RuntimeError:  # none of this batch is readable: try the next files
                images, kept = images_none(size, mode), np.array([], dtype=np.int64)
        failed += [f for i, f in enumerate(batch) if i not in set(kept.tolist())]
        parts.append(images)
        start += len(batch)
    if failed:
        _warn_skipped(failed)
    found = torch.cat(parts)
    if not len(found):
        raise RuntimeError(f"none of the {len(files)} image files in {_folder(files)} is readable")
    return found


def images_none(size: int, mode: str) -> torch.Tensor:
    """An empty N×C×H×W uint8 batch (N = 0)."""
    return torch.empty((0, 1 if mode == "L" else 3, size, size), dtype=torch.uint8)


def decode_crops(
    files: Sequence[Path], count: int, size: int, mode: str, seed: int
) -> torch.Tensor:
    """``count`` seeded random ``size``×``size`` crops; crop i comes from file ``i % len``."""
    arrays = decode_many(files, lambda i: to_chw(at_least(open_image(files[i], mode), size)))
    arrays = [a for a in arrays if a is not None]
    if not arrays:
        raise RuntimeError(f"none of the {len(files)} image files in {_folder(files)} is readable")
    return random_crops(arrays, count, size, seed)
