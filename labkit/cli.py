"""The `labkit` command: `labkit datasets`, `labkit bench`."""

from __future__ import annotations

import argparse
import sys


def datasets(argv: list[str]) -> None:
    """Print every dataset labkit knows, whether it works offline, and what it is."""
    argparse.ArgumentParser(prog="labkit datasets", description=datasets.__doc__).parse_args(argv)
    from .data import available, default_root

    print(f"Data root: argument root=, else $LABKIT_DATA, else {default_root()}")
    for name, info in available().items():
        print(f"{name:<8} {'offline' if info['offline'] else 'download':<9} {info['description']}")


def bench(argv: list[str]) -> None:
    """Measure the training path (see labkit.bench)."""
    from .bench import main as bench_main

    bench_main(argv)


COMMANDS = {"datasets": datasets, "bench": bench}


def main(argv: list[str] | None = None) -> None:
    """Dispatch `labkit COMMAND ...`."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        names = ", ".join(COMMANDS)
        print(f"usage: labkit {{{names}}} ...", file=sys.stderr)
        raise SystemExit(2)
    COMMANDS[argv[0]](argv[1:])
