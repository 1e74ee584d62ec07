#!/usr/bin/env python
"""Checks of the rendered book, for `make check-book` (headless Chromium) and tests/test_book.py.

The static checks read the HTML that `jupyter-book build` wrote (`<build>/html`) and the executed
notebooks beside it (`<build>/jupyter_execute`), and need no browser:

- every page of `_toc.yml` exists as HTML;
- every chapter notebook was executed in full, with no error, no ipywidget (the book is static)
  and no figure displayed as text only; every image it produced is on its page (myst-nb names
  an image output's file by the SHA-256 of its bytes, so an output and the page's `<img>` are
  matched exactly); every local image a page shows exists and is not empty;
- no cell ends in a value shown only as its repr (`PosixPath('runs/...')`), and no Markdown
  table is left as a paragraph of pipe characters;
- no role was left unrendered (literal `{cite}`, `{math}` …, `$$`), every citation resolved and
  links to an entry of the bibliography, and the bibliography lists every work the pages cite;
- the results page pastes a table glued by an executed chapter for every key it names, with
  every number of that table.

The browser checks (`make check-book`) open every page in headless Chromium and fail on an image
that did not load (naturalWidth 0), a figure that is not displayed, or math that MathJax did not
typeset or typeset with an error; they save a full-page screenshot of each page. Nothing is
fetched from the network: the pages are served on 127.0.0.1, MathJax's CDN is answered from the
copy of MathJax 3 in the `sphinx-mathjax-offline` package, and every other outside request is
refused (and listed).

    python tools/check_book.py [--html _build/html] [--screenshots _build/screenshots]
                               [--chromium /usr/bin/chromium] [--no-browser]
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import os
import re
import sys
import threading
from binascii import a2b_base64
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache, partial
from mimetypes import guess_extension
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import nbformat
import yaml
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
SOURCE_SUFFIXES = (".ipynb", ".md", ".rst")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# myst-nb's order of preference among an output's mime types for HTML (lower wins).
HTML_MIME_PRIORITY = {"application/vnd.jupyter.widget-view+json": 10,
                      "application/javascript": 20, "text/html": 30, "image/svg+xml": 40,
                      "image/png": 50, "image/gif": 60, "image/jpeg": 70, "text/markdown": 80,
                      "text/latex": 90, "text/plain": 100}
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
GLUE_PREFIX = "application/papermill.record/"  # myst_nb.glue(..., display=False)
REMOVE_OUTPUT_TAGS = {"remove-output", "remove_output", "remove-cell", "remove_cell"}
# Roles that, printed literally, mean MyST did not parse them ({cite} `key` with a space, …).
ROLE_LITERAL = re.compile(r"\{(?:cite|footcite|math|eq|ref|numref|doc|term|download|abbr|"
                          r"glue)(?::[\w-]+)?\}")
TEX_LITERAL = re.compile(r"\$\$|\$[^\s$][^$\n]{0,200}?\\[A-Za-z]+[^$\n]{0,200}?\$")
TEXT_ONLY_FIGURE = re.compile(r"^<Figure size [^>]* with \d+ Axes>\s*$")
CITE_ROLE = re.compile(r"(?<!`)\{(?:foot)?cite(?::[\w-]+)?\}`([^`]*)`")
BIB_KEY = re.compile(r"[^\s,{}`$]+")
# Text meant to show markup literally, math for MathJax, and outputs other than Markdown ones
# (myst-nb puts a text/markdown output's paragraphs in the cell's container with no `output`).
NOT_PROSE = ["script", "style", "pre", "code", "kbd", "samp", "textarea", "tt"]
NOT_PROSE_CLASSES = {"math", "highlight", "output"}
MATHJAX_CDN = re.compile(r"^https?://cdn\.jsdelivr\.net/npm/mathjax@3[^/]*/es5/(?P<path>[^?#]+)")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one page of the built book."""

    page: str
    message: str

    def __str__(self) -> str:
        return f"{self.page}: {self.message}"


@dataclass(frozen=True)
class Figure:
    """An image output of an executed notebook, named as myst-nb names its file."""

    cell: int  # index of the cell in the notebook (0-based, counting every cell)
    output: int  # index of the output in the cell
    filename: str  # <sha256 of the bytes><extension>, the file myst-nb writes and the page shows
    rendered_as: str  # the mime type myst-nb renders for this output (the image's, unless not)
    glue: str | None = None  # the glue name when glued with display=False (shown where pasted)

    def where(self) -> str:
        """`cell 12 output 0`, for messages."""
        return f"cell {self.cell} output {self.output}"


