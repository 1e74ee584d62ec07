"""The rendered book: a smoke build's pages, figures, bibliography and math, checked without a
browser by the functions `make check-book` uses (tools/check_book.py).

The build goes to a temporary folder (`jupyter-book build <repo> --path-output <tmp>`), with its
own execution cache, data cache and runs folder, so the repository's `_build` is left alone.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_book", ROOT / "tools" / "check_book.py")
check_book = importlib.util.module_from_spec(_spec)
sys.modules["check_book"] = check_book
_spec.loader.exec_module(check_book)

DOCNAMES = check_book.toc_docnames(ROOT)
NOTEBOOK_PAGES = [d for d in DOCNAMES if (ROOT / f"{d}.ipynb").is_file()]


class BookBuildWarning(UserWarning):
    """A warning of the smoke build of the book (listed in pytest's warnings summary)."""


# ---------------------------------------------------------------------------------------------
# The smoke build


@pytest.fixture(scope="module")
def book(tmp_path_factory, smoke_run) -> dict:
    """Build the book from the chapters executed at smoke by the session's `smoke_run` (no
    execution of its own: CI runs each notebook in full only there and in nbval); the HTML
    folder and the build log."""
    pytest.importorskip("jupyter_book")
    yaml = pytest.importorskip("yaml")
    out = tmp_path_factory.mktemp("book")
    src = out / "src"
    shutil.copytree(ROOT / "book", src / "book")
    shutil.copytree(ROOT / "bench", src / "bench")  # the benchmark appendix includes its table
    shutil.copy(ROOT / "_toc.yml", src / "_toc.yml")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    (src / "_config.yml").write_text(yaml.safe_dump(config))
    for docname in NOTEBOOK_PAGES:
        target = src / f"{docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(smoke_run(Path(docname).name + ".ipynb")[2], target)
    jupyter_book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) \
        or shutil.which("jupyter-book")
    assert jupyter_book, "jupyter-book is not installed (pip install -e '.[dev]')"
    env = {**os.environ, "LABKIT_PROFILE": "smoke", "LABKIT_CACHE": str(out / "cache"),
           "LABKIT_RUNS": str(out / "runs")}
    proc = subprocess.run([jupyter_book, "build", str(src), "--path-output", str(out),
                           "--builder", "html"], env=env, capture_output=True, text=True,
                          timeout=1200)
    log = proc.stdout + proc.stderr
    (out / "build.log").write_text(log, encoding="utf-8")
    return {"html": out / "_build" / "html", "log": log, "returncode": proc.returncode,
            "log_path": out / "build.log"}


@pytest.mark.slow
def test_smoke_build_has_no_errors_and_reports_its_warnings(book):
    errors, build_warnings = check_book.parse_build_log(book["log"])
    for line in build_warnings:
        warnings.warn(line, BookBuildWarning, stacklevel=1)
    assert book["returncode"] == 0 and not errors, (
        f"jupyter-book build failed (exit {book['returncode']}), log: {book['log_path']}\n"
        + "\n".join(errors or book["log"].splitlines()[-30:]))


@pytest.mark.slow
def test_every_page_of_the_toc_is_built(book):
    assert DOCNAMES and not check_book.check_pages_exist(book["html"], DOCNAMES)


@pytest.mark.slow
@pytest.mark.parametrize("docname", NOTEBOOK_PAGES)
def test_chapter_page_embeds_every_figure_its_notebook_produced(book, docname):
    html = book["html"]
    executed = check_book.executed_notebook(html, docname)
    assert executed is not None, f"no executed notebook for {docname}"
    assert not check_book.check_executed(html, docname)
    figures = [f for f in check_book.notebook_figures(executed) if f.glue is None]
    assert figures, f"{docname}: the executed notebook has no image output"
    produced, shown = check_book.figure_counts(html, [docname])[docname]
    assert shown == produced == len(figures)
    problems = check_book.check_figures(html, docname)
    assert not problems, "\n".join(map(str, problems))
    for figure in figures:
        path = html / "_images" / figure.filename
        assert path.is_file() and path.stat().st_size > 0, path


