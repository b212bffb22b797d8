"""`python -m grader`: parse the command line and hand it to the command it names.

    python -m grader [--submission DIR] [--only ID ...] [--json PATH] [--junit PATH] [--verbose]
    python -m grader SUBCOMMAND ...   (see SUBCOMMANDS: each lives in its own module)

Without a subcommand the grader grades (`commands/grade.py`). Exit status is 0 whenever grading
ran, whatever the score; 2 for a usage error; 3 when the kit itself is broken.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from grader.commands import grade

#: Subcommands, each a module with `main(argv: list[str]) -> int`. They are imported only when
#: used, so grading one exercise does not pay for the classroom tools' imports; every one of
#: them sits in this layer or below it (see `grader/__init__.py`).
SUBCOMMANDS: dict[str, str] = {
    "batch": "grader.classroom.batch",
    "check-kit": "grader.classroom.check_kit",
    "hint": "grader.commands.hint",
    "watch": "grader.commands.watch",
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
    grade.add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[argv[0]])
        code: int = module.main(argv[1:])
        return code
    return grade.run(build_parser().parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
