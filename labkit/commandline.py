"""Command-line plumbing shared by `labkit`'s commands: an argument parser whose errors are
raised (and printed once, by `labkit.cli`, as `labkit CMD: error: ...` with exit status 2), and
`-p KEY=VALUE` parameters read as Python values."""

from __future__ import annotations

import argparse
import ast


class UsageError(Exception):
    """A command line that cannot be run; the message says why."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error raises UsageError instead of printing and exiting."""

    def error(self, message: str):
        raise UsageError(message)


def parse_value(text: str):
    """A command-line value as Python: numbers, True/False/None (any case), lists and dicts in
    Python or JSON syntax, else the string itself."""
    words = {"true": True, "false": False, "none": None, "null": None}
    if text.lower() in words:
        return words[text.lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_params(items: list[str]) -> dict:
    """`-p KEY=VALUE` items as a dict (values through `parse_value`)."""
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-p {item!r}: expected KEY=VALUE")
        params[key.strip()] = parse_value(value)
    return params
