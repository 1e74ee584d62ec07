"""One module per chapter: its configuration (smoke / cpu / full side by side), its headless
`run(config)`, its chapter-specific figures and its claims. The notebook tells the story and
calls the same functions cell by cell; `labkit run CHAPTER` calls `run`.

| number | module | notebook |
|---|---|---|
| 1 | theory | 01_gan_theory |
| 2 | dcgan | 02_dcgan_celeba |
| 3 | crossdata | 03_cross_dataset |
| 4 | cgan | 04_cgan_emnist |
| 5 | srgan | 05_srgan |
| 6 | ablations | 06_improved_dcgan |
| 7 | stabilisers | 07_stabilisers |
"""

from __future__ import annotations

import importlib
from types import ModuleType

CHAPTERS = {"theory": 1, "dcgan": 2, "crossdata": 3, "cgan": 4, "srgan": 5, "ablations": 6,
            "stabilisers": 7}


def names() -> list[str]:
    """The chapter modules' names, in chapter order."""
    return list(CHAPTERS)


def name_of(name: str | int) -> str:
    """A chapter's module name from its name ("dcgan"), number (2, "2", "02") or notebook stem
    ("02_dcgan_celeba"); a ValueError lists the chapters otherwise."""
    key = str(name).strip()
    by_number = {str(n): m for m, n in CHAPTERS.items()}
    module = (key if key in CHAPTERS else by_number.get(key.lstrip("0"))
              or by_number.get(key.split("_")[0].lstrip("0")))
    if module is None:
        listed = ", ".join(f"{n} {m}" for m, n in CHAPTERS.items())
        raise ValueError(f"unknown chapter {name!r}; choose one of: {listed}")
    return module


def get(name: str | int) -> ModuleType:
    """A chapter's module, found as `name_of` finds it."""
    return importlib.import_module(f"{__name__}.{name_of(name)}")
