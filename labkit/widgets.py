"""ipywidgets controls for the notebooks, each with a static fallback for headless runs.

A widget needs a live frontend (Jupyter, JupyterLab, VS Code, Colab) to render it and to send
the button clicks back to the kernel. Executed headless — by papermill, jupyter-book (through
jupyter-cache / nbclient), nbconvert or a test — nobody will ever click, and the saved notebook
would hold only a widget placeholder. So every control here first asks `headless_reason()`;
when it returns a reason, the control runs once with its default values and returns a static
matplotlib figure instead, which the executed notebook and the book keep as an image.

The controls keep to the part of the ipywidgets API that 7.x and 8.x share (tests/test_widgets_
ipywidgets7.py checks every class, keyword, style key and trait they use against ipywidgets
7.7's), so they work with Colab's preinstalled ipywidgets 7 as well as with 8 in JupyterLab.
Colab's own widget manager renders 7.x only: where ipywidgets 8 was installed on Colab,
`colab_widget_manager()` turns on Colab's custom widget manager before a control is shown.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure

from .colab import on_colab
from .pixels import hwc_uint8
from .runtime import headless_reason

LOSS_CHOICES = (("non-saturating: −log D(G(z))", "non_saturating"),
                ("minimax: log(1 − D(G(z)))", "minimax"))


_COLAB_MANAGER: list[bool] = []  # whether Colab's custom widget manager was turned on


def colab_widget_manager() -> bool:
    """On Colab with ipywidgets 8 or newer, turn on Colab's custom widget manager (once per
    process; Colab renders its preinstalled 7.x without it, 8.x only with it). True when it is on.
    Elsewhere, or with ipywidgets 7, does nothing and returns False."""
    if _COLAB_MANAGER:
        return _COLAB_MANAGER[0]
    import ipywidgets

    major = int(str(ipywidgets.__version__).split(".")[0])
    enabled = False
    if on_colab() and major >= 8:
        from google.colab import output

        output.enable_custom_widget_manager()
        enabled = True
    _COLAB_MANAGER.append(enabled)
    return enabled


def ring_explorer(run: Callable[..., Figure], *, loss: str = "non_saturating",
                  lr_d: float = 1e-3, lr_g: float = 1e-3, d_steps: int = 1, epochs: int = 10,
                  max_epochs: int = 40, headless: bool | None = None):
    """Controls to retrain the 2-D ring GAN: loss, learning rates, D steps, epochs, "Train".

    `run(loss=, lr_d=, lr_g=, d_steps=, epochs=)` trains once and returns a Figure; the notebook
    supplies it. Interactive: returns an ipywidgets box whose button calls `run` with the chosen
    values and shows the figure below the controls. Headless (`headless=None` asks
    `headless_reason()`): prints why, calls `run` once with the given values and returns that
    static Figure.
    """
    reason = headless_reason() if headless is None else ("headless=True" if headless else None)
    settings = {"loss": loss, "lr_d": lr_d, "lr_g": lr_g, "d_steps": d_steps, "epochs": epochs}
    if reason is not None:
        print(f"Static figure instead of the interactive widget ({reason}); it shows one run "
              f"with {_describe(settings)}. Open the notebook in Jupyter or Colab to change them.")
        return run(**settings)
    return _ring_widget(run, settings, max_epochs)


def _describe(settings: dict) -> str:
    return (f"loss={settings['loss']}, lr_d={settings['lr_d']:g}, lr_g={settings['lr_g']:g}, "
            f"d_steps={settings['d_steps']}, epochs={settings['epochs']}")


def _ring_widget(run: Callable[..., Figure], settings: dict, max_epochs: int):
    """The interactive box of `ring_explorer`."""
    import ipywidgets as w
    from IPython.display import display

    colab_widget_manager()

    style = {"description_width": "110px"}
    layout = w.Layout(width="420px")
    controls = {
        "loss": w.Dropdown(options=LOSS_CHOICES, value=settings["loss"],
                           description="generator loss", style=style, layout=layout),
        "lr_d": w.FloatLogSlider(value=settings["lr_d"], base=10, min=-5, max=-2, step=0.25,
                                 description="lr of D", readout_format=".1e", style=style,
                                 layout=layout),
        "lr_g": w.FloatLogSlider(value=settings["lr_g"], base=10, min=-5, max=-2, step=0.25,
                                 description="lr of G", readout_format=".1e", style=style,
                                 layout=layout),
        "d_steps": w.IntSlider(value=settings["d_steps"], min=1, max=5,
                               description="D steps per G", style=style, layout=layout),
        "epochs": w.IntSlider(value=settings["epochs"], min=1,
                              max=max(max_epochs, settings["epochs"]),
                              description="epochs", style=style, layout=layout),
    }
    button = w.Button(description="Train", button_style="primary", icon="play")
    output = w.Output()

    def train(_=None) -> None:
        chosen = {key: control.value for key, control in controls.items()}
        button.disabled, button.description = True, "Training…"
        try:
            with output:
                output.clear_output(wait=True)
                print(f"Training with {_describe(chosen)} …")
                figure = run(**chosen)
                output.clear_output(wait=True)
                display(figure)
        finally:
            button.disabled, button.description = False, "Train"

    button.on_click(train)
    box = w.VBox([*controls.values(), button, output])
    box.train = train  # so code (and tests) can press the button
    return box


def class_picker(show: Callable[[int, int], Figure], classes: list[str], *, label: int = 0,
                 seed: int = 0, max_seed: int = 999, headless: bool | None = None):
    """Controls to draw a conditional generator's samples: a class menu and a noise seed.

    `show(label, seed)` returns a Figure of samples of class index `label` from the noise drawn
    with `seed`; the notebook supplies it. Interactive: returns an ipywidgets box that redraws
    the figure whenever the class or the seed changes. Headless (`headless=None` asks
    `headless_reason()`): prints why, calls `show(label, seed)` once and returns that Figure.
    """
    reason = headless_reason() if headless is None else ("headless=True" if headless else None)
    if reason is not None:
        print(f"Static figure instead of the interactive widget ({reason}); it shows class "
              f"{classes[label]!r} with seed {seed}. Open the notebook in Jupyter or Colab to "
              "pick others.")
        return show(label, seed)
    import ipywidgets as w
    from IPython.display import display

    colab_widget_manager()

    style, layout = {"description_width": "60px"}, w.Layout(width="360px")
    menu = w.Dropdown(options=[(str(name), i) for i, name in enumerate(classes)], value=label,
                      description="class", style=style, layout=layout)
    noise = w.IntSlider(value=seed, min=0, max=max(max_seed, seed), description="seed",
                        style=style, layout=layout)
    output = w.Output()

    def update(_=None) -> None:
        with output:
            output.clear_output(wait=True)
            display(show(menu.value, noise.value))

    menu.observe(update, names="value")
    noise.observe(update, names="value")
    box = w.VBox([menu, noise, output])
    box.update, box.menu, box.seed = update, menu, noise  # so code (and tests) can drive it
    update()
    return box


def _pixels(image) -> np.ndarray:
    """An image as H×W×3 uint8 (one channel repeated)."""
    array = hwc_uint8(image)
    return np.repeat(array, 3, axis=-1) if array.shape[-1] == 1 else array


def split_view(before, after, position: float) -> np.ndarray:
    """`after` left of the split at `position` (0..1 of the width), `before` right of it."""
    left, right = _pixels(after), _pixels(before)
    if left.shape != right.shape:
        raise ValueError(f"the two images differ in size: {left.shape} vs {right.shape}")
    column = int(round(min(max(position, 0.0), 1.0) * left.shape[1]))
    view = right.copy()
    view[:, :column] = left[:, :column]
    view[:, max(column - 1, 0):column + 1] = 255  # a thin white line at the split
    return view


def before_after(before, after, *, labels: tuple[str, str] = ("before", "after"),
                 position: float = 0.5, title: str | None = None,
                 headless: bool | None = None):
    """A slider that wipes between two images of the same scene (e.g. bicubic and SRGAN).

    `before` and `after` are tensors C×H×W in [-1, 1] (or uint8) or H×W×C uint8 arrays; the
    part left of the split shows `after`, the part right of it `before`. Interactive: returns
    an ipywidgets box with the slider and the image. Headless (`headless=None` asks
    `headless_reason()`): prints why and returns a static Figure of the split at `position`.
    """
    reason = headless_reason() if headless is None else ("headless=True" if headless else None)
    name_before, name_after = labels
    if reason is not None:
        import matplotlib.pyplot as plt

        print(f"Static figure instead of the interactive widget ({reason}); it shows "
              f"{name_after} left of the split at {position:.0%} of the width and {name_before} "
              "right of it. Open the notebook in Jupyter or Colab to move the split.")
        view = split_view(before, after, position)
        height, width = view.shape[:2]
        fig, ax = plt.subplots(figsize=(8, 8 * height / width + 0.5))
        ax.imshow(view, interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(title or f"← {name_after}   |   {name_before} →")
        fig.tight_layout()
        plt.close(fig)
        return fig
    return _before_after_widget(before, after, labels, position, title)


def _before_after_widget(before, after, labels: tuple[str, str], position: float,
                         title: str | None):
    """The interactive box of `before_after`."""
    import io

    import ipywidgets as w
    from PIL import Image

    colab_widget_manager()

    def png(position: float) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(split_view(before, after, position)).save(buffer, format="PNG")
        return buffer.getvalue()

    width = _pixels(before).shape[1]
    picture = w.Image(value=png(position), format="png",
                      layout=w.Layout(width=f"{max(width, 512)}px"))
    slider = w.FloatSlider(value=position, min=0.0, max=1.0, step=0.01, readout_format=".0%",
                           description=f"{labels[1]} | {labels[0]}",
                           style={"description_width": "160px"}, layout=w.Layout(width="520px"))

    def update(change=None) -> None:
        picture.value = png(slider.value)

    slider.observe(update, names="value")
    box = w.VBox(([w.HTML(value=f"<b>{title}</b>")] if title else []) + [slider, picture])
    box.slider, box.image, box.update = slider, picture, update  # so code (and tests) can drive it
    return box


def latent_explorer(show: Callable[[int, int, float], Figure], *, seed_a: int = 0,
                    seed_b: int = 1, t: float = 0.5, max_seed: int = 999,
                    headless: bool | None = None):
    """Controls to walk between two latent vectors: two noise seeds and a position slider.

    `show(seed_a, seed_b, t)` returns a Figure of the generator's images at the two latents and
    at the point a fraction `t` of the way between them; the notebook supplies it. Interactive:
    an ipywidgets box that redraws when a control changes. Headless (`headless=None` asks
    `headless_reason()`): prints why, calls `show` once and returns that Figure.
    """
    reason = headless_reason() if headless is None else ("headless=True" if headless else None)
    if reason is not None:
        print(f"Static figure instead of the interactive widget ({reason}); it shows seeds "
              f"{seed_a} and {seed_b} at t = {t}. Open the notebook in Jupyter or Colab to move.")
        return show(seed_a, seed_b, t)
    import ipywidgets as w
    from IPython.display import display

    colab_widget_manager()

    style, layout = {"description_width": "60px"}, w.Layout(width="360px")
    first = w.IntSlider(value=seed_a, min=0, max=max_seed, description="seed A", style=style,
                        layout=layout)
    second = w.IntSlider(value=seed_b, min=0, max=max_seed, description="seed B", style=style,
                         layout=layout)
    position = w.FloatSlider(value=t, min=0.0, max=1.0, step=0.05, description="A → B",
                             style=style, layout=layout)
    output = w.Output()

    def update(_=None) -> None:
        with output:
            output.clear_output(wait=True)
            display(show(first.value, second.value, position.value))

    for control in (first, second, position):
        control.observe(update, names="value")
    box = w.VBox([first, second, position, output])
    box.update, box.controls = update, (first, second, position)  # for code and tests
    update()
    return box