# ---------------------------------------------------------------------------------------------
# The book's table of contents and sources


def toc_docnames(root: Path = ROOT) -> list[str]:
    """The documents of `_toc.yml`, in order: `book/intro`, `notebooks/02_dcgan_celeba`, …."""
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    names = [_strip_suffix(toc["root"])]

    def walk(node: object) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            if "file" in node:
                names.append(_strip_suffix(str(node["file"])))
            for key in ("parts", "chapters", "sections"):
                walk(node.get(key) or [])

    walk({key: toc.get(key) for key in ("parts", "chapters", "sections")})
    return list(dict.fromkeys(names))


def _strip_suffix(name: str) -> str:
    for suffix in SOURCE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def source_path(root: Path, docname: str) -> Path | None:
    """The source file of a document (`.ipynb`, `.md` or `.rst`), or None."""
    for suffix in SOURCE_SUFFIXES:
        path = Path(root) / f"{docname}{suffix}"
        if path.is_file():
            return path
    return None


def source_text(path: Path) -> str:
    """The prose of a source: a notebook's markdown cells, or a text file as it is."""
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return path.read_text(encoding="utf-8")


def cited_keys(text: str) -> list[str]:
    """The BibTeX keys cited by `{cite}`, `{cite:p}`, `{footcite}` … roles in MyST text."""
    keys = []
    for group in CITE_ROLE.findall(text):
        parts = [key.strip() for key in group.split(",")]
        if all(BIB_KEY.fullmatch(key) for key in parts):
            keys += parts
    return keys


def bib_files(root: Path) -> list[Path]:
    """The BibTeX files named by `bibtex_bibfiles` in `_config.yml`."""
    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8")) or {}
    return [Path(root) / name for name in config.get("bibtex_bibfiles") or []]


# ---------------------------------------------------------------------------------------------
# The built book


def page_path(html_dir: Path, docname: str) -> Path:
    """Where the HTML of a document is."""
    return Path(html_dir) / f"{docname}.html"


def executed_notebook(html_dir: Path, docname: str) -> Path | None:
    """The notebook myst-nb rendered for a document (`<build>/jupyter_execute/…`), or None."""
    path = Path(html_dir).parent / "jupyter_execute" / f"{docname}.ipynb"
    return path if path.is_file() else None


def read_executed(path: Path) -> nbformat.NotebookNode:
    """The executed notebook at `<build>/jupyter_execute/<docname>.ipynb`. When myst-nb took a
    notebook from its execution cache it writes that copy without outputs, so the outputs are
    then read from the cache (`<build>/.jupyter_cache`), matched to the source notebook; a
    notebook the cache does not hold stays as it is (and reads as not executed)."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    path = Path(path).resolve()
    if not code or any(c.get("execution_count") for c in code) \
            or "jupyter_execute" not in path.parts:
        return nb
    build = path.parents[len(path.parts) - path.parts.index("jupyter_execute") - 1]
    cache = build / ".jupyter_cache"
    source = build.parent / path.relative_to(build / "jupyter_execute")
    if not cache.is_dir() or not source.is_file():
        return nb
    from jupyter_cache import get_cache

    try:
        return get_cache(cache).merge_match_into_notebook(nbformat.read(source, as_version=4))[1]
    except KeyError:  # the cache holds no execution of this version of the notebook
        return nb


def read_html(path: Path) -> BeautifulSoup:
    """A page parsed by BeautifulSoup."""
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def article(soup: BeautifulSoup):
    """The page's own content: the article, without the theme's navigation around it."""
    return soup.find("article") or soup.find("main") or soup.body or soup


def notebook_figures(path: Path) -> list[Figure]:
    """The image outputs of an executed notebook that the book is meant to show."""
    nb = read_executed(path)
    figures = []
    for c, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & REMOVE_OUTPUT_TAGS or cell.metadata.get("mystnb", {}).get("remove_code_outputs"):
            continue
        for o, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            glue = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if any(k.startswith(GLUE_PREFIX) for k in data):
                data = {k[len(GLUE_PREFIX):]: v for k, v in data.items()}
            else:
                glue = None
            images = sorted((m for m in data if m.startswith("image/")),
                            key=lambda m: HTML_MIME_PRIORITY.get(m, 75))
            if not images:
                continue
            shown = min(data, key=lambda m: HTML_MIME_PRIORITY.get(m, 1000))
            figures.append(Figure(c, o, image_filename(images[0], data[images[0]]), shown, glue))
    return figures


def image_filename(mime: str, content: str | list[str]) -> str:
    """The file name myst-nb gives an image output: the SHA-256 of its bytes + an extension."""
    text = "".join(content) if isinstance(content, list) else content
    if mime in {"image/png", "image/jpeg", "image/gif"}:
        data = a2b_base64(text)
    else:
        data = os.linesep.join(text.splitlines()).encode("utf-8")
    extension = guess_extension(mime) or "." + mime.rsplit("/")[-1]
    extension = ".jpeg" if extension == ".jpe" else extension
    return hashlib.sha256(data).hexdigest() + extension


def local_images(html_dir: Path, docname: str) -> list[tuple[str, Path | None]]:
    """The `<img>` sources of a page's article: (src, local file or None when remote/inline)."""
    page = page_path(html_dir, docname)
    found = []
    for img in article(read_html(page)).find_all("img"):
        src = img.get("src") or ""
        if src.startswith("data:") or urlsplit(src).scheme or src.startswith("//"):
            found.append((src, None))
        else:
            found.append((src, (page.parent / unquote(urlsplit(src).path)).resolve()))
    return found


