#!/usr/bin/env python
"""`make check-lab`: the chapters' widgets driven live, in JupyterLab, in headless Chromium.

The book shows only the widgets' static fallbacks; this check proves the live ones. It starts
JupyterLab on a free port of 127.0.0.1 with a random token, on a temporary copy of chapters 1, 2,
4 and 5 (so that nothing is saved into notebooks/), with ``LABKIT_PROFILE=smoke`` and a temporary
``LABKIT_RUNS`` in the server's (hence the kernels') environment. For each chapter it opens the
notebook in Debian's Chromium through playwright (no browser download; every request that does
not go to the server is refused and listed), runs all cells with a live kernel and then:

- fails on an error output, on "Error displaying widget", on a widget shown as bare text
  (``VBox(children=...)``: no widget frontend) and on the static fallback's note (the kernel
  took itself for headless);
- moves each control of the chapter's widget as a student would (drags a slider's handle with the
  mouse, picks another entry of a dropdown, clicks a button) and fails unless the control's
  readout changed and the widget's image changed (the SHA-256 of the image bytes read back from
  the page differs from the one before);
- for the chapters that train with `labkit.live.LiveView`, records every image the live view's
  output showed while training (a MutationObserver in the page) and fails unless it showed at
  least two different ones.

Failures name the chapter and the widget. Screenshots of each widget before and after each move
go to ``--screenshots`` (``_build/lab-screenshots/``).

    python tools/check_lab.py [--screenshots _build/lab-screenshots] [--chromium /usr/bin/chromium]
                              [--chapters 01_gan_theory,05_srgan] [--timeout 900]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
BARE_WIDGET = re.compile(r"\b(?:[HV]Box|Box|GridBox)\(children=")
STATIC_NOTE = "Static figure instead of the interactive widget"

# JupyterLab settings for the check: every cell rendered (no windowing), no autosave, no news.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


@dataclass(frozen=True)
class Control:
    """One control of a widget: its kind, its description label and where to move it."""

    kind: str  # "slider" (drag the handle to `to`, a fraction of the track), "dropdown" (pick
    #            entry `to`, an index), "button" (click)
    label: str
    to: float = 0.0


@dataclass(frozen=True)
class Widget:
    """A chapter's widget: the code that makes it (found in its cell) and its controls."""

    name: str
    source: str  # text of the cell that displays it
    controls: tuple[Control, ...]
    train_button: str | None = None  # the output changes only when this button is clicked


@dataclass(frozen=True)
class Chapter:
    notebook: str
    widgets: tuple[Widget, ...]
    live: str | None = None  # text of the cell that trains with a LiveView


CHAPTERS = (
    Chapter("01_gan_theory", (Widget(
        "ring explorer", "ring_explorer(partial(",
        (Control("dropdown", "generator loss", 1), Control("slider", "lr of D", 0.85),
         Control("slider", "lr of G", 0.2), Control("slider", "D steps per G", 0.5),
         Control("slider", "epochs", 0.06)),
        train_button="Train"),)),
    Chapter("02_dcgan_celeba", (Widget(
        "latent explorer", "latent_explorer(",
        (Control("slider", "seed A", 0.3), Control("slider", "seed B", 0.7),
         Control("slider", "A → B", 0.9))),), live="LiveView()"),
    Chapter("04_cgan_emnist", (Widget(
        "class picker", "class_picker(",
        (Control("dropdown", "class", 0), Control("slider", "seed", 0.5))),),
        live="LiveView()"),
    Chapter("05_srgan", (Widget(
        "before/after slider", "before_after_view(", (Control("slider", "|", 0.15),)),)),
)


@dataclass
class Outcome:
    """What the check saw, for the report: one row per control moved."""

    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    blocked: dict[str, set[str]] = field(default_factory=dict)


class Failure(Exception):
    """A check failed; the message names the chapter and the widget."""


