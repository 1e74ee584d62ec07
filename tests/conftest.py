"""Shared fixtures: each chapter notebook executed ONCE per test session at the smoke profile.

The chapter tests assert on what their notebook's run wrote, and the book test renders these
same executed notebooks without executing them again; with nbval's top-to-bottom run, CI
executes every notebook twice in full and no more. Under pytest-xdist (`make test` runs two
workers) the workers share one folder of executed notebooks: the first worker to ask for a
notebook executes it while holding a file lock, the others wait and read its result.
"""

from __future__ import annotations

import json
import os
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
            from filelock import FileLock

            stem = Path(name).stem
            runs, out = self.root / stem / "runs", self.root / "executed" / name
            out.parent.mkdir(parents=True, exist_ok=True)
            done = out.with_suffix(".done")
            with FileLock(str(out.with_suffix(".lock"))):
                if not done.exists():  # no worker has executed it yet
                    import papermill

                    papermill.execute_notebook(
                        str(NOTEBOOKS / name), str(out), cwd=str(out.parent),
                        parameters={"profile": "smoke", "out_dir": str(runs)},
                        progress_bar=False, kernel_name="python3")
                    done.touch()
            self.done[name] = (nbformat.read(out, as_version=4), runs, out)
        return self.done[name]


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, worker_id):
    """`smoke_run("02_dcgan_celeba.ipynb")` -> (executed notebook, runs folder, executed path)."""
    if worker_id == "master":  # one process: a folder of its own
        root = tmp_path_factory.mktemp("smoke")
    else:  # xdist workers: the folder above each worker's base folder is shared
        root = tmp_path_factory.getbasetemp().parent / "smoke"
        root.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield SmokeRuns(root, monkeypatch)


def pytest_configure(config):
    """One reliability log per session (tests/test_reliability.py appends to it); xdist workers
    inherit its path from the controlling process."""
    if not hasattr(config, "workerinput"):
        log = Path(config.rootpath) / ".pytest_cache" / "reliability.jsonl"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        os.environ["LABKIT_RELIABILITY_LOG"] = str(log)


def pytest_terminal_summary(terminalreporter, config):
    """The reliability suite's summary: cases, trials, failures."""
    path = os.environ.get("LABKIT_RELIABILITY_LOG")
    if hasattr(config, "workerinput") or not path or not Path(path).is_file():
        return
    cases = [json.loads(line) for line in Path(path).read_text().splitlines() if line]
    if not cases:
        return
    terminalreporter.section("reliability suite")
    for case in cases:
        terminalreporter.write_line(f"{case['case']}: {case['trials']} trial(s), "
                                    f"{case['failures']} failure(s)")
    terminalreporter.write_line(
        f"{len(cases)} cases, {sum(c['trials'] for c in cases)} trials, "
        f"{sum(c['failures'] for c in cases)} failures")