# ---------------------------------------------------------------------------------------------
# Static checks (no browser)


def check_pages_exist(html_dir: Path, docnames: Iterable[str]) -> list[Problem]:
    """Every document of the table of contents has a page."""
    return [Problem(d, f"no page {page_path(html_dir, d)}") for d in docnames
            if not page_path(html_dir, d).is_file()]


PROGRESS_BAR = re.compile(r"\d+%\|[^|\n]*\|\s*\d+/\d+")  # tqdm: " 40%|████      | 4/10"
RICH = ("text/html", "text/markdown", "text/latex", "image/png", "image/jpeg", "image/svg+xml",
        "application/json")
MARKDOWN_TABLE_RULE = re.compile(r"\|\s*:?-{3,}:?\s*\|")  # the |---|---| line of a table


def check_executed(html_dir: Path, docname: str) -> list[Problem]:
    """A notebook page was executed in full and no cell raised."""
    path = executed_notebook(html_dir, docname)
    if path is None:
        return []
    problems = []
    nb = read_executed(path)
    report = Path(html_dir) / "reports" / f"{docname}.err.log"
    hint = f" (traceback: {report})" if report.is_file() else " (see the build log)"
    for c, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if cell.get("execution_count") is None:
            problems.append(Problem(docname, f"cell {c} was not executed: the notebook's "
                                             f"execution failed or stopped{hint}"))
            break
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(Problem(docname, f"cell {c} raised {output.get('ename')}: "
                                                 f"{output.get('evalue', '')[:200]}"))
            data = output.get("data", {})
            if WIDGET_MIME in data:
                problems.append(Problem(docname, f"cell {c} shows an ipywidget, which the static "
                                                 f"book cannot run (its headless fallback, a "
                                                 f"static figure, did not take over)"))
            if set(data) == {"text/plain"} and TEXT_ONLY_FIGURE.match(data["text/plain"]):
                problems.append(Problem(docname, f"cell {c} displayed a figure as text only "
                                                 f"({data['text/plain'].strip()}): matplotlib "
                                                 f"was not on its inline backend (MPLBACKEND "
                                                 f"set?)"))
            if output.get("output_type") == "execute_result" and not set(data) & set(RICH):
                shown = data.get("text/plain", "")
                shown = "".join(shown) if isinstance(shown, list) else shown
                problems.append(Problem(docname, f"cell {c} ends in a value the page shows as "
                                                 f"its repr ({shown.strip()[:80]}): print it, "
                                                 f"display it, or end the cell with ';'"))
            if output.get("output_type") == "stream" and PROGRESS_BAR.search(
                    "".join(output.get("text", ""))) and not any(
                    f"cell {c} saved a progress bar" in p.message for p in problems):
                problems.append(Problem(docname, f"cell {c} saved a progress bar in its output "
                                                 f"(redrawn bars are kept as stale copies in an "
                                                 f"executed notebook): leave progress='auto'"))
    return problems