@pytest.mark.slow
def test_bibliography_lists_the_cited_works_and_every_citation_resolved(book):
    html = book["html"]
    cited = {key for d in DOCNAMES for key in check_book.cited_keys(
        check_book.source_text(check_book.source_path(ROOT, d)))}
    assert cited, "no page cites anything: the bibliography check would prove nothing"
    problems = check_book.check_bibliography(ROOT, html, DOCNAMES)
    for docname in DOCNAMES:
        problems += check_book.check_citations(html, docname)
    assert not problems, "\n".join(map(str, problems))
    assert "could not find bibtex key" not in book["log"]
    assert check_book.bibliography_entries(html, DOCNAMES)


@pytest.mark.slow
def test_results_page_pastes_every_chapters_glued_numbers(book):
    keys = check_book.glue_keys(ROOT / "book" / "results.md")
    assert len(keys) >= len(NOTEBOOK_PAGES), keys  # at least one summary per chapter
    problems = check_book.check_results(book["html"], NOTEBOOK_PAGES, keys)
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.slow
def test_exercises_are_blocks_with_their_solutions_present_but_collapsed(book):
    with_exercises = [d for d in NOTEBOOK_PAGES if check_book.questions(ROOT, d)]
    assert with_exercises, "no chapter has exercises"
    for docname in with_exercises:
        assert check_book.check_exercises(book["html"], docname) == []
    # the check fails on a page whose solutions are shown: the same page, tags removed
    docname = with_exercises[0]
    page = check_book.page_path(book["html"], docname)
    original = page.read_text(encoding="utf-8")
    try:
        page.write_text(original.replace("tag_hide-input", "tag_shown"), encoding="utf-8")
        problems = check_book.check_exercises(book["html"], docname)
        assert problems and "collapsed" in str(problems[0])
    finally:
        page.write_text(original, encoding="utf-8")


@pytest.mark.slow
def test_no_page_shows_an_unrendered_role_or_math(book):
    problems = [p for d in DOCNAMES for p in check_book.check_literals(book["html"], d)]
    assert not problems, "\n".join(map(str, problems))


# ---------------------------------------------------------------------------------------------
# The checks themselves, on a small hand-made build (fast, no jupyter-book)

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201ff0a2db4"
    "0000000049454e44ae426082")).decode()


def _fake_build(tmp_path: Path, images_on_page: int, body: str = "") -> Path:
    """A build folder with one notebook page whose notebook made two different images."""
    html = tmp_path / "_build" / "html"
    (html / "_images").mkdir(parents=True)
    (html / "ch").mkdir()
    other = base64.b64encode(base64.b64decode(PNG) + b"\0").decode()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("show()", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png})
                    for png in (PNG, other)]
    nb.cells = [nbformat.v4.new_markdown_cell("# Ch"), cell]
    executed = tmp_path / "_build" / "jupyter_execute" / "ch" / "one.ipynb"
    executed.parent.mkdir(parents=True)
    nbformat.write(nb, executed)
    names = [check_book.image_filename("image/png", png) for png in (PNG, other)]
    assert names[0] == hashlib.sha256(base64.b64decode(PNG)).hexdigest() + ".png"
    imgs = ""
    for name, png in list(zip(names, (PNG, other)))[:images_on_page]:
        (html / "_images" / name).write_bytes(base64.b64decode(png))
        imgs += f'<div class="cell_output"><img src="../_images/{name}"/></div>'
    (html / "ch" / "one.html").write_text(
        f"<html><body><article>{imgs}{body}</article></body></html>", encoding="utf-8")
    (html / "index.html").write_text("<html></html>", encoding="utf-8")
    return html


def test_checks_accept_a_page_with_all_its_figures(tmp_path):
    html = _fake_build(tmp_path, images_on_page=2)
    assert check_book.check_figures(html, "ch/one") == []
    assert check_book.check_executed(html, "ch/one") == []
    assert check_book.figure_counts(html, ["ch/one"]) == {"ch/one": (2, 2)}


def test_checks_find_a_missing_figure_and_an_empty_image(tmp_path):
    html = _fake_build(tmp_path, images_on_page=1)
    (name,) = os.listdir(html / "_images")
    (html / "_images" / name).write_bytes(b"")
    messages = [p.message for p in check_book.check_figures(html, "ch/one")]
    assert any("is missing or empty" in m for m in messages)
    assert any("cell 1 output 1" in m and "not on the page" in m for m in messages)


