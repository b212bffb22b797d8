"""`python -m grader [--submission DIR] ...`: grade a submission, write what was asked, report.

A pipeline of named steps: parse the command line, grade the folder (`grading.runner`), write
the JSON and JUnit files, print the report. Exit status is 0 whenever grading ran, whatever the
score; 2 for a usage error; 3 when the kit itself is broken (bad metadata, a snippet that fails).
The JUnit writer (and its XML library) is imported only when `--junit` asks for it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from grader.feedback.terminal import print_report
from grader.grading.runner import grade
from grader.model.kit import Kit, KitError, UsageError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BROKEN_KIT = 3
EXIT_INTERRUPTED = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of grading one submission."""
    parser.add_argument(
        "--submission",
        type=Path,
        default=None,
        help="folder laid out like exercises/ (default: the kit's exercises/)",
    )
    parser.add_argument(
        "--only", nargs="+", metavar="ID", default=None, help="grade only these exercise ids"
    )
    parser.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="write results JSON"
    )
    parser.add_argument("--junit", type=Path, default=None, metavar="PATH", help="write JUnit XML")
    parser.add_argument("--verbose", action="store_true", help="show feedback for every exercise")


def run(args: argparse.Namespace, *, kit: Kit | None = None) -> int:
    """Grade, write the files asked for, print the report; return the exit status."""
    kit = kit or Kit.installed()
    console = Console()
    submission = args.submission or kit.exercises
    try:
        report = grade(kit, submission, set(args.only) if args.only else None)
    except UsageError as exc:
        console.print(f"usage error: {exc}", markup=False, style="red", soft_wrap=True)
        return EXIT_USAGE
    except KitError as exc:
        console.print(f"the kit is broken: {exc}", markup=False, style="red", soft_wrap=True)
        return EXIT_BROKEN_KIT
    except KeyboardInterrupt:
        console.print("interrupted: nothing was graded or written", style="red")
        return EXIT_INTERRUPTED
    if args.json is not None:
        report.write_json(args.json)
    if args.junit is not None:
        from grader.feedback.junit import write_junit  # noqa: PLC0415 - only when asked for

        write_junit(report, args.junit)
    print_report(report, console, verbose=args.verbose)
    return EXIT_OK