def check_figures(html_dir: Path, docname: str, book_images: Counter | None = None
                  ) -> list[Problem]:
    """Every image the notebook produced is on its page (glued ones: on some page of the book),
    and every local image the page shows is a non-empty file."""
    problems = []
    page = page_path(html_dir, docname)
    if not page.is_file():
        return [Problem(docname, "page missing")]
    images = local_images(html_dir, docname)
    for src, path in images:
        if path is not None and (not path.is_file() or path.stat().st_size == 0):
            problems.append(Problem(docname, f"image {src} is missing or empty"))
    on_page = Counter(path.name for _, path in images if path is not None)
    notebook = executed_notebook(html_dir, docname)
    for figure in notebook_figures(notebook) if notebook else []:
        if figure.glue is not None:
            if book_images is not None and not book_images[figure.filename]:
                problems.append(Problem(docname, f"{figure.where()}: the figure glued as "
                                                 f"'{figure.glue}' is not pasted on any page"))
        elif on_page[figure.filename] > 0:
            on_page[figure.filename] -= 1
        elif not figure.rendered_as.startswith("image/"):
            problems.append(Problem(docname, f"{figure.where()}: the notebook's figure is not on"
                                             f" the page (myst-nb renders the output's "
                                             f"{figure.rendered_as} instead)"))
        else:
            problems.append(Problem(docname, f"{figure.where()}: the figure the notebook "
                                             f"produced ({figure.filename}) is not on the page"))
    return problems


def prose_text(soup: BeautifulSoup) -> str:
    """The article's prose: without code, preformatted text, math, and outputs other than
    Markdown ones."""
    body = article(soup)
    for tag in body.find_all(NOT_PROSE):
        tag.decompose()
    for tag in body.find_all(class_=lambda c: c is not None and bool(set(c.split())
                                                                     & NOT_PROSE_CLASSES)):
        tag.decompose()
    return body.get_text(" ")


def check_citations(html_dir: Path, docname: str) -> list[Problem]:
    """Every citation on the page resolved and links to an existing bibliography entry."""
    page = page_path(html_dir, docname)
    if not page.is_file():
        return [Problem(docname, "page missing")]
    problems = []
    for citation in article(read_html(page)).select("span.bibtex-citation"):
        links = citation.find_all("a", href=True)
        if not links:
            problems.append(Problem(docname, f"unresolved citation (rendered as "
                                             f"'{citation.get_text(strip=True)}')"))
        for link in links:
            target = _anchor_exists(page, link["href"])
            if target:
                problems.append(Problem(docname, f"citation '{link.get_text(strip=True)}' links "
                                                 f"to {link['href']}, {target}"))
    return problems


def check_literals(html_dir: Path, docname: str) -> list[Problem]:
    """No literal `{cite}`/`{math}`… role and no unprocessed `$$` or `$…\\tex…$` in the
    page's prose (code, outputs and math are left out)."""
    page = page_path(html_dir, docname)
    if not page.is_file():
        return [Problem(docname, "page missing")]
    problems = []
    text = prose_text(read_html(page))
    for match in ROLE_LITERAL.finditer(text):
        problems.append(Problem(docname, f"unrendered role {match.group(0)} in "
                                         f"'{_context(text, match)}'"))
    for match in TEX_LITERAL.finditer(text):
        problems.append(Problem(docname, f"unprocessed math '{match.group(0)[:60]}' in "
                                         f"'{_context(text, match)}'"))
    return problems


def check_tables(html_dir: Path, docname: str) -> list[Problem]:
    """No Markdown table left as a paragraph of pipe characters (a Markdown display object
    that myst-nb did not render as a table: show tables with labkit.book.table)."""
    page = page_path(html_dir, docname)
    if not page.is_file():
        return [Problem(docname, "page missing")]
    problems = []
    for paragraph in article(read_html(page)).find_all("p"):
        text = paragraph.get_text(" ")
        if MARKDOWN_TABLE_RULE.search(text):
            problems.append(Problem(docname, f"a Markdown table rendered as a paragraph of pipes "
                                             f"('{' '.join(text.split())[:80]}...'): show it "
                                             f"with labkit.book.table"))
    return problems


def questions(root: Path, docname: str) -> int:
    """The number of exercises (otter `# BEGIN QUESTION` cells) in a page's source notebook."""
    path = source_path(root, docname)
    if path is None or path.suffix != ".ipynb":
        return 0
    nb = nbformat.read(path, as_version=4)
    return sum(c.cell_type == "raw" and c.source.startswith("# BEGIN QUESTION") for c in nb.cells)


