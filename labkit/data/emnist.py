"""EMNIST from torchvision's layout (``EMNIST/raw/*-ubyte`` or ``.gz``), turned upright.

``download=True`` fetches NIST's ``gzip.zip`` (checked against the md5 torchvision publishes)
and puts the ``.gz`` files of its ``gzip/`` folder in ``EMNIST/raw`` (``labkit.data.download``).

Split convention: ``split`` names an EMNIST variant (``byclass``, ``bymerge``, ``balanced``,
``letters``, ``digits``, ``mnist``) and its part: ``"balanced"`` or ``"balanced-train"`` is the
training part, ``"balanced-test"`` the test part. Plain ``"train"`` / ``"test"`` mean the
``balanced`` variant (47 classes).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import EMNIST

from .download import obtain
from .errors import DatasetNotFoundError, download_or_explain
from .source import Request, Source, select
from .transforms import RESIZE, resize_arrays

VARIANTS = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
DEFAULT_VARIANT = "balanced"
SPLITS = ("train", "test") + tuple(
    f"{variant}{part}" for variant in VARIANTS for part in ("", "-train", "-test")
)

STEPS = """\
  1. Download https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip (about 560 MB;
     official page: https://www.nist.gov/itl/products-and-services/emnist-dataset).
  2. Unzip it and put the files of its gzip/ folder (as .gz, or gunzipped) here:
       {root}/
         EMNIST/
           raw/
             emnist-{variant}-train-images-idx3-ubyte.gz
             emnist-{variant}-train-labels-idx1-ubyte.gz
             emnist-{variant}-test-images-idx3-ubyte.gz
             emnist-{variant}-test-labels-idx1-ubyte.gz
  3. Pass root="{root}" (or set LABKIT_DATA={root}), or use download=True."""


def parse_split(split: str) -> tuple[str, str]:
    """A split as (variant, part): ``"balanced-test"`` -> ``("balanced", "test")``."""
    if split in ("train", "test"):
        return DEFAULT_VARIANT, split
    variant, _, part = split.partition("-")
    return variant, part or "train"


def classes(split: str) -> list[str]:
    """The class names of a split's variant (torchvision's ``EMNIST.classes_split_dict``)."""
    return list(EMNIST.classes_split_dict[parse_split(split)[0]])


def read_idx(path: Path) -> np.ndarray:
    """An idx file (uint8 data, big-endian header; plain or ``.gz``) as a numpy array; a
    ValueError names the file when it is not one, or is cut short."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            data = file.read()
    except (EOFError, OSError, zlib.error) as error:  # a gzip stream cut short or damaged
        raise ValueError(f"{path} is damaged or cut short ({type(error).__name__}: {error}); "
                         "download it again") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path} is not a uint8 idx file (its first bytes are {data[:4]!r}, "
                         "an idx file starts with 00 00 08); download it again")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise ValueError(f"{path} is cut short: it ends inside its header; download it again")
    shape = np.frombuffer(data, dtype=">i4", count=ndim, offset=4)
    expected = int(np.prod(shape))
    found = len(data) - 4 - 4 * ndim
    if found != expected:
        raise ValueError(f"{path} holds {found:,} bytes of data where its header "
                         f"{tuple(int(n) for n in shape)} says {expected:,}: the file is "
                         f"{'cut short' if found < expected else 'longer than it says'}; "
                         "download it again")
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _file(raw: Path, variant: str, part: str, kind: str) -> Path | None:
    name = f"emnist-{variant}-{part}-{kind}-ubyte"
    for candidate in (raw / name, raw / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _decode(request: Request, images_file: Path, labels_file: Path) -> tuple[torch.Tensor, ...]:
    labels = read_idx(labels_file).astype(np.int64)
    names = classes(request.split)
    low, high = int(names[0] == "N/A"), len(names) - 1  # letters: 1..26 ("N/A" is unused 0)
    if len(labels) and (labels.min() < low or labels.max() > high):
        raise ValueError(f"{labels_file} holds labels from {labels.min()} to {labels.max()}, "
                         f"but the {parse_split(request.split)[0]} split has labels {low} to "
                         f"{high}: the labels file belongs to another split or is damaged")
    keep = select(labels, request, len(labels))
    glyphs = read_idx(images_file)[keep].transpose(0, 2, 1)  # stored transposed: make upright
    images = resize_arrays(glyphs, request.image_size, request.mode)
    return images, torch.from_numpy(labels[keep])


def locate(request: Request) -> Source:
    """Find an EMNIST split under ``request.root`` (downloading only if asked)."""
    variant, part = parse_split(request.split)
    raw = request.root / "EMNIST" / "raw"
    searched = [
        f"{raw}/emnist-{variant}-{part}-{kind}-ubyte[.gz]"
        for kind in ("images-idx3", "labels-idx1")
    ]
    steps = STEPS.format(root=request.root, variant=variant)
    files = [_file(raw, variant, part, kind) for kind in ("images-idx3", "labels-idx1")]
    if None in files and request.download:
        download_or_explain("EMNIST", lambda: obtain("emnist", request.root), searched, steps)
        files = [_file(raw, variant, part, kind) for kind in ("images-idx3", "labels-idx1")]
    images_file, labels_file = files
    if images_file is None or labels_file is None:
        note = "it finished, but these files are not among those it gave" if request.download \
            else None
        raise DatasetNotFoundError.build("EMNIST", searched, steps, note)
    return Source(
        files=[images_file, labels_file],
        transform=RESIZE + "; transposed upright",
        decode=lambda: _decode(request, images_file, labels_file),
        base=request.root,
    )
