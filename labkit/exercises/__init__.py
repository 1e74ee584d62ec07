"""Exercises: the checks behind every `grader.check("name")` of the chapters, in one registry.

Each chapter notebook (notebooks/NN_*.ipynb) is the source of two editions, in otter-grader's
"assign" format: a question opens with a raw cell `# BEGIN QUESTION` / `name: <name>`, its
answer cell holds the reference solution between `# BEGIN SOLUTION` and `# END SOLUTION`, and its
test cell calls `check("<name>", ...)`. `tools/assign.py` runs `otter assign` to write the student
edition (notebooks/student/, stubs instead of solutions, a `grader.check` cell after each answer)
and the test files that `grader.check` runs (labkit/exercises/otter/<notebook>/<name>.py, shipped
with the package, so that they work on Colab).

A check never fails with a bare AssertionError: `ExerciseFailed` says what was checked, what was
expected, what came back and a hint. Each chapter's checks live in a module of this package
(`theory.py` for chapter 1, ...), registered with `@exercise(...)`, together with the wrong
answers their tests must catch (`tests/test_exercises.py` runs every check against the solution,
the stub and each wrong answer).
"""

from __future__ import annotations

import importlib
import importlib.resources
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

CONTEXT = "import math\nimport numpy as np\nimport torch\nfrom torch import nn\n" \
          "import torch.nn.functional as F\n"


class ExerciseFailed(AssertionError):
    """An answer that is not right yet: the message says what, and how to find the mistake."""


def expect(ok: bool, what: str, expected, got, hint: str) -> None:
    """Raise ExerciseFailed("<what>: expected <expected>, got <got>. Hint: <hint>") unless ok."""
    if not ok:
        raise ExerciseFailed(f"{what}: expected {expected}, got {got}.\nHint: {hint}")


def expect_callable(value, name: str) -> None:
    """The answer must be a function (the stub's `...` is not one yet)."""
    expect(callable(value), f"`{name}`", "a function", type(value).__name__,
           f"define `{name}` in the cell above, replacing the `...`")


def returned(value, name: str, kind: type | tuple[type, ...]) -> None:
    """A function's result must be of `kind` (a stub returns None)."""
    names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
    article = "an" if names[0] in "aeiou" else "a"
    expect(isinstance(value, kind), f"`{name}` returned", f"{article} {names}", repr(value)[:80],
           "the body still contains `...`, or a `return` is missing")


def show(values) -> str:
    """Numbers as a short list for a message: a tensor, an array or a sequence."""
    if isinstance(values, torch.Tensor):
        values = values.detach().flatten().tolist()
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


def call(function, name: str, *args, hint: str):
    """`function(*args)`, or an ExerciseFailed that shows the error the answer raised."""
    try:
        return function(*args)
    except ExerciseFailed:
        raise
    except Exception as error:  # noqa: BLE001 - a student's error, shown with a hint
        expect(False, f"calling `{name}` on the test inputs", "a result",
               f"{type(error).__name__}: {error}", hint)


def number(value, name: str, hint: str = "reduce to a single number (.mean(), .item())"
           ) -> float:
    """A Python float from a number or a one-element real tensor (else ExerciseFailed)."""
    returned(value, name, (torch.Tensor, float, int))
    if isinstance(value, torch.Tensor):
        expect(value.numel() == 1 and not value.is_complex(), f"`{name}` returned",
               "one real number", f"a tensor of shape {tuple(value.shape)} and dtype "
               f"{value.dtype}", hint)
    return float(value)


@dataclass(frozen=True)
class Exercise:
    """One exercise: its name (as in `grader.check`), the notebook it belongs to, what it asks,
    its check, the notebook variables the check receives, and the wrong answers it must catch
    (label -> the code of a whole wrong answer cell)."""

    name: str
    notebook: str
    title: str
    kind: str  # "code": a function or value to write; "run": read off the student's own run
    check: Callable[..., None]
    arguments: tuple[str, ...]
    wrong: dict[str, str] = field(default_factory=dict)
    context: Callable[[], dict] | None = None  # test-only stand-ins for the run ("run" kind)


REGISTRY: dict[str, Exercise] = {}


def exercise(name: str, notebook: str, title: str, arguments: tuple[str, ...], *,
             kind: str = "code", wrong: dict[str, str] | None = None,
             context: Callable[[], dict] | None = None):
    """Register the decorated function as the check of exercise `name`."""
    def register(check: Callable[..., None]) -> Callable[..., None]:
        if name in REGISTRY:
            raise ValueError(f"exercise {name!r} is registered twice")
        REGISTRY[name] = Exercise(name, notebook, title, kind, check, arguments, wrong or {},
                                  context)
        return check
    return register


def _load_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


def check(name: str, *values) -> None:
    """Run exercise `name`'s check on the given values (what the test files call)."""
    _load_all()
    if name not in REGISTRY:
        raise KeyError(f"no exercise {name!r}; known: {sorted(REGISTRY)}")
    REGISTRY[name].check(*values)


def exercises(notebook: str | None = None) -> list[Exercise]:
    """Every registered exercise (of one notebook, by file stem), in registration order."""
    _load_all()
    return [e for e in REGISTRY.values() if notebook is None or e.notebook == notebook]


def tests_dir(notebook: str) -> Path:
    """The folder of a notebook's otter test files inside the installed package."""
    return Path(str(importlib.resources.files(__package__) / "otter" / notebook))


def grader(notebook: str):
    """The student edition's grader: otter-grader's `Notebook`, reading this notebook's test
    files from the installed package (on Colab too). `grader.check("name")` shows each
    exercise's result under its answer; a failed check never stops the notebook."""
    import otter

    return otter.Notebook(tests_dir=str(tests_dir(notebook)))