def check_exercises(html_dir: Path, docname: str, root: Path = ROOT) -> list[Problem]:
    """A page with exercises shows each as an exercise block, and each solution is in the page
    inside a collapsed (hide-input) cell: present, but hidden on first view."""
    expected = questions(root, docname)
    page = page_path(html_dir, docname)
    if not expected or not page.is_file():
        return []
    body = article(read_html(page))
    blocks = body.select("div.exercise")
    hidden = [cell for cell in body.select("div.tag_hide-input")
              if "# BEGIN SOLUTION" in cell.get_text() or "# SOLUTION" in cell.get_text()]
    problems = []
    if len(blocks) != expected:
        problems.append(Problem(docname, f"{expected} exercises in the notebook, {len(blocks)} "
                                         "exercise blocks in the page (sphinx-exercise)"))
    if len(hidden) != expected:
        problems.append(Problem(docname, f"{expected} exercises, {len(hidden)} solutions in "
                                         "collapsed cells (tag the solution cell hide-input)"))
    return problems


def _anchor_exists(page: Path, href: str) -> str | None:
    """None when href (relative to page) names an existing page and id; else what is wrong."""
    parts = urlsplit(href)
    target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
    if not target.is_file():
        return "a page that does not exist"
    if parts.fragment and parts.fragment not in _ids(target):
        return "an anchor that does not exist"
    return None


@lru_cache(maxsize=64)
def _ids(page: Path) -> frozenset[str]:
    return frozenset(tag["id"] for tag in read_html(page).find_all(id=True))


def _context(text: str, match: re.Match) -> str:
    start, end = max(0, match.start() - 40), min(len(text), match.end() + 40)
    return " ".join(text[start:end].split())


def bibliography_entries(html_dir: Path, docnames: Iterable[str]) -> dict[str, list[str]]:
    """The text of every bibliography entry, by page (pages without entries left out)."""
    entries = {}
    for docname in docnames:
        page = page_path(html_dir, docname)
        if page.is_file():
            found = [e.get_text(" ") for e in read_html(page).select(
                '[role="doc-biblioentry"], div.citation, dl.citation > dd')]
            if found:
                entries[docname] = found
    return entries


def _normalise(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def _bib_titles(root: Path) -> dict[str, str]:
    """Normalised title of every entry of the book's BibTeX files, by key."""
    from pybtex.database import parse_file
    from pybtex.richtext import Text

    titles = {}
    for path in bib_files(root):
        for key, entry in parse_file(str(path)).entries.items():
            title = entry.fields.get("title", "")
            try:
                title = Text.from_latex(title).render_as("text")
            except Exception:  # noqa: BLE001 - a title pybtex cannot parse is compared raw
                pass
            titles[key] = _normalise(title)
    return titles


def check_bibliography(root: Path, html_dir: Path, docnames: Iterable[str]) -> list[Problem]:
    """Every key the pages cite is in the BibTeX files and listed on the bibliography page."""
    docnames = list(docnames)
    cited: dict[str, list[str]] = {}
    for docname in docnames:
        path = source_path(root, docname)
        for key in cited_keys(source_text(path)) if path else []:
            cited.setdefault(key, []).append(docname)
    if not cited:
        return []
    titles = _bib_titles(root)
    entries = bibliography_entries(html_dir, docnames)
    listed = [_normalise(text) for texts in entries.values() for text in texts]
    problems = []
    if not entries:
        problems.append(Problem("bibliography", "no page of the book lists bibliography entries"))
    for key, pages in sorted(cited.items()):
        if key not in titles:
            problems.append(Problem(pages[0], f"cites '{key}', which no BibTeX file of "
                                              f"_config.yml has"))
        elif entries and not any(titles[key] in text for text in listed):
            problems.append(Problem(", ".join(entries), f"the bibliography does not list "
                                                        f"'{key}' (cited by {pages[0]})"))
    return problems


def static_checks(html_dir: Path, root: Path = ROOT,
                  docnames: Iterable[str] | None = None) -> list[Problem]:
    """All the checks that need no browser, over the pages of `_toc.yml`."""
    docnames = list(docnames if docnames is not None else toc_docnames(root))
    problems = check_pages_exist(html_dir, docnames)
    present = [d for d in docnames if page_path(html_dir, d).is_file()]
    book_images = Counter(path.name for d in present for _, path in local_images(html_dir, d)
                          if path is not None)
    for docname in present:
        problems += check_executed(html_dir, docname)
        problems += check_figures(html_dir, docname, book_images)
        problems += check_citations(html_dir, docname)
        problems += check_literals(html_dir, docname)
        problems += check_tables(html_dir, docname)
        problems += check_exercises(html_dir, docname, root)
    problems += check_bibliography(root, html_dir, present)
    results = Path(root) / "book" / "results.md"
    if "book/results" in present and results.is_file():
        problems += check_results(html_dir, present, glue_keys(results))
    return problems


GLUE_DIRECTIVE = re.compile(r"^```\{glue\}\s+(\S+)", re.MULTILINE)
NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\w.])")