# ---------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_command(python: str, root: Path, port: int, token: str, settings: Path,
                workspaces: Path) -> list[str]:
    """The JupyterLab command line of the check (as `make lab`'s, on a port and with a token)."""
    command = [str(Path(python).parent / "jupyter"), "lab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings}",
               f"--LabApp.workspaces_dir={workspaces}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


def wait_for_server(url: str, token: str, process: subprocess.Popen, timeout: float) -> None:
    """Until `url`/api/status answers; raises if the server exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Failure(f"JupyterLab exited with code {process.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise Failure(f"JupyterLab did not answer on {url} within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (JupyterLab shuts its kernels down), then KILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# The page (JupyterLab's own objects: --LabApp.expose_app_in_browser gives window.jupyterapp)

FIND_PANEL = """
(path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
}
"""

STATE = """
(path) => {
  const find = __FIND__;
  const panel = find(path);
  if (!panel) return {phase: 'no notebook'};
  if (!panel.context.isReady) return {phase: 'loading'};
  const session = panel.sessionContext.session;
  const kernel = session && session.kernel;
  const cells = panel.content.widgets;
  let done = 0, total = 0, error = null;
  const widgets = [];
  cells.forEach((cell, index) => {
    if (cell.model.type !== 'code') return;
    total += 1;
    if (cell.model.executionCount !== null) done += 1;
    for (const output of cell.model.outputs.toJSON()) {
      if (output.output_type === 'error' && error === null)
        error = {cell: index, text: output.ename + ': ' + output.evalue,
                 source: cell.model.sharedModel.getSource().slice(0, 200)};
      if (output.data && output.data['__MIME__']) widgets.push(index);
    }
  });
  return {phase: kernel ? kernel.status : 'no kernel', done, total, error, widgets,
          sources: cells.map(c => c.model.sharedModel.getSource())};
}
""".replace("__FIND__", FIND_PANEL.strip()).replace("__MIME__", WIDGET_MIME)

RUN_ALL = """
async (path) => {
  const find = __FIND__;
  const panel = find(path);
  window.jupyterapp.shell.activateById(panel.id);
  await window.jupyterapp.commands.execute('notebook:run-all-cells');
}
""".replace("__FIND__", FIND_PANEL.strip())

SHUTDOWN = """
async (path) => {
  const find = __FIND__;
  const panel = find(path);
  if (panel) await panel.sessionContext.shutdown();
}
""".replace("__FIND__", FIND_PANEL.strip())

# Records, per cell index, every distinct image (src) that cell's outputs show, as it shows it.
WATCH_IMAGES = """
() => {
  const seen = window.__labImages = {};
  const first = window.__labFirst = {}, last = window.__labLast = {};
  const hash = (text) => {
    let h = 2166136261 >>> 0;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i); h = Math.imul(h, 16777619) >>> 0;
    }
    return h.toString(16) + ':' + text.length;
  };
  const record = (img) => {
    const cell = img.closest('.jp-Cell');
    if (!cell || !img.src) return;
    const index = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell')).indexOf(cell);
    (seen[index] = seen[index] || []);
    const key = hash(img.src);
    if (!seen[index].includes(key)) seen[index].push(key);
    if (!(index in first)) first[index] = img.src;
    last[index] = img.src;
  };
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === 'attributes' && m.target.tagName === 'IMG') record(m.target);
      for (const node of m.addedNodes || []) {
        if (node.nodeType !== 1) continue;
        if (node.tagName === 'IMG') record(node);
        node.querySelectorAll && node.querySelectorAll('img').forEach(record);
      }
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                              attributeFilter: ['src']});
}
"""

IMAGE_DIGEST = """
async (element) => {
  const digests = [];
  for (const img of element.querySelectorAll('img')) {
    if (!img.src) continue;
    const bytes = await (await fetch(img.src)).arrayBuffer();
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    digests.push(Array.from(hash.slice(0, 8), b => b.toString(16).padStart(2, '0')).join(''));
  }
  return digests.join(',');
}
"""


class Lab:
    """A headless Chromium page on the JupyterLab server."""

    def __init__(self, context, base: str, token: str, screenshots: Path, outcome: Outcome):
        self.context, self.base, self.token = context, base, token
        self.screenshots, self.outcome = screenshots, outcome

    def check_chapter(self, chapter: Chapter, timeout: float) -> None:
        path = f"{chapter.notebook}.ipynb"
        page = self.context.new_page()
        page.set_default_timeout(60_000)
        try:
            page.goto(f"{self.base}/lab/tree/{path}?reset&token={self.token}")
            self._wait(page, path, lambda s: s.get("phase") == "idle", 180,
                       f"{chapter.notebook}: the notebook and its kernel did not become ready")
            page.evaluate(WATCH_IMAGES)
            started = time.monotonic()
            page.evaluate(RUN_ALL, path)
            self._run_all(page, chapter, path, timeout)
            print(f"{chapter.notebook}: ran all cells in {time.monotonic() - started:.0f} s",
                  flush=True)
            state = page.evaluate(STATE, path)
            self._check_page_text(page, chapter)
            if chapter.live is not None:
                self._check_live(page, chapter, state)
            for widget in chapter.widgets:
                self._check_widget(page, chapter, widget, state, path)
        finally:
            try:
                page.evaluate(SHUTDOWN, path)
            except Exception:  # the page may be gone already; the server's stop ends the kernel
                pass
            page.close()

    # -- running

    def _wait(self, page, path: str, ready, timeout: float, message: str) -> dict:
        deadline = time.monotonic() + timeout
        state: dict = {}
        while time.monotonic() < deadline:
            state = page.evaluate(STATE, path) or {}
            if ready(state):
                return state
            page.wait_for_timeout(500)
        raise Failure(f"{message} within {timeout:.0f} s (last state: {state.get('phase')})")

    def _run_all(self, page, chapter: Chapter, path: str, timeout: float) -> None:
        """Wait until every code cell ran; fail on the first error output."""
        deadline, settled = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            state = page.evaluate(STATE, path)
            if state.get("error"):
                error = state["error"]
                raise Failure(f"{chapter.notebook}: cell {error['cell']} raised {error['text']}"
                              f"\n    {error['source']!r}")
            finished = state["done"] == state["total"] and state["phase"] == "idle"
            settled = settled + 1 if finished else 0
            if settled >= 3:
                return
            page.wait_for_timeout(500)
        raise Failure(f"{chapter.notebook}: the cells did not finish within {timeout:.0f} s "
                      f"({state.get('done')}/{state.get('total')} code cells ran)")

    # -- checks

    def _check_page_text(self, page, chapter: Chapter) -> None:
        text = page.locator(".jp-Notebook").inner_text()
        if "Error displaying widget" in text:
            raise Failure(f"{chapter.notebook}: a widget shows 'Error displaying widget'")
        bare = BARE_WIDGET.search(text)
        if bare:
            raise Failure(f"{chapter.notebook}: a widget is shown as bare text "
                          f"({text[bare.start():bare.start() + 60]!r}...): no widget frontend")
        if STATIC_NOTE in text:
            raise Failure(f"{chapter.notebook}: the kernel showed a widget's static fallback "
                          "(it took itself for headless)")

    def _check_live(self, page, chapter: Chapter, state: dict) -> None:
        index = _cell_index(state, chapter.live, chapter.notebook, "live view")
        seen = page.evaluate("(i) => (window.__labImages || {})[i] || []", index)
        self._shot(page, index, chapter, "live view", "after")
        shown = page.evaluate("(i) => [(window.__labFirst || {})[i], (window.__labLast || {})[i]]",
                              index)
        names = []
        for moment, src in zip(("first", "last"), shown):  # the figure as it was first shown
            if src and src.startswith("data:image/png;base64,"):  # and as it was left
                path = self.screenshots / f"{chapter.notebook}-live-view-{moment}-figure.png"
                path.write_bytes(base64.b64decode(src.split(",", 1)[1]))
                names.append(path.name)
        if len(seen) < 2:
            raise Failure(f"{chapter.notebook}, live view (cell {index}): it showed "
                          f"{len(seen)} distinct figure(s) while training; it must redraw")
        self.outcome.rows.append((chapter.notebook, "live view", "(training runs)",
                                  f"{len(seen)} distinct figures shown while training",
                                  " → ".join(names)))

    def _check_widget(self, page, chapter: Chapter, widget: Widget, state: dict,
                      path: str) -> None:
        index = _cell_index(state, widget.source, chapter.notebook, widget.name)
        if index not in state["widgets"]:
            raise Failure(f"{chapter.notebook}, {widget.name}: cell {index} displayed no "
                          "ipywidget (the static fallback?)")
        where = f"{chapter.notebook}, {widget.name}"
        cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
        box = cell.locator(".jp-OutputArea-output .jupyter-widgets").first
        box.wait_for(state="visible", timeout=60_000)
        self._shot(page, index, chapter, widget.name, "before")
        if widget.train_button:  # a first image to compare the next ones with
            self._press(page, cell, widget, where)
        before = self._settle(page, path, index)
        if not before:
            raise Failure(f"{where}: the widget shows no image")
        for control in widget.controls:
            old_value = self._move(page, cell, control, where)
            new_value = self._value(cell, control)
            if new_value == old_value:
                raise Failure(f"{where}: moving {control.kind} {control.label!r} left its "
                              f"value at {old_value!r}")
            if widget.train_button:
                self._press(page, cell, widget, where)
            after = self._await_change(page, path, index, before,
                                       180 if widget.train_button else 60)
            if after is None:
                self._shot(page, index, chapter, widget.name, f"{_slug(control.label)}-failed")
                raise Failure(f"{where}: moving {control.kind} {control.label!r} from "
                              f"{old_value!r} to {new_value!r} did not change its image")
            shot = self._shot(page, index, chapter, widget.name,
                              f"after-{_slug(control.label)}")
            self.outcome.rows.append((chapter.notebook, widget.name,
                                      f"{control.kind} {control.label!r}",
                                      f"{old_value} → {new_value}; image {before} → {after}",
                                      shot.name))
            before = after

    # -- controls

    def _control(self, cell, control: Control):
        classes = {"slider": ".widget-slider", "dropdown": ".widget-dropdown"}[control.kind]
        found = cell.locator(classes).filter(
            has=cell.page.locator(".widget-label", has_text=control.label))
        return found.first

    def _value(self, cell, control: Control) -> str:
        found = self._control(cell, control)
        if control.kind == "slider":
            return found.locator(".widget-readout").inner_text().strip()
        return found.locator("select").evaluate("s => s.options[s.selectedIndex].text")

    def _move(self, page, cell, control: Control, where: str) -> str:
        """Move the control as a mouse would; its value before."""
        found = self._control(cell, control)
        if found.count() == 0:
            raise Failure(f"{where}: no {control.kind} labelled {control.label!r}")
        old = self._value(cell, control)
        if control.kind == "dropdown":
            select = found.locator("select")
            count = select.evaluate("s => s.options.length")
            current = select.evaluate("s => s.selectedIndex")
            target = int(control.to) if int(control.to) != current else (current + 1) % count
            select.select_option(index=target)
        else:
            track = found.locator(".noUi-target, .slider").first
            handle = found.locator(".noUi-handle").first
            handle.scroll_into_view_if_needed()
            start, rail = handle.bounding_box(), track.bounding_box()
            x0, y0 = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
            x1 = rail["x"] + control.to * rail["width"]
            page.mouse.move(x0, y0)
            page.mouse.down()
            for step in range(1, 11):
                page.mouse.move(x0 + (x1 - x0) * step / 10, y0)
            page.mouse.up()
        page.wait_for_timeout(300)
        return old

    def _press(self, page, cell, widget: Widget, where: str) -> None:
        """Click the widget's button and wait until it is enabled again (the run finished)."""
        button = cell.locator("button", has_text=widget.train_button).first
        button.click()
        deadline = time.monotonic() + 300
        page.wait_for_timeout(500)
        while time.monotonic() < deadline:
            if button.is_enabled() and widget.train_button in button.inner_text():
                page.wait_for_timeout(500)
                return
            page.wait_for_timeout(300)
        raise Failure(f"{where}: the {widget.train_button!r} run did not finish in 300 s")

    # -- images

    def _images(self, page, index: int) -> str:
        area = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-Cell-outputArea")
        return area.evaluate(IMAGE_DIGEST) if area.count() else ""

    def _await_change(self, page, path: str, index: int, before: str,
                      timeout: float) -> str | None:
        """The widget's images once they differ from `before` and have settled, else None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self._images(page, index)
            if now and now != before:
                return self._settle(page, path, index)
            page.wait_for_timeout(300)
        return None

    def _settle(self, page, path: str, index: int, timeout: float = 120) -> str:
        """The cell's images once the kernel is idle and they stayed the same for a second (so
        that a late redraw of one move is never taken for the next move's)."""
        deadline, last, steady = time.monotonic() + timeout, None, 0
        while time.monotonic() < deadline:
            now = self._images(page, index)
            idle = page.evaluate(STATE, path).get("phase") == "idle"
            steady = steady + 1 if idle and now == last else 0
            if steady >= 2:
                return now
            last = now
            page.wait_for_timeout(500)
        return last or ""

    def _shot(self, page, index: int, chapter: Chapter, widget: str, moment: str) -> Path:
        path = self.screenshots / f"{chapter.notebook}-{_slug(widget)}-{moment}.png"
        area = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-Cell-outputWrapper")
        area.scroll_into_view_if_needed()
        area.screenshot(path=str(path))
        return path


