"""Every exercise's check against its reference solution (passes), its student stub (fails) and
each recorded wrong answer (fails, with a message that says what was expected and a hint); the
student editions are up to date with their sources; otter's grader runs the shipped test files;
a student edition runs at smoke with its stubs unfilled, showing failed checks, not stopping."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from labkit.exercises import CONTEXT, ExerciseFailed, exercises, grader

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SPEC = importlib.util.spec_from_file_location("assign", ROOT / "tools" / "assign.py")
assign = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(assign)
SOURCES = assign.sources([])
MARKERS = re.compile(r"^\s*# (BEGIN|END) SOLUTION\s*$\n?", re.M)


def solutions(path: Path) -> dict[str, str]:
    """{question name: its solution cell, without otter's markers} of a source notebook."""
    found, name, in_solution = {}, None, False
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "raw" and cell.source.startswith("# BEGIN QUESTION"):
            name = yaml.safe_load(cell.source)["name"]
        elif cell.cell_type == "raw":
            in_solution = cell.source.strip() == "# BEGIN SOLUTION"
        elif cell.cell_type == "code" and in_solution:
            code = MARKERS.sub("", cell.source)
            found[name] = re.sub(r"\s*# SOLUTION$", "", code, flags=re.M)
    return found


def stubs(path: Path) -> dict[str, str]:
    """{question name: the answer cell students start from} of a student edition."""
    found, answer = {}, None
    for cell in nbformat.read(path, as_version=4).cells:
        if "otter_answer_cell" in cell.metadata.get("tags", []):
            answer = cell.source
        elif cell.cell_type == "code" and (m := re.match(r'grader\.check\("(\w+)"\)', cell.source)):
            found[m[1]] = answer
    return found


def run_answer(exercise, code: str) -> None:
    """Execute an answer cell as the notebook would, then the exercise's check on it."""
    namespace: dict = {}
    exec(CONTEXT, namespace)
    namespace.update(exercise.context() if exercise.context else {})
    exec(code, namespace)
    exercise.check(*(namespace.get(name) for name in exercise.arguments))


ALL = exercises()
CASES = [(e, "solution") for e in ALL] + [(e, "stub") for e in ALL] + [
    (e, label) for e in ALL for label in e.wrong]


def test_every_notebook_with_exercises_has_at_least_four_and_each_is_registered():
    assert SOURCES, "no chapter notebook has exercises"
    for source in SOURCES:
        names = set(solutions(source))
        registered = {e.name for e in exercises(source.stem)}
        assert names == registered, f"{source.name}: notebook {names} vs registry {registered}"
        assert len(names) >= 4, f"{source.name} has {len(names)} exercises"
        assert all(e.wrong for e in exercises(source.stem)), "each check catches wrong answers"


@pytest.mark.parametrize("exercise, answer", CASES,
                         ids=[f"{e.name}-{a.replace(' ', '_')}" for e, a in CASES])
def test_check_passes_the_solution_and_fails_the_stub_and_wrong_answers(exercise, answer):
    source = NOTEBOOKS / f"{exercise.notebook}.ipynb"
    if answer == "solution":
        run_answer(exercise, solutions(source)[exercise.name])
        return
    code = (stubs(NOTEBOOKS / "student" / source.name)[exercise.name] if answer == "stub"
            else exercise.wrong[answer])
    with pytest.raises(ExerciseFailed) as failed:
        run_answer(exercise, code)
    message = str(failed.value)
    assert "expected" in message and "Hint:" in message, message  # never a bare failure


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_student_edition_and_test_files_are_up_to_date(source):
    assert assign.out_of_date(source) == [], "run tools/assign.py"


def test_the_instructors_list_of_exercises_is_up_to_date():
    assert assign.TABLE.read_text() == assign.exercise_table(), "run tools/assign.py"
    for exercise in ALL:
        assert f"`{exercise.name}`" in assign.TABLE.read_text()


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_student_edition_has_stubs_checks_and_no_solution(source):
    student = nbformat.read(NOTEBOOKS / "student" / source.name, as_version=4)
    text = "\n".join(c.source for c in student.cells)
    assert "BEGIN SOLUTION" not in text and ":::{exercise}" not in text
    assert f'grader = grader("{source.stem}")' in student.cells[2].source
    assert set(stubs(NOTEBOOKS / "student" / source.name)) == set(solutions(source))
    for name, code in solutions(source).items():
        body = [line for line in code.splitlines() if line.strip() and "def " not in line
                and not line.strip().startswith(('"""', "#"))]
        assert not any(line in text for line in body if len(line.strip()) > 12), name
    assert all(c.outputs == [] for c in student.cells if c.cell_type == "code")


def test_otters_grader_runs_the_shipped_test_files(tmp_path, monkeypatch):
    """grader.check as students call it: the package's test file, the notebook's globals."""
    monkeypatch.chdir(tmp_path)
    exercise = next(e for e in exercises(SOURCES[0].stem) if e.kind == "code")
    check = grader(exercise.notebook)
    for code, passed in ((solutions(NOTEBOOKS / f"{exercise.notebook}.ipynb")[exercise.name],
                          True), (exercise.wrong[next(iter(exercise.wrong))], False)):
        namespace: dict = {}
        exec(CONTEXT + code, namespace)
        result = check.check(exercise.name, global_env=namespace)
        assert result.grade == (1.0 if passed else 0.0), repr(result)
        if not passed:
            assert "Hint:" in repr(result)


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_the_student_edition_runs_at_smoke_with_its_stubs_unfilled(source, tmp_path,
                                                                   monkeypatch):
    """Run all before solving anything: every check shows its failure under the exercise, and
    the chapter runs to its end (its claims are written)."""
    papermill = pytest.importorskip("papermill")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    out = tmp_path / source.name
    papermill.execute_notebook(str(NOTEBOOKS / "student" / source.name), str(out),
                               cwd=str(tmp_path), parameters={"profile": "smoke",
                                                             "out_dir": str(tmp_path / "runs")},
                               progress_bar=False, kernel_name="python3")
    nb = nbformat.read(out, as_version=4)
    checks = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("grader.check(")]
    assert len(checks) == len(solutions(source))
    for cell in checks:
        shown = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                        for o in cell.outputs)
        assert "failed" in shown and "Hint:" in shown, shown[:500]
    assert list((tmp_path / "runs").rglob("claims.json")), "the chapter ran to its end"


