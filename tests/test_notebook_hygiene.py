"""Every chapter notebook as stored in git: stripped, and opening the way the course promises."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def test_there_are_chapter_notebooks():
    assert any(nb.name.startswith("02_") for nb in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_with_badge_parameters_and_install(path):
    nb = nbformat.read(path, as_version=4)
    repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    branch = CONFIG["repository"]["branch"]
    title = nb.cells[0]
    assert title.cell_type == "markdown" and title.source.startswith("# ")
    exercises = any(c.cell_type == "raw" and c.source.startswith("# BEGIN QUESTION")
                    for c in nb.cells)
    folder = "notebooks/student" if exercises else "notebooks"  # students open their edition
    badge = f"https://colab.research.google.com/github/{repo}/blob/{branch}/{folder}/{path.name}"
    assert badge in title.source, "the Colab badge must point at this notebook in the repo"
    parameters = nb.cells[1]
    assert parameters.cell_type == "code" and "parameters" in parameters.metadata.get("tags", [])
    assert re.search(r'^profile = "auto"', parameters.source, re.M)
    values = [line.split("=", 1)[1].split("#")[0].strip()
              for line in parameters.source.splitlines() if "=" in line.split("#")[0]]
    assert values[0] == '"auto"' and all(v == "None" for v in values[1:]), "knobs default to None"
    install = nb.cells[2].source
    assert f"git+{CONFIG['repository']['url']}@{branch}\"" in install


def _sync_tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("sync_repository",
                                                  ROOT / "tools" / "sync_repository.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_badge_and_install_line_are_derived_from_config_yml(path, tmp_path):
    """One place names the repository and the branch students install: _config.yml. The book's
    launch buttons read it; tools/sync_repository.py writes it into the notebooks, and a
    notebook it would change disagrees with _config.yml."""
    tool = _sync_tool()
    url, branch = tool.repository()
    assert (url, branch) == (CONFIG["repository"]["url"], CONFIG["repository"]["branch"])
    assert tool.synced(path, url, branch) == nbformat.read(path, as_version=4), (
        f"{path.name} disagrees with _config.yml: run tools/sync_repository.py")
    other = tmp_path / "_config.yml"  # the tool follows _config.yml, whatever it says
    other.write_text("repository:\n  url: https://github.com/someone/fork\n  branch: v2\n")
    moved = tool.synced(path, *tool.repository(other))
    assert "github/someone/fork/blob/v2/notebooks/" in moved.cells[0].source
    assert '"labkit @ git+https://github.com/someone/fork@v2"' in moved.cells[2].source


def test_installing_on_colab_keeps_colabs_torch():
    """pip keeps an installed torch that satisfies labkit's pins: only lower bounds allowed."""
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        name = re.split(r"[<>=!~ \[;]", dep, maxsplit=1)[0].lower()
        assert not re.search(r"==|<|~=|!=", dep), f"{dep}: lower-bound pins only"
        if name in ("torch", "torchvision"):
            assert ">=" in dep


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_install_cell_is_a_no_op_when_labkit_is_importable(path):
    from IPython.core.interactiveshell import InteractiveShell

    nb = nbformat.read(path, as_version=4)
    install = nb.cells[2].source
    head = install.split("\n\n")[0]  # the try/except block that may install
    shell = InteractiveShell.instance()
    calls = []
    original = shell.run_line_magic
    shell.run_line_magic = lambda name, line, *a, **k: calls.append((name, line))
    try:
        result = shell.run_cell(head)
    finally:
        shell.run_line_magic = original
    assert result.success and calls == []
    broken = head.replace("import labkit", "import labkit_that_is_missing")
    shell.run_line_magic = lambda name, line, *a, **k: calls.append((name, line))
    try:
        shell.run_cell(broken)
    finally:
        shell.run_line_magic = original
    assert calls and calls[0][0] == "pip" and "git+" in calls[0][1]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_papermill_reads_every_line_of_the_parameters_cell(path, caplog):
    """`papermill --help-notebook` and `-p` rely on papermill parsing each parameter line; a
    line it cannot parse is dropped from the help with only a log warning."""
    papermill = pytest.importorskip("papermill")
    with caplog.at_level("WARNING"):
        parameters = papermill.inspect_notebook(str(path))
    assert not [r.getMessage() for r in caplog.records if "Unable to parse" in r.getMessage()]
    source = nbformat.read(path, as_version=4).cells
    cell = next(c for c in source if "parameters" in c.metadata.get("tags", []))
    assigned = [line for line in cell.source.splitlines() if re.match(r"^\w+\s*=", line)]
    assert len(parameters) == len(assigned) and parameters["profile"]["default"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_parameters_cell_lists_exactly_the_chapters_knobs(path):
    """The notebook's parameters and its chapter module's Config are the same list, so
    `-p name=value` (papermill) and `labkit run -p name=value` accept the same names."""
    from labkit import chapters

    config = chapters.get(path.stem).Config
    nb = nbformat.read(path, as_version=4)
    cell = nb.cells[1]
    names = [line.split("=")[0].strip() for line in cell.source.splitlines()
             if re.match(r"^\w+\s*=", line)]
    assert names[0] == "profile"
    assert sorted(names[1:]) == sorted(config.names())
    assert f"from labkit.chapters import {chapters.name_of(path.stem)}" in nb.cells[2].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_code_cell_is_longer_than_60_lines(path):
    cells = nbformat.read(path, as_version=4).cells
    longest = max(len(c.source.splitlines()) for c in cells if c.cell_type == "code")
    assert longest <= 60, f"{path.name}: a code cell of {longest} lines belongs in labkit"