def glue_keys(page_source: Path) -> list[str]:
    """The keys a Markdown page pastes with the ```{glue} key``` directive, in order."""
    return GLUE_DIRECTIVE.findall(Path(page_source).read_text(encoding="utf-8"))


GLUE_CALL = re.compile(r"\bglue\(\s*[\"'](\w+)[\"']")
TABLE_MIMES = ("text/html", "text/markdown")
GLUED_TABLE_MIMES = tuple(GLUE_PREFIX + mime for mime in TABLE_MIMES)  # a hidden glue output


def glued_values(html_dir: Path, docnames: Iterable[str]) -> dict[str, str]:
    """key -> the text (HTML or Markdown) each executed chapter glued under that key: the glue
    output itself when the executed notebook keeps it (named in its scrapbook metadata), else,
    as myst-nb drops hidden glue outputs from the notebook it renders, the tables the glue cell
    displays (a glue cell also displays what it glues)."""
    values = {}
    for docname in docnames:
        notebook = executed_notebook(html_dir, docname)
        if notebook is None:
            continue
        for cell in read_executed(notebook).cells:
            keys = GLUE_CALL.findall(cell.source) if cell.cell_type == "code" else []
            named, shown = {}, []
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                name = output.get("metadata", {}).get("scrapbook", {}).get("name")
                texts = ["".join(data[m]) for m in TABLE_MIMES + GLUED_TABLE_MIMES if m in data]
                if name:
                    named[name] = "\n".join(texts)
                else:
                    shown += texts
            for key in keys:
                values[key] = named.get(key, "\n".join(shown))
    return values


def check_results(html_dir: Path, docnames: Iterable[str], keys: Iterable[str],
                  page: str = "book/results") -> list[Problem]:
    """Every key the results page pastes was glued by an executed chapter of this build, and
    every decimal number of that glued table appears in the rendered page."""
    problems = []
    values = glued_values(html_dir, docnames)
    path = page_path(html_dir, page)
    text = article(read_html(path)).get_text(" ") if path.is_file() else ""
    shown = set(NUMBER.findall(text))
    for key in keys:
        if key not in values:
            problems.append(Problem(page, f"'{key}' is pasted but no executed chapter glued it"))
            continue
        glued = BeautifulSoup(values[key], "html.parser").get_text(" ")
        numbers = NUMBER.findall(glued)
        missing = [n for n in numbers if n not in shown]
        if not glued.strip():
            problems.append(Problem(page, f"'{key}': its glue cell displays no table"))
        elif missing:
            problems.append(Problem(page, f"'{key}': the page lacks {missing[:5]}"))
    return problems


def figure_counts(html_dir: Path, docnames: Iterable[str]) -> dict[str, tuple[int, int]]:
    """(image outputs of the executed notebook, output images on the page) per notebook page."""
    counts = {}
    for docname in docnames:
        notebook = executed_notebook(html_dir, docname)
        if notebook is None or not page_path(html_dir, docname).is_file():
            continue
        figures = [f for f in notebook_figures(notebook) if f.glue is None]
        produced = {f.filename for f in figures}
        shown = [p.name for _, p in local_images(html_dir, docname) if p and p.name in produced]
        counts[docname] = (len(figures), len(shown))
    return counts


# ---------------------------------------------------------------------------------------------
# The build log


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def parse_build_log(text: str) -> tuple[list[str], list[str]]:
    """(errors, warnings) of a `jupyter-book build` log; a failed notebook execution, which
    myst-nb logs as a warning, counts as an error."""
    errors, warnings = [], []
    for line in ANSI.sub("", text).splitlines():
        if re.search(r"\b(ERROR|CRITICAL|SEVERE)\b:|^Exception occurred|Traceback \(most recent",
                     line) or "Executing notebook failed" in line:
            errors.append(line.strip())
        elif re.search(r"\bWARNING\b:", line):
            warnings.append(line.strip())
    return errors, warnings


# ---------------------------------------------------------------------------------------------
# Browser checks (headless Chromium through Playwright)