def _cell_index(state: dict, text: str, notebook: str, what: str) -> int:
    found = [i for i, source in enumerate(state["sources"]) if text in source]
    if len(found) != 1:
        raise Failure(f"{notebook}, {what}: expected one cell containing {text!r}, "
                      f"found {len(found)}")
    return found[0]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "control"


# ---------------------------------------------------------------------------------------------


def check(chapters: list[Chapter], screenshots: Path, chromium: str, timeout: float,
          python: str = sys.executable) -> Outcome:
    """Start JupyterLab, check every chapter, stop it."""
    from playwright.sync_api import sync_playwright

    outcome = Outcome()
    if screenshots.exists():
        shutil.rmtree(screenshots)
    screenshots.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="check-lab-") as tmp:
        tmp = Path(tmp)
        root, settings = tmp / "notebooks", tmp / "settings"
        root.mkdir()
        for chapter in chapters:
            shutil.copy(ROOT / "notebooks" / f"{chapter.notebook}.ipynb", root)
        for name, values in LAB_SETTINGS.items():
            target = settings / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))
        env = {key: value for key, value in os.environ.items() if key != "LABKIT_HEADLESS"}
        env.update(LABKIT_PROFILE="smoke", LABKIT_RUNS=str(tmp / "runs"),
                   JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))
        env.setdefault("OMP_NUM_THREADS", "1")
        port, token = free_port(), secrets.token_hex(16)
        base = f"http://127.0.0.1:{port}"
        log = open(tmp / "jupyterlab.log", "w")  # noqa: SIM115 (closed below)
        server = subprocess.Popen(lab_command(python, root, port, token, settings,
                                              tmp / "workspaces"),
                                  cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        try:
            wait_for_server(base, token, server, 120)
            print(f"check-lab: JupyterLab on {base} (root {root})", flush=True)
            current = ["-"]

            def route(route) -> None:
                url = route.request.url
                if url.startswith(base):
                    route.continue_()
                else:
                    outcome.blocked.setdefault(url, set()).add(current[0])
                    route.abort()

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium,
                                                     args=CHROMIUM_ARGS, headless=True)
                context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                              service_workers="block")
                context.route(re.compile(r".*"), route)
                lab = Lab(context, base, token, screenshots, outcome)
                for chapter in chapters:
                    current[0] = chapter.notebook
                    try:
                        lab.check_chapter(chapter, timeout)
                    except Failure as failure:
                        outcome.problems.append(str(failure))
                        print(f"FAIL {failure}", flush=True)
                    except Exception as error:  # playwright's timeouts and the like
                        outcome.problems.append(f"{chapter.notebook}: {type(error).__name__}: "
                                                f"{str(error).splitlines()[0]}")
                        print(f"FAIL {outcome.problems[-1]}", flush=True)
                browser.close()
        finally:
            stop(server)
            log.close()
            if outcome.problems:
                shutil.copy(tmp / "jupyterlab.log", screenshots / "jupyterlab.log")
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screenshots", type=Path, default=ROOT / "_build" / "lab-screenshots")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--chapters", default="",
                        help="comma-separated notebook names (default: all four)")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds for one chapter's cells to run")
    args = parser.parse_args(argv)
    chosen = [c for c in CHAPTERS if not args.chapters or c.notebook in args.chapters.split(",")]
    if not chosen:
        parser.error(f"no chapter among {[c.notebook for c in CHAPTERS]} matches {args.chapters}")
    if not Path(args.chromium).is_file():
        print(f"check-lab: no Chromium at {args.chromium}", file=sys.stderr)
        return 2
    started = time.monotonic()
    outcome = check(chosen, args.screenshots, args.chromium, args.timeout)
    print("\nchapter | widget | control moved | what changed | screenshot")
    for row in outcome.rows:
        print(" | ".join(row))
    for url, pages in sorted(outcome.blocked.items()):
        print(f"refused (offline): {url} (from {', '.join(sorted(pages))})")
    took = time.monotonic() - started
    if outcome.problems:
        print(f"\ncheck-lab: {len(outcome.problems)} problem(s) in {took:.0f} s:")
        for problem in outcome.problems:
            print(f"  {problem}")
        return 1
    print(f"\ncheck-lab: {len(chosen)} chapters OK in {took:.0f} s; screenshots in "
          f"{args.screenshots}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