def test_labkit_grade_scores_a_folder_of_submissions(tmp_path, capsys):
    """Three submissions of one student edition: all solved (its run question answered and
    checked in the notebook), untouched, and one wrong answer; one command grades them all."""
    from labkit.cli import main

    source = SOURCES[0]
    edition = NOTEBOOKS / "student" / source.name
    solved = solutions(source)
    folder = tmp_path / "submissions"
    folder.mkdir()

    def submission(name: str, replace: dict[str, str], ran: set[str]) -> None:
        nb = nbformat.read(edition, as_version=4)
        answer = None
        for cell in nb.cells:
            if "otter_answer_cell" in cell.metadata.get("tags", []):
                answer = cell
            elif cell.cell_type == "code" and (m := re.match(r'grader\.check\("(\w+)"\)',
                                                             cell.source)):
                if m[1] in replace:
                    answer.source = replace[m[1]]
                if m[1] in ran:  # the saved output of a check the student ran
                    cell.outputs = [nbformat.v4.new_output(
                        "execute_result", {"text/plain": f"{m[1]} results: All test cases "
                                                         "passed!"})]
        nbformat.write(nb, folder / name)

    runs = {e.name for e in exercises(source.stem) if e.kind == "run"}
    code = [e for e in exercises(source.stem) if e.kind == "code"]
    submission("alice.ipynb", solved, runs)
    submission("bob.ipynb", {}, set())
    wrong = code[0]
    submission("carol.ipynb", {**solved, wrong.name: next(iter(wrong.wrong.values()))}, runs)
    main(["grade", str(folder), "--out", str(tmp_path / "grades.csv")])
    out = capsys.readouterr().out
    total = len(exercises(source.stem))
    assert f"alice.ipynb: {total}/{total} passed" in out
    assert f"bob.ipynb: 0/{total} passed ({len(runs)} run question(s) not run)" in out
    assert f"carol.ipynb: {total - 1}/{total} passed" in out
    import csv

    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    failed = [r for r in rows if r["submission"] == "carol.ipynb" and r["passed"] == "False"]
    assert [r["exercise"] for r in failed] == [wrong.name] and "expected" in failed[0]["note"]
    with pytest.raises(SystemExit) as usage:
        main(["grade", str(tmp_path / "nowhere")])
    assert usage.value.code == 2