INSPECT_PAGE = """
async () => {
  const images = [...document.images];
  images.forEach(img => { img.loading = "eager"; });
  await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener("load", done); img.addEventListener("error", done);
    setTimeout(done, 15000);
  })));
  const maths = document.querySelectorAll("span.math, div.math");
  let mathjax = null;
  if (maths.length) {
    const t0 = Date.now();
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)
           && Date.now() - t0 < 20000) {
      await new Promise(done => setTimeout(done, 100));
    }
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      await MathJax.startup.promise;
      mathjax = MathJax.version || "?";
    }
  }
  const hiddenOnPurpose = el => el.closest(
    "details:not([open]), .tag_hide-output, .tag_hide-cell, .toggle-hidden, .dropdown-menu");
  const report = {mathjax, math: maths.length, images: [], unrendered: [], errors: []};
  for (const img of images) {
    const rect = img.getBoundingClientRect();
    report.images.push({src: img.currentSrc || img.src, complete: img.complete,
                        width: img.naturalWidth,
                        output: !!img.closest(".cell_output, .output"),
                        shown: rect.width > 0 && rect.height > 0, hidden: !!hiddenOnPurpose(img)});
  }
  for (const el of maths) {
    if (!el.querySelector("mjx-container, .katex, .MathJax, svg"))
      report.unrendered.push(el.textContent.trim().slice(0, 80));
  }
  if (mathjax && MathJax.startup.document) {
    for (const item of MathJax.startup.document.math) {
      const tex = String(item.math).trim().slice(0, 80);
      const root = item.typesetRoot;
      const error = root && root.querySelector && root.querySelector("mjx-merror");
      if (error) {
        report.errors.push({tex, message: error.getAttribute("data-mjx-error") || "error"});
        continue;
      }
      // MathJax's `noundefined` extension shows an undefined macro as red text, not an error.
      const mml = MathJax.startup.toMML && item.root ? MathJax.startup.toMML(item.root) : "";
      const undefinedMacro = mml.match(/<mtext[^>]*mathcolor="red"[^>]*>([^<]*)</);
      if (undefinedMacro)
        report.errors.push({tex, message: `undefined macro ${undefinedMacro[1]}`});
    }
  }
  document.querySelectorAll(".katex-error").forEach(el => report.errors.push(
    {tex: el.textContent.trim().slice(0, 80), message: el.getAttribute("title") || ""}));
  return report;
}
"""


def local_mathjax() -> Path | None:
    """The MathJax 3 `es5` folder shipped by the `sphinx-mathjax-offline` package, or None."""
    try:
        from importlib.metadata import PackageNotFoundError, distribution
        path = Path(distribution("sphinx-mathjax-offline").locate_file(
            "sphinx-mathjax-offline/static/mathjax"))
    except (ImportError, PackageNotFoundError):
        return None
    return path if (path / "tex-mml-chtml.js").is_file() else None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def serve(directory: Path) -> http.server.ThreadingHTTPServer:
    """Serve a folder on 127.0.0.1 (a free port) in a daemon thread; `shutdown()` when done."""
    handler = partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def screenshot_names(docnames: Iterable[str]) -> dict[str, str]:
    """`<page>.png` per document: the file's stem, or its path with dashes when stems clash."""
    docnames = list(docnames)
    stems = Counter(Path(d).name for d in docnames)
    return {d: (Path(d).name if stems[Path(d).name] == 1 else d.replace("/", "-")) + ".png"
            for d in docnames}


# The solution cells (hide-input) whose code is visible without a click: their first line.
# (Inside a closed <details> an element keeps its layout boxes in Chromium; what hides it is
# the closed element, which checkVisibility() and the `open` test see.)
VISIBLE_SOLUTIONS = """() => [...document.querySelectorAll('div.tag_hide-input')]
  .map(cell => cell.querySelector('div.cell_input, div.highlight'))
  .filter(input => input && !(input.closest('details') && !input.closest('details').open)
    && (input.checkVisibility ? input.checkVisibility({visibilityProperty: true})
        : input.getClientRects().length > 0))
  .map(input => input.textContent.trim().split('\\n')[0].slice(0, 80))"""


