"""Where this process runs: a live notebook with a widget frontend, or headless.

Widgets, the live training view and the progress bar all ask `headless_reason()`: executed
headless (papermill, jupyter-book, nbconvert, a test) nobody will ever see a redrawn bar or click
a slider, and the saved notebook would keep only stale copies or placeholders.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HEADLESS_ENV = "LABKIT_HEADLESS"

# Programs that execute notebooks without a frontend, as they appear in a process's command line.
EXECUTORS = frozenset({"papermill", "jupyter-book", "jb", "jcache", "jupyter-cache",
                       "jupyter-nbconvert", "nbconvert", "jupyter-execute", "nbclient",
                       "sphinx-build", "pytest", "py.test"})
# Programs that serve a frontend: once the walk up the process tree meets one, it stops.
FRONTENDS = frozenset({"jupyter-lab", "jupyter-notebook", "jupyter-server", "jupyter-nbclassic",
                       "lab", "notebook", "server", "nbclassic", "voila", "colab"})
_ANCESTORS = 4  # how far up the process tree to look for an executor
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def headless_reason() -> str | None:
    """Why no widget frontend is expected in this process, or None when one may be there.

    Checked in order:

    1. ``$LABKIT_HEADLESS``: ``1``/``true``/``yes`` forces headless, ``0``/``false``/``no``
       forces interactive (the escape hatch when a guess below is wrong);
    2. Google Colab (``google.colab`` imported): interactive;
    3. no IPython kernel (plain ``python``, a terminal IPython): headless, nothing can render;
    4. ipywidgets not installed: headless;
    5. the kernel's parent processes (up to 4 levels, stopping at a Jupyter server): if one of
       them is papermill, jupyter-book, jupyter-cache, nbconvert, sphinx-build or pytest, the
       kernel was started by an executor that has no frontend: headless.

    A kernel cannot ask whether a frontend is listening (comm messages reach it only between
    cells), so step 5 looks at who started the kernel. It reads the process tree through psutil
    when installed, else /proc (Linux); where neither works it assumes a frontend.
    """
    forced = os.environ.get(HEADLESS_ENV, "").strip().lower()
    if forced in _TRUE:
        return f"${HEADLESS_ENV}={os.environ[HEADLESS_ENV]}"
    if forced in _FALSE:
        return None
    if "google.colab" in sys.modules:
        return None
    try:
        from IPython import get_ipython
    except ImportError:
        return "IPython is not installed"
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return "not running in a Jupyter kernel"
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return "ipywidgets is not installed"
    executor = _executor_ancestor()
    if executor:
        return f"the kernel was started by {executor}, which has no widget frontend"
    return None


def _program_names(cmdline: list[str]) -> list[str]:
    """The program names in a command line: `python -m pytest` → [python, pytest]."""
    names = []
    for i, token in enumerate(cmdline[:4]):
        if token.startswith("-") and token != "-m":
            continue
        if token == "-m" and i + 1 < len(cmdline):
            names.append(cmdline[i + 1].split(".")[0])
            break
        names.append(Path(token).name.lower())
    return names


def _parent(pid: int) -> tuple[int, list[str]] | None:
    """(parent pid, parent's command line) of process `pid`, or None when unknown."""
    try:
        import psutil
    except ImportError:
        psutil = None
    try:
        if psutil is not None:
            parent = psutil.Process(pid).parent()
            return (parent.pid, parent.cmdline()) if parent is not None else None
        stat = Path(f"/proc/{pid}/stat").read_text()
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        raw = Path(f"/proc/{ppid}/cmdline").read_bytes()
        return ppid, [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    except Exception:  # no process information here: assume a frontend
        return None


def _executor_ancestor(pid: int | None = None) -> str | None:
    """The name of a notebook executor among this process's ancestors, or None."""
    pid = os.getpid() if pid is None else pid
    for _ in range(_ANCESTORS):
        found = _parent(pid)
        if found is None or found[0] <= 1:
            return None
        pid, cmdline = found
        names = _program_names(cmdline)
        hit = next((n for n in names if n in EXECUTORS), None)
        if hit:
            return hit
        if any(n in FRONTENDS for n in names):
            return None
    return None
