"""Tables and glued numbers: the one table helper of the course, and myst-nb's `glue`.

`table(rows)` is how every table is shown: HTML, which renders as a table in Jupyter, Colab and
the book alike (a Markdown display object does not: myst-nb prints it as a paragraph of pipes).

A chapter glues its summary under a key; `book/results.md` pastes it with
```{glue} key\n:doc: ../notebooks/<chapter>.ipynb``` so the results page always shows the
numbers of the executed chapter in the same build.
"""

from __future__ import annotations

import html
import inspect
import math
from collections.abc import Sequence


def glue(name: str, value) -> None:
    """Store `value` (an HTML table, a figure, a number) under `name` for the book, without
    displaying it; a no-op without myst-nb (Colab, papermill). A Markdown object is refused:
    another page pastes only HTML, images and text (it would show "<IPython...Markdown object>")."""
    from IPython.display import Markdown

    if isinstance(value, Markdown):
        raise TypeError(f"glue({name!r}): glue an HTML table (labkit.book.table), not Markdown")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=False)


def format_value(value, digits: int = 4) -> str:
    """A table cell: floats to `digits` significant figures, None/NaN as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def table(rows: Sequence[dict], columns: Sequence[str] | None = None,
          caption: str | None = None):
    """An HTML table of `rows` (dicts) in the order of `columns` (default: every key, in order of
    first appearance), floats to 4 significant figures, for display, glue or the results page."""
    from IPython.display import HTML

    columns = list(columns or dict.fromkeys(k for row in rows for k in row))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(format_value(r.get(c)))}</td>"
                                    for c in columns) + "</tr>" for r in rows)
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return HTML(f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def show_code(*objects) -> None:
    """Display the source of functions or classes, syntax-highlighted (Jupyter, Colab, book):
    how a notebook shows the GAN code worth reading that lives in labkit."""
    from IPython.display import Code, display

    for obj in objects:
        display(Code(inspect.getsource(obj), language="python"))
