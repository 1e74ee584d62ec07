"""The widgets keep to the ipywidgets API that Colab's preinstalled 7.x shares with 8.x.

Colab ships ipywidgets 7 (7.7 when this was written) and renders it with its own widget manager;
JupyterLab 4 runs ipywidgets 8. labkit's widgets must work with both, so:

- `test_widgets_use_only_the_ipywidgets_7_api` builds every widget of `labkit.widgets` with its
  controls live, drives each callback, and records every ipywidgets class constructed, every
  keyword and style key passed and every trait changed; each must exist in ipywidgets 7.7
  (`IPYWIDGETS_7_7` below: the public traits of each class and of its style, as read from
  ipywidgets 7.7.5's classes). A control or keyword new in 8 (`tooltip`, `Stack`, …) fails here.
- the other tests drive each widget's callbacks and check what they show; this file runs as it
  is under ipywidgets 7.7 too (a venv with `ipywidgets==7.7.*`:
  `PYTHONPATH=. <venv>/bin/python -m pytest -p no:cacheprovider tests/test_widgets_ipywidgets7.py`).
- `colab_widget_manager` turns on Colab's custom widget manager only where it is needed: on
  Colab with ipywidgets 8 or newer.
"""

from __future__ import annotations

import sys
import types

import ipywidgets
import numpy as np
import pytest
from matplotlib.figure import Figure

from labkit import widgets

# Public traits of each ipywidgets 7.7.5 class (and of its style, "<class>.style"), less the
# `comm`, `keys` and `log` every widget has.
IPYWIDGETS_7_7 = {
    "Button": "button_style description disabled icon layout style tooltip",
    "Button.style": "button_color font_weight",
    "Checkbox": "description description_tooltip disabled indent layout style value",
    "Checkbox.style": "description_width",
    "Dropdown": "description description_tooltip disabled index label layout options style value",
    "Dropdown.style": "description_width",
    "FloatLogSlider": "base continuous_update description description_tooltip disabled layout max "
                      "min orientation readout readout_format step style value",
    "FloatLogSlider.style": "description_width handle_color",
    "FloatSlider": "continuous_update description description_tooltip disabled layout max min "
                   "orientation readout readout_format step style value",
    "FloatSlider.style": "description_width handle_color",
    "HBox": "box_style children layout",
    "HTML": "description description_tooltip layout placeholder style value",
    "HTML.style": "description_width",
    "Image": "format height layout value width",
    "IntSlider": "continuous_update description description_tooltip disabled layout max min "
                 "orientation readout readout_format step style value",
    "IntSlider.style": "description_width handle_color",
    "IntText": "continuous_update description description_tooltip disabled layout step style "
               "value",
    "IntText.style": "description_width",
    "Label": "description description_tooltip layout placeholder style value",
    "Label.style": "description_width",
    "Layout": "align_content align_items align_self border bottom display flex flex_flow "
              "grid_area grid_auto_columns grid_auto_flow grid_auto_rows grid_column grid_gap "
              "grid_row grid_template_areas grid_template_columns grid_template_rows height "
              "justify_content justify_items left margin max_height max_width min_height "
              "min_width object_fit object_position order overflow overflow_x overflow_y "
              "padding right top visibility width",
    "Output": "layout msg_id outputs",
    "ToggleButton": "button_style description description_tooltip disabled icon layout style "
                    "tooltip value",
    "ToggleButton.style": "description_width",
    "VBox": "box_style children layout",
}
API_7 = {name: set(traits.split()) for name, traits in IPYWIDGETS_7_7.items()}


def _image(value: int) -> np.ndarray:
    pixels = np.zeros((8, 12, 3), dtype=np.uint8)
    pixels[:] = value
    return pixels


def drive_all() -> dict[str, list]:
    """Build every widget with live controls and move every control; what each callback got."""
    calls: dict[str, list] = {"ring": [], "class": [], "latent": [], "split": []}

    def run(**settings) -> Figure:
        calls["ring"].append(settings)
        return Figure()

    ring = widgets.ring_explorer(run, loss="non_saturating", epochs=3, headless=False)
    ring.children[0].value = "minimax"  # the loss menu
    ring.children[1].value = 1e-4  # lr of D
    ring.children[3].value = 2  # D steps
    ring.children[5].click()  # "Train"

    picker = widgets.class_picker(lambda label, seed: calls["class"].append((label, seed))
                                  or Figure(), ["a", "b", "c"], label=1, seed=2, headless=False)
    picker.menu.value = 2
    picker.seed.value = 7

    latent = widgets.latent_explorer(lambda a, b, t: calls["latent"].append((a, b, t))
                                     or Figure(), seed_a=0, seed_b=1, t=0.5, headless=False)
    for control, value in zip(latent.controls, (4, 5, 0.25)):
        control.value = value

    split = widgets.before_after(_image(0), _image(255), title="t", headless=False)
    calls["split"].append(split.image.value)
    split.slider.value = 0.9
    calls["split"].append(split.image.value)
    return calls