def browser_checks(html_dir: Path, docnames: Iterable[str], screenshots: Path,
                   chromium: str = CHROMIUM) -> tuple[list[Problem], list[Path], list[str]]:
    """Open every page in headless Chromium: (problems, screenshots written, notes)."""
    from playwright.sync_api import sync_playwright

    docnames = list(docnames)
    screenshots.mkdir(parents=True, exist_ok=True)
    mathjax = local_mathjax()
    server = serve(html_dir)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    problems: list[Problem] = []
    written: list[Path] = []
    blocked: dict[str, set[str]] = {}
    js_errors: list[str] = []  # the theme's own scripts' errors: reported, not failed on
    current = [""]

    def route(route) -> None:
        url = route.request.url
        cdn = MATHJAX_CDN.match(url)
        if url.startswith(base):
            route.continue_()
        elif cdn and mathjax is not None and (mathjax / cdn["path"]).is_file():
            route.fulfill(path=str(mathjax / cdn["path"]))
        else:
            blocked.setdefault(url, set()).add(current[0])
            route.abort()

    names = screenshot_names(docnames)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS,
                                                 headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 900},
                                          service_workers="block")
            context.set_default_timeout(90_000)
            context.route(re.compile(r".*"), route)
            for docname in docnames:
                current[0] = docname
                page = context.new_page()
                page_errors: list[str] = []
                page.on("pageerror", lambda error, sink=page_errors: sink.append(str(error)))
                page.goto(urljoin(base, f"{docname}.html"), wait_until="load")
                report = page.evaluate(INSPECT_PAGE)
                problems += _browser_problems(docname, report, base, blocked)
                shown = page.evaluate(VISIBLE_SOLUTIONS)
                problems += [Problem(docname, f"a solution is visible on first view: {text}")
                             for text in shown]
                js_errors += [f"{docname}: JavaScript error: {e[:200]}" for e in page_errors]
                path = screenshots / names[docname]
                page.screenshot(path=str(path), full_page=True)
                written.append(path)
                page.close()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    notes = js_errors + [f"not fetched (no network): {url} (from {', '.join(sorted(pages))})"
                         for url, pages in sorted(blocked.items())]
    return problems, written, notes


def _browser_problems(docname: str, report: dict, base: str,
                      blocked: dict[str, set[str]]) -> list[Problem]:
    """What the inspection of one loaded page found wrong."""
    problems = []
    for img in report["images"]:
        if not img["src"].startswith(base):
            continue  # a remote image (a badge): it cannot load here, and is not the book's
        name = img["src"][len(base):]
        if not img["complete"] or img["width"] == 0:
            problems.append(Problem(docname, f"broken image {name} (not loaded, naturalWidth 0)"))
        elif img["output"] and not img["shown"] and not img["hidden"]:
            problems.append(Problem(docname, f"figure {name} is in the page but not displayed "
                                             f"(zero size)"))
    if report["math"] and not report["mathjax"]:
        mathjax = [url for url in blocked if "mathjax" in url.lower()]
        why = f" (blocked: {mathjax[0]})" if mathjax else ""
        problems.append(Problem(docname, f"{report['math']} math elements but MathJax did not "
                                         f"load{why}"))
    for tex in report["unrendered"]:
        problems.append(Problem(docname, f"math not typeset: {tex}"))
    for error in report["errors"]:
        problems.append(Problem(docname, f"math error '{error['message']}' in {error['tex']}"))
    return problems


# ---------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    """`make check-book`: static and browser checks of a built book; 1 when a check fails."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's folder (_toc.yml)")
    parser.add_argument("--html", type=Path, default=None, help="built HTML (root/_build/html)")
    parser.add_argument("--screenshots", type=Path, default=None,
                        help="where the screenshots go (root/_build/screenshots)")
    parser.add_argument("--chromium", default=CHROMIUM, help="the Chromium executable")
    parser.add_argument("--no-browser", action="store_true", help="the static checks only")
    args = parser.parse_args(argv)
    html = args.html or args.root / "_build" / "html"
    shots = args.screenshots or html.parent / "screenshots"
    if not (html / "index.html").is_file():
        print(f"check-book: no built book in {html}; run `make book` first.", file=sys.stderr)
        return 2
    docnames = toc_docnames(args.root)
    problems = static_checks(html, args.root, docnames)
    for docname, (produced, shown) in figure_counts(html, docnames).items():
        print(f"{docname}: {produced} figure(s) produced by the notebook, {shown} on the page")
    written: list[Path] = []
    if not args.no_browser:
        if not Path(args.chromium).is_file():
            print(f"check-book: {args.chromium} is missing: apt-get install -y chromium",
                  file=sys.stderr)
            return 2
        present = [d for d in docnames if page_path(html, d).is_file()]
        more, written, notes = browser_checks(html, present, shots, args.chromium)
        problems += more
        for note in notes:
            print(f"note: {note}")
        print(f"screenshots ({len(written)}):")
        for path in written:
            print(f"  {path}")
    if problems:
        print(f"\ncheck-book FAILED: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"check-book: {len(docnames)} page(s) OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
