"""Offline sets from files installed packages ship: sklearn digits, skimage faces and photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torchvision.transforms import InterpolationMode

from .decode import decode_crops
from .source import Request, Source, select
from .transforms import CROPS, resize_arrays

SPLIT_SEED = 0  # the digits train/test split is fixed, whatever ``seed`` a call passes
DIGIT_CLASSES = [str(d) for d in range(10)]
FACES = 100  # lfw_subset(): the first 100 images are faces, the other 100 are not
FACES_TRAIN = 80

# skimage.data colour photographs (loader name: file shipped in skimage/data). The
# colour wheel (color.png) is synthetic, not a photograph, so it is left out.
PHOTOS = {
    "astronaut": "astronaut.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "retina": "retina.jpg",
    "immunohistochemistry": "ihc.png",
    "motorcycle_left": "motorcycle_left.png",  # stereo_motorcycle()
    "motorcycle_right": "motorcycle_right.png",
}
HELD_OUT_PHOTOS = ("chelsea", "coffee")  # split "test": never in split "train"
PHOTO_CROPS = 1000


def _upscale(pixels: np.ndarray, request: Request) -> torch.Tensor:
    """Small H×W grey uint8 images resized (bicubic) to the requested size and mode."""
    return resize_arrays(pixels, request.image_size, request.mode, InterpolationMode.BICUBIC)


def _digits_split(count: int, split: str) -> np.ndarray:
    order = np.random.default_rng(SPLIT_SEED).permutation(count)
    cut = int(0.8 * count)
    parts = {"train": order[:cut], "test": order[cut:], "all": order}
    return np.sort(parts[split])


def _decode_digits(request: Request) -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = (digits.images * 255 / 16).round().astype(np.uint8)  # 0..16 -> 0..255
    labels = digits.target.astype(np.int64)
    index = _digits_split(len(labels), request.split)
    index = index[select(labels[index], request, len(index))]
    return _upscale(pixels[index], request), torch.from_numpy(labels[index])


def locate_digits(request: Request) -> Source:
    """scikit-learn's 1,797 handwritten digits (8×8); train = 80% of a fixed shuffle."""
    import sklearn.datasets

    path = Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"
    return Source(
        files=[path],
        decode=lambda: _decode_digits(request),
        packaged=True,
        transform="0..16 -> 0..255, bicubic resize",
    )


def _decode_faces(request: Request) -> tuple[torch.Tensor, None]:
    from skimage.data import lfw_subset

    faces = (lfw_subset()[:FACES] * 255).round().astype(np.uint8)
    parts = {"train": slice(0, FACES_TRAIN), "test": slice(FACES_TRAIN, FACES), "all": slice(None)}
    faces = faces[parts[request.split]][: request.subset]
    return _upscale(faces, request), None


def locate_faces(request: Request) -> Source:
    """The 100 faces of scikit-image's LFW subset (25×25 grey); train 80, test 20."""
    path = _skimage_data() / "lfw_subset.npy"
    return Source(
        files=[path],
        decode=lambda: _decode_faces(request),
        packaged=True,
        transform="float 0..1 -> uint8, bicubic resize",
    )


def _skimage_data() -> Path:
    import skimage.data

    return Path(skimage.data.__file__).parent


def photo_files(split: str) -> list[Path]:
    """The shipped photo files of a split (``test`` = ``HELD_OUT_PHOTOS``); missing ones skipped."""
    names = [n for n in PHOTOS if (n in HELD_OUT_PHOTOS) == (split == "test")]
    files = [_skimage_data() / PHOTOS[name] for name in names]
    return [f for f in files if f.is_file()]


def locate_photos(request: Request) -> Source:
    """Seeded random crops of scikit-image's colour photographs (``subset`` = number of crops)."""
    files = photo_files(request.split)
    if not files:
        raise FileNotFoundError(f"no scikit-image photographs found in {_skimage_data()}")
    count = request.subset or PHOTO_CROPS
    size, mode, seed = request.image_size, request.mode, request.seed
    return Source(
        files=files,
        decode=lambda: (decode_crops(files, count, size, mode, seed), None),
        packaged=True,
        transform=CROPS,
    )
