"""The `labkit` command: `labkit run CHAPTER`, `labkit sweep CHAPTER`, `labkit report DIR`,
`labkit datasets`, `labkit bench`, `labkit estimate`, `labkit grade`.

A bad command line or parameter prints `labkit <command>: error: <what and why>` and exits with
status 2, before any work starts; `--help` prints the usage and exits with 0.
"""

from __future__ import annotations

import os
import sys

from .commandline import Parser, UsageError, parse_params

USAGE = """usage: labkit COMMAND [options]

commands:
  run CHAPTER      run a chapter headless (same parameters as its notebook), e.g.
                   labkit run dcgan --profile smoke -p epochs=3
  sweep CHAPTER    run a chapter once per point of a grid (YAML), locally or on Slurm
  report DIR       gather a sweep's runs into tables and a figure
  datasets         list the datasets and whether they work offline
  bench            measure the training path
  estimate         estimate each chapter's wall time on a Colab T4 (FLOPs counted, not timed)
  grade PATHS      grade submitted student editions (one CSV row per exercise)

Chapters: 1 theory, 2 dcgan, 3 crossdata, 4 cgan, 5 srgan, 6 ablations, 7 stabilisers.
`labkit COMMAND --help` describes a command."""


def run(argv: list[str]) -> None:
    """Run a chapter headless: data, training, figures and claims into a fresh run folder."""
    from . import chapters

    parser = _parser("run", run.__doc__)
    parser.add_argument("chapter", help="a chapter's name or number (labkit run --help lists them)")
    parser.add_argument("--profile", default="auto",
                        help="smoke, cpu, full, gpu-offline or auto (default)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a notebook parameter, e.g. -p epochs=5 -p subset=4000")
    parser.epilog = "chapters: " + ", ".join(f"{n} {m}" for m, n in chapters.CHAPTERS.items())
    args = parser.parse_args(argv)
    chapter = _chapter(args.chapter)
    try:
        cfg = chapter.Config.resolve(args.profile, **parse_params(args.param))
    except ValueError as error:
        raise UsageError(str(error)) from None
    result = chapter.run(cfg)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 speaks for all
        print(f"run folder: {result.dir}")
        for claim in result.claims:
            print(f"claim {claim.id}: {claim.verdict} ({claim.seeds} seed(s))")


def sweep(argv: list[str]) -> None:
    """Run a chapter once per grid point (see labkit.sweep)."""
    from .sweep import main as sweep_main

    sweep_main(argv)


def report(argv: list[str]) -> None:
    """Gather a sweep's runs into tables and a figure (see labkit.report)."""
    from .report import main as report_main

    report_main(argv)


def datasets(argv: list[str]) -> None:
    """Print every dataset labkit knows, whether it works offline, and what it is."""
    _parser("datasets", datasets.__doc__).parse_args(argv)
    from .data import available, default_root

    print(f"Data root: argument root=, else $LABKIT_DATA, else {default_root()}")
    for name, info in available().items():
        print(f"{name:<8} {'offline' if info['offline'] else 'download':<9} {info['description']}")


def bench(argv: list[str]) -> None:
    """Measure the training path (see labkit.bench)."""
    from .bench import main as bench_main

    bench_main(argv)


def estimate(argv: list[str]) -> None:
    """Estimate each chapter's wall time on a Colab T4 at full (see labkit.estimate)."""
    from .estimate import main as estimate_main

    estimate_main(argv)


def grade(argv: list[str]) -> None:
    """Grade submitted student editions: every exercise's check on each answer (code
    exercises re-run; questions on the student's own run from the notebook's saved output)."""
    parser = _parser("grade", grade.__doc__)
    parser.add_argument("paths", nargs="+", help="submitted notebooks, or folders of them")
    parser.add_argument("--out", default="grades.csv", help="the CSV written (grades.csv)")
    args = parser.parse_args(argv)
    from .exercises.grading import grade as grade_all
    from .exercises.grading import summary

    try:
        rows = grade_all(args.paths, args.out)
    except (FileNotFoundError, ValueError) as error:
        raise UsageError(str(error)) from None
    print(summary(rows))
    print(f"{len(rows)} rows written to {args.out}")


COMMANDS = {"run": run, "sweep": sweep, "report": report, "datasets": datasets, "bench": bench,
            "estimate": estimate, "grade": grade}


def _parser(command: str, description: str | None) -> Parser:
    return Parser(prog=f"labkit {command}", description=description)


def _chapter(name: str):
    from . import chapters

    try:
        return chapters.get(name)
    except ValueError as error:
        raise UsageError(str(error)) from None


def main(argv: list[str] | None = None) -> None:
    """Dispatch `labkit COMMAND ...`; usage errors exit with status 2 and one clear line."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        raise SystemExit(0 if argv else 2)
    command = argv[0]
    if command not in COMMANDS:
        print(f"labkit: error: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
        raise SystemExit(2)
    try:
        COMMANDS[command](argv[1:])
    except UsageError as error:
        print(f"labkit {command}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
