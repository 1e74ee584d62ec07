"""Grade a folder of submitted student editions in one command: `labkit grade SUBMISSIONS/`.

Code exercises are graded by running each answer cell in a fresh namespace (the imports of
`CONTEXT`) and the exercise's check on it, with a time limit: the same check `grader.check` runs
in the notebook, independent of what the student's notebook shows. Exercises read off the
student's own run ("run" kind) cannot be re-run here (that needs the student's training run):
they are graded from the saved output of the notebook's `grader.check` cell, and marked so.
The result is one CSV row per (submission, exercise) and a summary per submission.
"""

from __future__ import annotations

import csv
import re
import signal
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import nbformat

from . import CONTEXT, REGISTRY, ExerciseFailed, exercises

GRADER = re.compile(r'grader\s*=\s*grader\("(?P<stem>[\w-]+)"\)')
CHECK = re.compile(r'^grader\.check\("(?P<name>\w+)"\)')
TIME_LIMIT_S = 60


class TimeLimit(Exception):
    """An answer ran longer than the time limit."""


@contextmanager
def time_limit(seconds: int):
    """Raise TimeLimit in the block after `seconds` (POSIX; no limit elsewhere)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expired(*_):
        raise TimeLimit(f"the answer ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def answers(nb: nbformat.NotebookNode) -> tuple[str | None, dict[str, tuple[str, list]]]:
    """(the notebook's chapter stem, {exercise: (answer cell source, its check cell's outputs)})."""
    stem = next((m["stem"] for c in nb.cells if c.cell_type == "code"
                 for m in [GRADER.search(c.source)] if m), None)
    found, answer = {}, None
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "otter_answer_cell" in cell.metadata.get("tags", []):
            answer = cell.source
        elif (m := CHECK.match(cell.source)) and answer is not None:
            found[m["name"]] = (answer, cell.get("outputs", []))
    return stem, found


def grade_answer(name: str, code: str) -> tuple[bool, str]:
    """Run a code exercise's answer cell and its check: (passed, first line of the message)."""
    exercise = REGISTRY[name]
    namespace: dict = {}
    try:
        with time_limit(TIME_LIMIT_S):
            exec(CONTEXT, namespace)
            exec(code, namespace)
            exercise.check(*(namespace.get(a) for a in exercise.arguments))
    except ExerciseFailed as failed:
        return False, str(failed).splitlines()[0]
    except Exception as error:  # the student's code raised: that is a failed answer too
        return False, f"the answer raised {type(error).__name__}: {error}"[:300]
    return True, "passed"


def saved_result(outputs: list) -> tuple[bool | None, str]:
    """The saved output of a `grader.check` cell: passed, failed, or None (never run)."""
    text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                   for o in outputs)
    if not text.strip():
        return None, "not run in the submitted notebook"
    if "failed" in text or "❌" in text:
        return False, "failed in the submitted notebook (its saved output)"
    return True, "passed in the submitted notebook (its saved output)"


def grade_notebook(path: Path) -> list[dict]:
    """One row per exercise of the submission's chapter."""
    nb = nbformat.read(path, as_version=4)
    stem, found = answers(nb)
    if stem is None:
        raise ValueError(f"{path}: not a student edition (no `grader = grader(\"...\")` line)")
    rows = []
    for exercise in exercises(stem):
        code, outputs = found.get(exercise.name, (None, []))
        if code is None:
            passed, note = False, "answer cell missing"
        elif exercise.kind == "run":
            passed, note = saved_result(outputs)
        else:
            passed, note = grade_answer(exercise.name, code)
        rows.append({"submission": path.name, "chapter": stem, "exercise": exercise.name,
                     "kind": exercise.kind, "passed": passed, "note": note})
    return rows


def submissions(paths: Iterable[str | Path]) -> list[Path]:
    """The .ipynb files among `paths` (folders searched recursively)."""
    found = []
    for path in map(Path, paths):
        found += sorted(path.rglob("*.ipynb")) if path.is_dir() else [path]
    return [p for p in found if ".ipynb_checkpoints" not in p.parts]


def grade(paths: Iterable[str | Path], out: str | Path) -> list[dict]:
    """Grade every submission under `paths`, write `out` (CSV), return the rows."""
    files = submissions(paths)
    if not files:
        raise FileNotFoundError(f"no notebooks under {', '.join(map(str, paths))}")
    rows = [row for path in files for row in grade_notebook(path)]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def summary(rows: list[dict]) -> str:
    """One line per submission: exercises passed of those graded."""
    lines = []
    for name in dict.fromkeys(r["submission"] for r in rows):
        mine = [r for r in rows if r["submission"] == name]
        passed = sum(r["passed"] is True for r in mine)
        unrun = sum(r["passed"] is None for r in mine)
        more = f" ({unrun} run question(s) not run)" if unrun else ""
        lines.append(f"{name}: {passed}/{len(mine)} passed{more}")
    return "\n".join(lines)
