"""Generate the student editions and the exercises' test files from the chapter notebooks.

    .venv/bin/python tools/assign.py                 # every chapter notebook with exercises
    .venv/bin/python tools/assign.py notebooks/01_gan_theory.ipynb
    .venv/bin/python tools/assign.py --check         # fail if a committed file is out of date

Each chapter notebook is the source, in otter-grader's assign format (labkit/exercises says how a
question is written). For each, `otter assign` writes:

- notebooks/student/<notebook>: the student edition, what the Colab badge opens: stubs (`...`)
  where the solutions were, a `grader.check("<name>")` cell after each answer, the exercise
  blocks as plain Markdown (Colab does not render the book's `{exercise}` directive), the grader
  created in the install cell, the badge pointing at this edition, outputs stripped;
- labkit/exercises/otter/<stem>/<name>.py: the test file `grader.check` runs, shipped with the
  package so that it works on Colab.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS, STUDENT = ROOT / "notebooks", ROOT / "notebooks" / "student"
TESTS = ROOT / "labkit" / "exercises" / "otter"
CONFIG = """# ASSIGNMENT CONFIG
init_cell: false
export_cell: false
check_all_cell: false
run_tests: false
generate: false
solutions_pdf: false
tests:
  files: true
  ok_format: false
"""
DIRECTIVE = re.compile(r"^:::\{exercise\}\s*(?P<title>.*?)\n(?P<options>(?::\w[\w-]*:[^\n]*\n)*)"
                       r"\n?(?P<body>.*?)\n:::\s*$", re.S | re.M)
OFFER = "offer_drive()"


def has_questions(nb: nbformat.NotebookNode) -> bool:
    return any(c.cell_type == "raw" and c.source.startswith("# BEGIN QUESTION") for c in nb.cells)


CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")
GLUE = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)(?::[^`]*)?`")


def plain_exercise(source: str) -> str:
    """A Markdown cell as Colab and Jupyter render it: a `:::{exercise} Title` block as plain
    Markdown, a citation role as the key in brackets (the book's references page has it), a
    glued number (which only the book renders) as the name of the value the run computed."""
    source = DIRECTIVE.sub(lambda m: f"**Exercise — {m['title']}**\n\n{m['body'].strip()}",
                           source)
    source = GLUE.sub(lambda m: f"*[a value of your run: `{m[1]}`]*", source)
    return CITE.sub(lambda m: f"[{m[1]}]", source)


def student_edition(nb: nbformat.NotebookNode, stem: str) -> nbformat.NotebookNode:
    """otter's student notebook, finished for students (see the module docstring)."""
    install = nb.cells[2]
    if OFFER not in install.source:
        raise ValueError(f"{stem}: the install cell (cell 3) does not call {OFFER}")
    lines = install.source.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(OFFER))
    lines[at + 1:at + 1] = ["", "from labkit.exercises import grader", "",
                            f'grader = grader("{stem}")  # grader.check("name") checks an answer']
    install.source = "\n".join(lines)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = plain_exercise(cell.source)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            tags = [t for t in cell.metadata.get("tags", []) if t not in ("hide-input",)]
            if tags:
                cell.metadata["tags"] = tags
            else:
                cell.metadata.pop("tags", None)
    nb.metadata.pop("otter", None)  # the tests are files in the package, not metadata
    for number, cell in enumerate(nb.cells):  # otter's new cells get random ids: make them stable
        cell.id = f"{stem[:2]}-{number:03d}"
    return nb


def assign(source: Path, student_dir: Path, tests_dir: Path) -> list[str]:
    """Write the student edition of `source` and its test files; returns the question names."""
    from otter.assign import main as otter_assign

    nb = nbformat.read(source, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        master, result = Path(tmp) / source.name, Path(tmp) / "dist"
        nb.cells.insert(0, nbformat.v4.new_raw_cell(CONFIG))
        nbformat.write(nb, master)
        otter_assign(str(master), str(result), no_pdfs=True, no_run_tests=True)
        student = nbformat.read(result / "student" / source.name, as_version=4)
        student_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(student_edition(student, source.stem), student_dir / source.name)
        if tests_dir.exists():
            shutil.rmtree(tests_dir)
        shutil.copytree(result / "student" / "tests", tests_dir)
        return sorted(p.stem for p in tests_dir.glob("*.py"))


TABLE = ROOT / "book" / "exercises_table.md"


def exercise_table() -> str:
    """The instructors' page's list of exercises (from the registry), as Markdown."""
    sys.path.insert(0, str(ROOT))
    from labkit.exercises import exercises

    lines = ["| chapter | exercise | kind | wrong answers its check catches |", "|---|---|---|---|"]
    for e in sorted(exercises(), key=lambda e: e.notebook):  # stable: chapter, then order
        wrong = "; ".join(e.wrong) or "—"
        cells = [e.notebook, f"`{e.name}`: {e.title}", e.kind, wrong]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def sources(paths: list[str]) -> list[Path]:
    found = [Path(p).resolve() for p in paths] or sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    return [p for p in found if has_questions(nbformat.read(p, as_version=4))]


def out_of_date(source: Path) -> list[str]:
    """The committed files of `source` that differ from what assign writes now."""
    with tempfile.TemporaryDirectory() as tmp:
        student, tests = Path(tmp) / "student", Path(tmp) / "tests"
        assign(source, student, tests)
        stale = []
        committed = STUDENT / source.name
        if not committed.is_file() or not filecmp.cmp(student / source.name, committed, False):
            stale.append(str(committed.relative_to(ROOT)))
        mine = TESTS / source.stem
        names = {p.name for p in tests.glob("*.py")} | {p.name for p in mine.glob("*.py")}
        for name in sorted(names):
            if not (mine / name).is_file() or not filecmp.cmp(tests / name, mine / name, False):
                stale.append(str((mine / name).relative_to(ROOT)))
        return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="chapter notebooks (default: all)")
    parser.add_argument("--check", action="store_true", help="only report out-of-date files")
    args = parser.parse_args(argv)
    if args.check:
        stale = [f for source in sources(args.notebooks) for f in out_of_date(source)]
        if not TABLE.is_file() or TABLE.read_text() != exercise_table():
            stale.append(str(TABLE.relative_to(ROOT)))
        for path in stale:
            print(f"out of date: {path} (run tools/assign.py)")
        return 1 if stale else 0
    for source in sources(args.notebooks):
        names = assign(source, STUDENT, TESTS / source.stem)
        print(f"{source.name}: {len(names)} exercises ({', '.join(names)})")
    TABLE.write_text(exercise_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
