"""labkit.book: the one table helper, glue, and showing labkit's code in a notebook."""

import sys

import pytest

from labkit.book import format_value, glue, show_code, table


def test_table_keeps_column_order_and_escapes():
    shown = table([{"b": 1.234567, "a": "<x>"}, {"a": None, "b": float("nan")}],
                  columns=["a", "b"], caption="t")
    text = shown.data
    assert text.index("<th>a</th>") < text.index("<th>b</th>")
    assert "<td>&lt;x&gt;</td><td>1.235</td>" in text
    assert text.count("<td>–</td>") == 2 and "<caption>t</caption>" in text
    # Without columns: every key, in order of first appearance, across rows.
    assert "<th>x</th><th>y</th>" in table([{"x": 1}, {"y": 2}]).data


def test_format_value():
    assert format_value(0.000123456) == "0.0001235" and format_value(3) == "3"


def test_glue_is_a_no_op_without_myst_nb(monkeypatch):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import fails
    glue("key", 1.0)  # no error, nothing displayed


def test_markdown_cannot_be_glued():
    from IPython.display import Markdown

    with pytest.raises(TypeError, match="glue an HTML table"):
        glue("key", Markdown("| a |\n|---|\n| 1 |"))


def test_show_code_displays_the_source(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    show_code(format_value)
    (code,) = shown
    assert "def format_value" in code.data and "<span" in code._repr_html_()