class Recorder:
    """Wraps ipywidgets' classes: records classes built, keywords, style keys, traits changed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.used: dict[str, set[str]] = {}
        base = ipywidgets.Widget
        for name in dir(ipywidgets):
            cls = getattr(ipywidgets, name)
            if isinstance(cls, type) and issubclass(cls, base) and cls is not base:
                monkeypatch.setattr(ipywidgets, name, self.wrap(name, cls))

    def wrap(self, name: str, cls: type):
        def build(*args, **kwargs):
            used = self.used.setdefault(name, set())
            used.update(kwargs)
            if args:  # Box(children) passes its children positionally
                used.add("children" if name.endswith("Box") else f"<positional {len(args)}>")
            if isinstance(kwargs.get("style"), dict):
                self.used.setdefault(f"{name}.style", set()).update(kwargs["style"])
            widget = cls(*args, **kwargs)
            widget.observe(lambda change: used.add(change["name"]))
            return widget

        return build


def test_widgets_use_only_the_ipywidgets_7_api(monkeypatch):
    recorder = Recorder(monkeypatch)
    drive_all()
    used = {name: {t for t in traits if not t.startswith("_")}
            for name, traits in recorder.used.items()}
    assert {"Dropdown", "FloatLogSlider", "IntSlider", "FloatSlider", "Button", "Output",
            "VBox", "Image", "Layout"} <= set(used)  # the recorder saw the widgets being built
    missing = {name: sorted(traits - API_7.get(name, set()))
               for name, traits in used.items() if traits - API_7.get(name, set())}
    unknown = sorted(name for name in used if name not in API_7)
    assert not unknown, f"ipywidgets classes not checked against 7.7 (add them if 7.7 has "\
                        f"them): {unknown}"
    assert not missing, f"keywords, style keys or traits ipywidgets 7.7 lacks: {missing}"


def test_the_api_check_catches_an_ipywidgets_8_only_keyword(monkeypatch):
    recorder = Recorder(monkeypatch)
    ipywidgets.Button(description="x", tooltip="y")  # tooltip: Button has it in 7 and 8
    assert recorder.used["Button"] <= API_7["Button"]
    ipywidgets.IntSlider(value=1, tooltip="new in 8")  # sliders' `tooltip` is 8 only
    assert "tooltip" in recorder.used["IntSlider"] - API_7["IntSlider"]


def test_every_callback_sees_the_moved_control():
    calls = drive_all()
    assert calls["ring"] == [{"loss": "minimax", "lr_d": pytest.approx(1e-4), "lr_g": 1e-3,
                              "d_steps": 2, "epochs": 3}]
    assert calls["class"] == [(1, 2), (2, 2), (2, 7)]  # built once, then each change
    assert calls["latent"][0] == (0, 1, 0.5) and calls["latent"][-1] == (4, 5, 0.25)
    assert len(calls["latent"]) == 4
    first, moved = calls["split"]
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and moved != first  # a new image on the slider


@pytest.fixture()
def colab(monkeypatch):
    """A stand-in for Colab: `google.colab.output.enable_custom_widget_manager` counts calls."""
    enabled: list[bool] = []
    output = types.SimpleNamespace(enable_custom_widget_manager=lambda: enabled.append(True))
    colab = types.ModuleType("google.colab")
    colab.output = output
    google = types.ModuleType("google")
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.output", output)
    monkeypatch.setattr(widgets, "_COLAB_MANAGER", [])
    return enabled


@pytest.mark.parametrize(("version", "expected"), [("8.1.5", True), ("7.7.1", False)])
def test_colab_custom_widget_manager_only_for_ipywidgets_8(colab, monkeypatch, version, expected):
    monkeypatch.setattr(ipywidgets, "__version__", version)
    assert widgets.colab_widget_manager() is expected
    widgets.ring_explorer(lambda **_: Figure(), headless=False)
    widgets.latent_explorer(lambda a, b, t: Figure(), headless=False)
    assert colab == ([True] if expected else [])  # at most once per process


def test_no_colab_no_widget_manager(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(widgets, "_COLAB_MANAGER", [])
    monkeypatch.setattr(ipywidgets, "__version__", "8.1.5")
    assert widgets.colab_widget_manager() is False
