"""`make lab` starts JupyterLab on notebooks/: the Makefile's own command line, run and stopped.

The test runs `make lab` itself (with `-o` on the install stamp, so that it does not reinstall
into the venv the tests run in, and BIN pointing at this interpreter's venv), on a free port
with a token, waits for /api/status, lists notebooks/ through the server and stops it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STAMP = ".venv/.installed-lab"  # LAB_STAMP in the Makefile

pytestmark = pytest.mark.skipif(shutil.which("make") is None or not (BIN / "jupyter-lab").exists(),
                                reason="needs make and JupyterLab (the lab extra)")


def _make(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(["make", "--no-print-directory", "-o", STAMP, "lab", f"BIN={BIN}",
                             *args], cwd=ROOT, env=env, text=True, **kwargs)


def _dry_run(env: dict) -> str:
    process = _make("-n", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return process.communicate(timeout=30)[0]


def _env(tmp_path: Path, **extra: str) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in ("DISPLAY", "WAYLAND_DISPLAY", "MAKEFLAGS", "MFLAGS")}
    env.update(JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), **extra)
    return env


def test_make_lab_flags_follow_the_display_and_the_user(tmp_path):
    command = _dry_run(_env(tmp_path)).splitlines()[-1]
    assert re.search(rf"{re.escape(str(BIN))}/jupyter lab --ServerApp.root_dir=notebooks", command)
    assert "--no-browser" in command  # no display: no browser to open
    assert ("--allow-root" in command) == (os.geteuid() == 0)  # JupyterLab refuses root without
    with_display = _dry_run(_env(tmp_path, DISPLAY=":0")).splitlines()[-1]
    assert "--no-browser" not in with_display


def test_make_lab_starts_jupyterlab_on_the_notebooks(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = secrets.token_hex(8)
    log = (tmp_path / "lab.log").open("w")
    process = _make(f"LAB_ARGS=--ServerApp.ip=127.0.0.1 --port={port} "
                    f"--ServerApp.port_retries=0 --IdentityProvider.token={token}",
                    env=_env(tmp_path), stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        status, deadline = None, time.monotonic() + 60
        while status is None and time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}",
                                            timeout=2) as answer:
                    status = json.load(answer)
            except OSError:
                time.sleep(0.3)
        assert status is not None, "no answer on /api/status within 60 s"
        assert status["kernels"] == 0 and "started" in status
        with urllib.request.urlopen(f"{base}/api/contents?token={token}", timeout=10) as answer:
            names = {item["name"] for item in json.load(answer)["content"]}
        assert "01_gan_theory.ipynb" in names  # served from notebooks/
        with pytest.raises(urllib.error.HTTPError):  # and only with the token
            urllib.request.urlopen(f"{base}/api/contents", timeout=10)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        log.close()
    text = (tmp_path / "lab.log").read_text()
    assert "make lab: JupyterLab on notebooks/" in text and f":{port}/lab" in text


def _check_lab():
    """tools/check_lab.py as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("check_lab", ROOT / "tools" / "check_lab.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_lab", module)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules["check_lab"])
    return sys.modules["check_lab"]


def test_check_lab_finds_its_widgets_in_the_chapters():
    """make check-lab finds each widget's and live view's cell, and each control's label, as the
    notebooks and labkit.widgets are now (it is not part of make test: this is its cheap half)."""
    import nbformat
    import numpy as np
    from matplotlib.figure import Figure

    from labkit import widgets

    check_lab = _check_lab()
    built = {  # each widget with its controls live: the descriptions check-lab looks for
        "ring explorer": widgets.ring_explorer(lambda **_: Figure(), headless=False),
        "latent explorer": widgets.latent_explorer(lambda a, b, t: Figure(), headless=False),
        "class picker": widgets.class_picker(lambda c, s: Figure(), ["a", "b"], headless=False),
        "before/after slider": widgets.before_after(
            np.zeros((4, 4, 3), "uint8"), np.ones((4, 4, 3), "uint8"),
            labels=("bicubic", "SRGAN"), headless=False),
    }
    for chapter in check_lab.CHAPTERS:
        nb = nbformat.read(ROOT / "notebooks" / f"{chapter.notebook}.ipynb", as_version=4)
        sources = [cell.source for cell in nb.cells if cell.cell_type == "code"]
        for text in [w.source for w in chapter.widgets] + [chapter.live] * bool(chapter.live):
            assert sum(text in source for source in sources) == 1, (chapter.notebook, text)
        for widget in chapter.widgets:
            labels = [getattr(c, "description", "") for c in built[widget.name].children]
            for control in widget.controls:
                assert any(control.label in label for label in labels), (widget.name, control)
            if widget.train_button:
                assert widget.train_button in labels


def test_check_lab_reads_a_bare_widget_and_asks_for_root_only_as_root(tmp_path):
    check_lab = _check_lab()
    assert check_lab.BARE_WIDGET.search("VBox(children=(IntSlider(value=0),))")
    assert not check_lab.BARE_WIDGET.search("a VBox of sliders")
    command = check_lab.lab_command(sys.executable, tmp_path, 8123, "t", tmp_path, tmp_path)
    assert ("--allow-root" in command) == (os.geteuid() == 0)
    assert "--ServerApp.port=8123" in command and "--IdentityProvider.token=t" in command
