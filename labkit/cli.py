"""The `labkit` command: `labkit datasets`, `labkit run`, `labkit sweep`, `labkit report`,
`labkit bench`."""

from __future__ import annotations

import argparse
import ast
import os
import sys


def datasets(argv: list[str]) -> None:
    """Print every dataset labkit knows, whether it works offline, and what it is."""
    argparse.ArgumentParser(prog="labkit datasets", description=datasets.__doc__).parse_args(argv)
    from .data import available, default_root

    print(f"Data root: argument root=, else $LABKIT_DATA, else {default_root()}")
    for name, info in available().items():
        print(f"{name:<8} {'offline' if info['offline'] else 'download':<9} {info['description']}")


def run(argv: list[str]) -> None:
    """Train a chapter's model outside its notebook, e.g. on several GPUs under torchrun."""
    parser = argparse.ArgumentParser(prog="labkit run", description=run.__doc__)
    parser.add_argument("chapter", choices=sorted(RUNNERS))
    parser.add_argument("--profile", default="auto")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a notebook parameter, e.g. -p epochs=5 -p subset=4000")
    args = parser.parse_args(argv)
    from . import profiles

    params = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"-p {item!r}: expected KEY=VALUE")
        params[key] = parse_value(value)
    cfg = profiles.resolve(args.chapter, args.profile, **params)
    RUNNERS[args.chapter](cfg)


def parse_value(text: str):
    """A command-line value as Python: numbers, True/False/None (any case), else the string."""
    words = {"true": True, "false": False, "none": None, "null": None}
    if text.lower() in words:
        return words[text.lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _run_dcgan(cfg) -> None:
    """Chapter 2's training: the DCGAN on the configured dataset."""
    from .data import load
    from .models import dcgan
    from .train import TrainConfig, train_gan

    train_config = TrainConfig.from_profile(cfg, name="dcgan")
    data = load(cfg.dataset, root=cfg.data_root, split=cfg.split, image_size=cfg.image_size,
                channels=cfg.channels, subset=cfg.subset)
    generator, discriminator = dcgan(image_size=cfg.image_size, channels=data.images.shape[1],
                                     nz=cfg.nz, ngf=cfg.ngf, ndf=cfg.ndf)
    result = train_gan(generator, discriminator, data, train_config)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 speaks for all
        print(f"run folder: {result.dir}")


RUNNERS = {"dcgan": _run_dcgan}


def bench(argv: list[str]) -> None:
    """Measure the training path (see labkit.bench)."""
    from .bench import main as bench_main

    bench_main(argv)


def sweep(argv: list[str]) -> None:
    """Execute a notebook once per grid point with papermill (see labkit.sweep)."""
    from .sweep import main as sweep_main

    sweep_main(argv)


def report(argv: list[str]) -> None:
    """Gather a sweep's runs into tables and a figure (see labkit.report)."""
    from .report import main as report_main

    report_main(argv)


COMMANDS = {"datasets": datasets, "run": run, "sweep": sweep, "report": report, "bench": bench}


def main(argv: list[str] | None = None) -> None:
    """Dispatch `labkit COMMAND ...`."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        names = ", ".join(COMMANDS)
        print(f"usage: labkit {{{names}}} ...", file=sys.stderr)
        raise SystemExit(2)
    COMMANDS[argv[0]](argv[1:])
