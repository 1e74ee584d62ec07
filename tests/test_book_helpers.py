"""labkit.book: the tables and glue the results page is built from."""

import sys

from labkit.book import format_value, glue, html_table, pasteable


def test_html_table_keeps_column_order_and_escapes():
    table = html_table([{"b": 1.234567, "a": "<x>"}, {"a": None, "b": float("nan")}],
                       columns=["a", "b"], caption="t")
    text = table.data
    assert text.index("<th>a</th>") < text.index("<th>b</th>")
    assert "<td>&lt;x&gt;</td><td>1.235</td>" in text
    assert text.count("<td>–</td>") == 2 and "<caption>t</caption>" in text


def test_format_value():
    assert format_value(0.000123456) == "0.0001235" and format_value(3) == "3"


def test_glue_is_a_no_op_without_myst_nb(monkeypatch):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import fails
    glue("key", 1.0)  # no error, nothing displayed


def test_markdown_is_glued_as_html_that_another_page_can_paste():
    from IPython.display import HTML, Markdown

    pasted = pasteable(Markdown("**t**\n\n| a | b |\n|---|---|\n| 1.5 | x |"))
    assert isinstance(pasted, HTML)
    assert "<strong>t</strong>" in pasted.data and "<td>1.5</td>" in pasted.data
    table = html_table([{"a": 1}])
    assert pasteable(table) is table
