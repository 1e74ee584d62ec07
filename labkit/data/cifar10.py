"""CIFAR-10 from torchvision's on-disk layout (``cifar-10-batches-py``).

Downloaded by ``labkit.data.download`` (the archive checked against the md5 torchvision
publishes, extracted safely); read here with a restricted unpickler that accepts plain data and
numpy arrays only, so a crafted batch file cannot run code, and checked for the shape and labels
of a CIFAR-10 batch."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import CIFAR10

from .download import obtain
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


# What a published CIFAR-10 batch may refer to when unpickled: numpy's array reconstruction and
# the latin-1 bytes of a Python 2 pickle. Anything else (a pickle that would run code) is refused.
ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
           ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
           ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles plain data and numpy arrays only; a reference to anything else is an error."""

    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refers to {module}.{name}, which a CIFAR-10 batch never "
                                     "does (loading it could run code)")


def read_batch(path: Path) -> dict:
    """One pickled CIFAR-10 file, read with the restricted unpickler; a ValueError names the
    file when it is damaged, cut short or not a CIFAR-10 batch."""
    try:
        with open(path, "rb") as file:
            entry = _BatchUnpickler(file, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise ValueError(f"{path} is not a readable CIFAR-10 file ({error}); download it "
                         "again") from None
    if not isinstance(entry, dict):
        raise ValueError(f"{path} is not a CIFAR-10 file (it holds a {type(entry).__name__})")
    return entry


def _batch_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(N×32×32×3 uint8 pixels, N int64 labels) of a data batch, checked."""
    entry = read_batch(path)
    data, labels = entry.get("data"), entry.get("labels")
    if (not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2
            or data.shape[1] != 3 * 32 * 32 or labels is None or len(labels) != len(data)):
        raise ValueError(f"{path} is not a CIFAR-10 data batch: it should hold 'data' "
                         "(N×3072 uint8) and N 'labels'")
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise ValueError(f"{path} holds labels from {labels.min()} to {labels.max()}; "
                         "CIFAR-10 has labels 0 to 9")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def _files(root: Path, split: str) -> list[Path]:
    parts = CIFAR10.train_list if split == "train" else CIFAR10.test_list
    return [root / FOLDER / name for name, _ in parts + [(CIFAR10.meta["filename"], None)]]


def _decode(request: Request) -> tuple[torch.Tensor, torch.Tensor]:
    batches = [_batch_arrays(path) for path in _files(request.root, request.split)[:-1]]
    meta = read_batch(_files(request.root, request.split)[-1])
    if list(meta.get("label_names", [])) != CLASSES:
        raise ValueError(f"{_files(request.root, request.split)[-1]} does not name CIFAR-10's "
                         f"ten classes ({CLASSES})")
    pixels = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    keep = select(labels, request, len(labels))
    images = resize_arrays(pixels[keep], request.image_size, request.mode)
    return images, torch.from_numpy(labels[keep])


def locate(request: Request) -> Source:
    """Find CIFAR-10 under ``request.root`` (downloading only if asked) and plan its reading."""
    folder = request.root / FOLDER
    files = _files(request.root, request.split)
    steps = STEPS.format(root=request.root)
    if not all(f.is_file() for f in files) and request.download:
        download_or_explain("CIFAR-10", lambda: obtain("cifar10", request.root), [f"{folder}/"],
                            steps)
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        note = f"it finished, but {folder} lacks {', '.join(missing)}" if request.download else None
        raise DatasetNotFoundError.build("CIFAR-10", [f"{folder}/"], steps, note)
    return Source(files=files, decode=lambda: _decode(request), transform=RESIZE, base=request.root)
