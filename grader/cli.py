"""`python -m grader`: grade a submission and report, a thin layer over the pytest plugin.

    python -m grader [--submission DIR] [--only ID ...] [--json PATH] [--junit PATH] [--verbose]
    python -m grader SUBCOMMAND ...   (see SUBCOMMANDS: each lives in its own module)

Exit status is 0 whenever grading ran, whatever the score; 2 for a usage error; 3 when the kit
itself is broken (bad metadata, a snippet that fails).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

import pytest
from rich.console import Console

from . import curriculum as curriculum_module
from . import plugin as plugin_module
from .classroom.junit import write_junit
from .ids import unknown_message
from .kit import Kit, KitError, UsageError
from .report import print_report
from .results import GradeReport

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BROKEN_KIT = 3

#: Subcommands, each a module with `main(argv: list[str]) -> int`, imported only when used.
SUBCOMMANDS: dict[str, str] = {
    "batch": "grader.classroom.batch",
    "hint": "grader.hints",
    "list": "grader.learner_list",
    "reset": "grader.learner_reset",
    "watch": "grader.watch",
}


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m grader`."""
    parser = argparse.ArgumentParser(
        prog="python -m grader",
        description="Grade an asyncio ordering kit submission.",
        epilog=(
            "subcommands: "
            + ", ".join(f"python -m grader {name} ..." for name in SUBCOMMANDS)
            + " (each has its own --help)"
        ),
    )
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
    return parser


def grade(kit: Kit, submission: Path, only: set[str] | None) -> GradeReport:
    """Run the hidden tests against `submission` in this process and return the report."""
    if not submission.is_dir():
        msg = f"submission folder not found: {submission}"
        raise UsageError(msg)
    exercises = curriculum_module.load(kit.curriculum_file)
    known = {exercise.id for exercise in exercises}
    unknown = sorted((only or set()) - known)
    if unknown:
        ids = [exercise.id for exercise in exercises]
        msg = " ".join(unknown_message(wanted, ids) for wanted in unknown)
        raise UsageError(msg)
    session = plugin_module.GradingSession(kit, exercises, submission.resolve(), only)
    # Only the plugins the grader names: nothing from the environment or site-packages.
    for variable in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
        os.environ.pop(variable, None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    hidden = kit.hidden_tests
    args = [
        str(hidden),
        "-c",
        str(hidden / "grading.ini"),
        "--rootdir",
        str(hidden),
        "-p",
        "no:terminal",
        "-p",
        "pytest_timeout",
        "-p",
        "grader.plugin",
    ]
    code = pytest.main(args, plugins=[session])
    if session.report is None:
        msg = f"the hidden tests did not run (pytest exit status {code})"
        raise KitError(msg)
    if session.kit_errors:
        raise KitError(session.kit_errors[0])
    return session.report


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[argv[0]])
        code: int = module.main(argv[1:])
        return code
    args = build_parser().parse_args(argv)
    kit = Kit.installed()
    console = Console()
    submission = args.submission or kit.exercises
    try:
        report = grade(kit, submission, set(args.only) if args.only else None)
    except UsageError as exc:
        console.print(f"usage error: {exc}", markup=False, style="red")
        return EXIT_USAGE
    except KitError as exc:
        console.print(f"the kit is broken: {exc}", markup=False, style="red")
        return EXIT_BROKEN_KIT
    if args.json is not None:
        report.write_json(args.json)
    if args.junit is not None:
        write_junit(report, args.junit)
    print_report(report, console, verbose=args.verbose)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
