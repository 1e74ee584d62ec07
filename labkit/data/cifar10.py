"""CIFAR-10 from torchvision's on-disk layout (``cifar-10-batches-py``), read by torchvision."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import CIFAR10

from .errors import DatasetNotFoundError, download_or_explain
from .source import Request, Source, select
from .transforms import RESIZE, resize_arrays

CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck"]  # fmt: skip
FOLDER = CIFAR10.base_folder

STEPS = """\
  1. Download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz
     (official page: https://www.cs.toronto.edu/~kriz/cifar.html).
  2. Extract it into {root} so that the files sit like this:
       {root}/
         cifar-10-batches-py/
           batches.meta  data_batch_1 ... data_batch_5  test_batch
  3. Pass root="{root}" (or set LABKIT_DATA={root}), or use download=True."""


class PresentCIFAR10(CIFAR10):
    """torchvision's CIFAR10 that only checks the files exist (its md5 check rejects copies)."""

    def _check_integrity(self) -> bool:
        folder = Path(self.root) / self.base_folder
        return all((folder / name).is_file() for name, _ in self.train_list + self.test_list)

    def _load_meta(self) -> None:
        with open(Path(self.root) / self.base_folder / self.meta["filename"], "rb") as file:
            self.classes = pickle.load(file, encoding="latin1")[self.meta["key"]]
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}


def _files(root: Path, split: str) -> list[Path]:
    parts = CIFAR10.train_list if split == "train" else CIFAR10.test_list
    return [root / FOLDER / name for name, _ in parts + [(CIFAR10.meta["filename"], None)]]


def _decode(request: Request) -> tuple[torch.Tensor, torch.Tensor]:
    data = PresentCIFAR10(str(request.root), train=request.split == "train")
    labels = np.asarray(data.targets, dtype=np.int64)
    keep = select(labels, request, len(labels))
    pixels = data.data[keep]  # N×32×32×3 uint8
    images = resize_arrays(pixels, request.image_size, request.mode)
    return images, torch.from_numpy(labels[keep])


def locate(request: Request) -> Source:
    """Find CIFAR-10 under ``request.root`` (downloading only if asked) and plan its reading."""
    folder = request.root / FOLDER
    files = _files(request.root, request.split)
    steps = STEPS.format(root=request.root)
    if not all(f.is_file() for f in files):
        if not request.download:
            raise DatasetNotFoundError.build("CIFAR-10", [f"{folder}/"], steps)
        download_or_explain(
            "CIFAR-10", lambda: CIFAR10(str(request.root), download=True), [f"{folder}/"], steps
        )
    return Source(files=files, decode=lambda: _decode(request), transform=RESIZE, base=request.root)
