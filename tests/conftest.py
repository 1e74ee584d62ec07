"""Shared fixtures: each chapter notebook executed ONCE per test session at the smoke profile.

The chapter tests assert on what their notebook's run wrote, and the book test renders these
same executed notebooks without executing them again; with nbval's top-to-bottom run, CI
executes every notebook twice in full and no more.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


class SmokeRuns:
    """Executes notebooks/<name> at smoke with papermill on first request, then remembers it."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch):
        self.root, self.done = root, {}
        monkeypatch.setenv("LABKIT_CACHE", str(root / "cache"))
        monkeypatch.delenv("MPLBACKEND", raising=False)  # Agg would print figures as text

    def __call__(self, name: str) -> tuple[nbformat.NotebookNode, Path, Path]:
        """(executed notebook, its runs folder, the executed file) for `name` at smoke."""
        if name not in self.done:
            import papermill

            stem = Path(name).stem
            runs, out = self.root / stem / "runs", self.root / "executed" / name
            out.parent.mkdir(parents=True, exist_ok=True)
            papermill.execute_notebook(str(NOTEBOOKS / name), str(out), cwd=str(out.parent),
                                       parameters={"profile": "smoke", "out_dir": str(runs)},
                                       progress_bar=False, kernel_name="python3")
            self.done[name] = (nbformat.read(out, as_version=4), runs, out)
        return self.done[name]


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """`smoke_run("02_dcgan_celeba.ipynb")` -> (executed notebook, runs folder, executed path)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield SmokeRuns(tmp_path_factory.mktemp("smoke"), monkeypatch)