def test_checks_find_an_unexecuted_notebook_a_text_only_figure_and_a_widget(tmp_path):
    html = _fake_build(tmp_path, images_on_page=2)
    executed = html.parent / "jupyter_execute" / "ch" / "one.ipynb"
    nb = json.loads(executed.read_text())
    nb["cells"][1]["execution_count"] = None
    executed.write_text(json.dumps(nb))
    (problem,) = check_book.check_executed(html, "ch/one")
    assert "was not executed" in problem.message
    nb["cells"][1]["execution_count"] = 1
    nb["cells"][1]["outputs"] = [{"output_type": "display_data", "metadata": {}, "data": {
        "text/plain": "<Figure size 640x480 with 1 Axes>"}}]
    executed.write_text(json.dumps(nb))
    (problem,) = check_book.check_executed(html, "ch/one")
    assert "displayed a figure as text only" in problem.message
    nb["cells"][1]["outputs"][0]["data"] = {
        "application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2,
                                                     "version_minor": 0},
        "text/plain": "VBox()"}
    executed.write_text(json.dumps(nb))
    (problem,) = check_book.check_executed(html, "ch/one")
    assert "shows an ipywidget" in problem.message
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stderr", "text": [
        "[1/2][5/10]\tLoss_D: 1.0\n", "epoch 1/2:  40%|████      | 4/10 [00:01<00:02, 3.2it/s]\r"]}]
    executed.write_text(json.dumps(nb))
    (problem,) = check_book.check_executed(html, "ch/one")
    assert "saved a progress bar" in problem.message
    nb["cells"][1]["outputs"][0]["text"] = ["[1/2][5/10]\tLoss_D: 1.0 (40%|done)\n"]
    executed.write_text(json.dumps(nb))
    assert check_book.check_executed(html, "ch/one") == []


def test_checks_find_stray_reprs_and_tables_left_as_pipes(tmp_path):
    body = ("<p>| dataset | SWD |\n|---|---|\n| digits | 2.1 |</p>"
            "<p>A sentence with a | pipe is fine.</p>")
    html = _fake_build(tmp_path, images_on_page=2, body=body)
    (problem,) = check_book.check_tables(html, "ch/one")
    assert "paragraph of pipes" in problem.message and "| dataset | SWD |" in problem.message
    executed = html.parent / "jupyter_execute" / "ch" / "one.ipynb"
    nb = json.loads(executed.read_text())
    nb["cells"][1]["outputs"] = [{"output_type": "execute_result", "execution_count": 1,
                                  "metadata": {}, "data": {
                                      "text/plain": "PosixPath('runs/cgan-1/metrics.json')"}}]
    executed.write_text(json.dumps(nb))
    (problem,) = check_book.check_executed(html, "ch/one")
    assert "ends in a value the page shows as its repr (PosixPath(" in problem.message
    nb["cells"][1]["outputs"][0]["data"]["text/html"] = "<table></table>"
    executed.write_text(json.dumps(nb))
    assert check_book.check_executed(html, "ch/one") == []  # a table is a rich display


def test_checks_find_unrendered_roles_math_and_unresolved_citations(tmp_path):
    body = ('<p>Broken {cite} <code>radford2016</code>, $$x = 1$$ and $\\alpha$ left as text, '
            'an unknown key <span class="bibtex-citation">[]</span>, a link to nowhere '
            '<span class="bibtex-citation">[<a href="refs.html#id9">X, 2020</a>]</span>.</p>'
            '<p>Fine: <code>{cite}</code>, <span class="math">\\(x^2\\)</span>.</p>'
            '<pre>$$ y $$ {math}</pre>')
    html = _fake_build(tmp_path, images_on_page=2, body=body)
    literals = [p.message for p in check_book.check_literals(html, "ch/one")]
    assert len(literals) == 3, literals
    assert "unrendered role {cite}" in literals[0]
    assert "$$x = 1$$" in literals[1] and "$\\alpha$" in literals[2]
    citations = [p.message for p in check_book.check_citations(html, "ch/one")]
    assert citations == ["unresolved citation (rendered as '[]')",
                         "citation 'X, 2020' links to refs.html#id9, a page that does not exist"]


