"""Derive every notebook's Colab badge and install line from `_config.yml`'s `repository`.

`_config.yml` names the repository (`repository.url`) and the branch or tag students install
(`repository.branch`); the book's launch buttons read them there. This script writes the same two
values into each chapter notebook: the badge in its title cell and the `%pip install` line of its
first code cell after the parameters. `tests/test_notebook_hygiene.py` fails when a notebook
disagrees. Run it after changing `_config.yml`:

    .venv/bin/python tools/sync_repository.py [notebooks/NN_name.ipynb ...]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
BADGE = re.compile(r"https://colab\.research\.google\.com/github/[^)\s]+")
INSTALL = re.compile(r'%pip install -q "labkit @ git\+[^"]+"')


def repository(config: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """(url, branch) of `_config.yml`'s `repository`."""
    found = yaml.safe_load(config.read_text())["repository"]
    return found["url"].rstrip("/"), found["branch"]


def badge(url: str, branch: str, notebook: str, student: bool = False) -> str:
    """The Colab URL that opens `notebook` (a file in notebooks/, or with `student` its student
    edition in notebooks/student/: what students get when the chapter has exercises)."""
    folder = "notebooks/student" if student else "notebooks"
    return (f"https://colab.research.google.com/github/{url.removeprefix('https://github.com/')}"
            f"/blob/{branch}/{folder}/{notebook}")


def has_exercises(nb: nbformat.NotebookNode) -> bool:
    """Whether a chapter notebook holds questions (otter's `# BEGIN QUESTION` raw cells)."""
    return any(c.cell_type == "raw" and c.source.startswith("# BEGIN QUESTION") for c in nb.cells)


def install(url: str, branch: str) -> str:
    """The install line: labkit from the repository at `branch`; pip keeps an installed torch
    that satisfies labkit's lower-bound pins (Colab's), so it is not replaced."""
    return f'%pip install -q "labkit @ git+{url}@{branch}"'


def synced(path: Path, url: str, branch: str) -> nbformat.NotebookNode:
    """The notebook at `path` with its badge and install line derived from (url, branch)."""
    nb = nbformat.read(path, as_version=4)
    title, install_cell = nb.cells[0], nb.cells[2]
    title.source = BADGE.sub(badge(url, branch, path.name, has_exercises(nb)), title.source)
    install_cell.source = INSTALL.sub(install(url, branch), install_cell.source)
    return nb


def main(argv: list[str] | None = None) -> int:
    """Sync the notebooks given on the command line, else every chapter notebook."""
    url, branch = repository()
    given = [Path(p).resolve() for p in (sys.argv[1:] if argv is None else argv)]
    for path in given or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        nb = synced(path, url, branch)
        if nb != nbformat.read(path, as_version=4):
            nbformat.write(nb, path)
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
