"""No typed-in results: every result-like number in the prose is glued from the run being shown,
cited from the literature, or a listed constant.

A result-like number is one with a unit of measurement (%, dB, s, min, h, steps, iterations,
epochs, images) or a decimal. It passes when it stands inside math or code, when its paragraph
cites a source ({cite}), or when `tests/prose_numbers.yaml` lists it for that file with its
source (a paper's table value, a profile's budget, a dataset's size). Anything else fails,
naming the file, the cell and the sentence: glue the number from the run (labkit.book.glue), or
cite it.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ALLOWLIST = ROOT / "tests" / "prose_numbers.yaml"
SOURCES = sorted(ROOT.glob("notebooks/[0-9]*.ipynb")) + sorted(
    p for p in (ROOT / "book").glob("*.md") if p.name != "exercises_table.md")  # generated list
UNIT = r"(?:%|\s?dB\b|\s?(?:s|min|h|ms)\b|\s(?:steps?|iterations?|epochs?|images?|seeds?)\b)"
NUMBER = re.compile(rf"(?<![\w.\-/×])(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?{UNIT}"
                    rf"|(?<![\w.\-/×])\d*\.\d+(?![\w.])")
HIDDEN = [re.compile(p, re.S) for p in (
    r"\$\$.*?\$\$", r"\$[^$]+\$", r"```.*?```", r"`[^`\n]*`", r"\{cite[^}]*\}`[^`]*`",
    r"\{glue[^}]*\}`[^`]*`", r"\]\([^)]*\)", r"<[^>]+>", r"^:[\w-]+:.*$", r"\(\w[\w-]*\)=")]
CITED = re.compile(r"\{cite")


def paragraphs(path: Path) -> list[tuple[str, str]]:
    """(where, paragraph text) of the prose of a notebook's markdown cells or a page."""
    if path.suffix == ".ipynb":
        cells = [(f"cell {i}", c.source) for i, c in
                 enumerate(nbformat.read(path, as_version=4).cells) if c.cell_type == "markdown"]
    else:
        cells = [("page", path.read_text(encoding="utf-8"))]
    found = []
    for where, text in cells:
        found += [(where, p) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return found


def allowed() -> dict[str, set[str]]:
    """{file: numbers listed for it} from the allowlist (each entry names its source)."""
    entries = yaml.safe_load(ALLOWLIST.read_text()) or []
    listed: dict[str, set[str]] = {}
    for entry in entries:
        assert entry.get("source"), f"allowlist entry without a source: {entry}"
        listed.setdefault(entry["file"], set()).update(map(str, entry["numbers"]))
    return listed


def typed_in(path: Path, listed: set[str]) -> list[str]:
    """The result-like numbers of a file's prose that are neither hidden, cited nor listed."""
    problems = []
    for where, paragraph in paragraphs(path):
        if CITED.search(paragraph):
            continue
        visible = paragraph
        for pattern in HIDDEN:
            visible = pattern.sub(" ", visible)
        for match in NUMBER.finditer(visible):
            number = match.group(0).strip()
            if number not in listed:
                start = max(0, match.start() - 60)
                context = " ".join(visible[start:match.end() + 40].split())
                problems.append(f"{where}: {number!r} in '…{context}…'")
    return problems


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_typed_in_result_in_the_prose(path):
    listed = allowed().get(str(path.relative_to(ROOT)), set())
    problems = typed_in(path, listed)
    assert not problems, (f"{path.relative_to(ROOT)}: numbers typed into the prose (glue them "
                          "from the run, cite them, or list them with their source in "
                          "tests/prose_numbers.yaml):\n" + "\n".join(problems))


def test_the_scan_catches_a_typed_in_result_and_passes_glued_cited_and_listed_ones(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("The model reached 0.93 after 1,056 steps.\n\n"
                    "It reached {glue:text}`ch4_final` here.\n\n"
                    "The paper reports 4.36 dB {cite}`ledig2017srgan`.\n\n"
                    "Math $V = -\\log 4 \\approx 1.386$ and code `lr=2e-4` are not results.\n\n"
                    "Batch 128 with an 80 / 20 split.\n")
    problems = typed_in(page, set())
    assert [p.split("'")[1] for p in problems] == ["0.93", "1,056 steps"]
    assert typed_in(page, {"0.93", "1,056 steps"}) == []