def test_cited_keys_and_build_log():
    text = "See {cite}`a2014,b2015` and {cite:p}`c`; not `{cite}` in code, nor {cite}`a b`."
    assert check_book.cited_keys(text) == ["a2014", "b2015", "c"]
    log = ("\x1b[91m/x/a.md:3: WARNING: could not find bibtex key \"k\"\x1b[39;49;00m\n"
           "[IPKernelApp] WARNING | Kernel is running over TCP\n"
           "/x/b.ipynb: WARNING: Executing notebook failed: CellExecutionError [mystnb.exec]\n"
           "build succeeded, 2 warnings.\n")
    errors, build_warnings = check_book.parse_build_log(log)
    assert errors == ["/x/b.ipynb: WARNING: Executing notebook failed: CellExecutionError "
                      "[mystnb.exec]"]
    assert build_warnings == ['/x/a.md:3: WARNING: could not find bibtex key "k"']


def test_results_check_finds_a_key_nobody_glued_and_a_number_the_page_lacks(tmp_path):
    html = _fake_build(tmp_path, images_on_page=2)
    executed = html.parent / "jupyter_execute" / "ch" / "one.ipynb"
    nb = nbformat.read(executed, as_version=4)
    table = "<table><tr><th>SWD</th></tr><tr><td>1.234</td><td>0.5</td></tr></table>"
    glue_cell = nbformat.v4.new_code_cell('glue("ch_table", t)\ndisplay(t)', execution_count=2)
    glue_cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": table})]
    nb.cells.append(glue_cell)
    nbformat.write(nb, executed)
    assert check_book.glued_values(html, ["ch/one"]) == {"ch_table": table}
    source = tmp_path / "results.md"
    source.write_text("# Results\n\n```{glue} ch_table\n:doc: x.ipynb\n```\n\n"
                      "```{glue} ch_missing\n:doc: y.ipynb\n```\n")
    keys = check_book.glue_keys(source)
    assert keys == ["ch_table", "ch_missing"]
    (html / "book").mkdir()
    page = html / "book" / "results.html"
    page.write_text("<article><table><td>1.234</td><td>0.5</td></table></article>")
    (problem,) = check_book.check_results(html, ["ch/one"], keys)
    assert "'ch_missing' is pasted but no executed chapter glued it" in problem.message
    page.write_text("<article><table><td>1.23</td><td>0.5</td></table></article>")
    messages = [p.message for p in check_book.check_results(html, ["ch/one"], keys)]
    assert "'ch_table': the page lacks ['1.234']" in messages


def test_a_notebook_taken_from_the_execution_cache_is_read_with_the_cached_outputs(tmp_path):
    """myst-nb writes `jupyter_execute/` copies of cached notebooks without outputs (a warm
    `make book`); the checks then read the outputs from the cache, for that version only."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    source = tmp_path / "ch" / "one.ipynb"
    source.parent.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    nbformat.write(nb, source)
    run = nbformat.from_dict(json.loads(json.dumps(nb)))
    run.cells[0].execution_count = 1
    run.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    build = tmp_path / "_build"
    get_cache(build / ".jupyter_cache").cache_notebook_bundle(CacheBundleIn(run, str(source)),
                                                              check_validity=False)
    copy = build / "jupyter_execute" / "ch" / "one.ipynb"
    copy.parent.mkdir(parents=True)
    nbformat.write(nb, copy)
    assert check_book.read_executed(copy).cells[0].outputs[0]["text"] == "1\n"
    assert check_book.check_executed(build / "html", "ch/one") == []
    nb.cells[0].source = "print(2)"  # a version of the notebook the cache never ran
    nbformat.write(nb, source)
    assert check_book.read_executed(copy).cells[0].execution_count is None
    (problem,) = check_book.check_executed(build / "html", "ch/one")
    assert "was not executed" in problem.message


def test_the_results_page_is_read_again_on_every_build():
    """Sphinx does not know the results page depends on the chapters' glued outputs; the local
    extension marks it outdated on every build, so a re-executed chapter's numbers reach it."""
    import types

    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    folder = config["sphinx"]["local_extensions"]["reread_results"]
    spec = importlib.util.spec_from_file_location(
        "reread_results", ROOT / folder / "reread_results.py")
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)
    env = types.SimpleNamespace(found_docs={"book/intro", "book/results", "notebooks/x"})
    assert extension._always_outdated(None, env, set(), set(), set()) == ["book/results"]
    assert "book/results" in DOCNAMES
