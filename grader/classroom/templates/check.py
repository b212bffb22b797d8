"""Public checks for your exercises: `nox -s check`, or `python tools/check.py [--only ID ...]`.

These checks are NOT your grade. They say that each answer is filled in and well-formed and
that each program you change still runs its visible example. Your instructor grades your work
with hidden tests that compare the order of what happens, including variants you have not seen.

- A prediction is read as data: your file is parsed, never run (as when it is graded).
- A program you change is run as `python exercises/<file>`, with a time limit, exactly as you
  would run it yourself.

Only the Python standard library is used, so this runs with nothing installed.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXERCISES = ROOT / "exercises"
CURRICULUM = HERE / "exercises.json"
TIMEOUT_SECONDS = 10
OK, TODO, PROBLEM, SKIP = "ok", "to do", "PROBLEM", "skipped"
NOT_THE_GRADE = (
    "Passing these public checks is NOT your grade. They only say that your answers are "
    "filled in and readable and that your programs run. Your grade comes from hidden tests "
    "your instructor runs, with variants you have not seen."
)


@dataclass(frozen=True)
class Check:
    """The public check of one exercise."""

    exercise: str
    file: str
    state: str
    message: str


def _prediction_node(tree: ast.Module) -> ast.expr | None:
    """The value of the last top-level `PREDICTION = ...` (what the grader reads)."""
    node: ast.expr | None = None
    for statement in tree.body:
        targets: list[ast.expr]
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        else:
            continue
        if any(isinstance(target, ast.Name) and target.id == "PREDICTION" for target in targets):
            node = value
    return node


def check_prediction(source: bytes) -> tuple[str, str]:
    """Whether PREDICTION is filled in and plain data. The file is parsed, never run."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return PROBLEM, f"syntax error on line {exc.lineno}: {exc.msg}"
    except ValueError as exc:
        return PROBLEM, f"cannot be parsed: {exc}"
    node = _prediction_node(tree)
    if node is None:
        return PROBLEM, "no `PREDICTION = ...` at the top level"
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return PROBLEM, (
            f"PREDICTION on line {node.lineno} must be plain data (strings in a list, or a "
            "dict of answers): no names, calls or expressions"
        )
    return _judge(value)


def _judge(value: object) -> tuple[str, str]:
    """Whether a PREDICTION value is a filled-in list of lines or dict of answers."""
    if isinstance(value, (list, tuple)):
        return _judge_lines(value)
    if isinstance(value, dict):
        return _judge_answers(value)
    return PROBLEM, "PREDICTION must be a list of lines or a dict of answers"


def _judge_lines(value: list[object] | tuple[object, ...]) -> tuple[str, str]:
    bad = [item for item in value if not isinstance(item, str)]
    if bad:
        return PROBLEM, f"every line of PREDICTION must be a string; found {bad[0]!r}"
    if not value:
        return TODO, "PREDICTION is still empty"
    return OK, f"PREDICTION is filled in ({len(value)} line(s))"


def _judge_answers(value: dict[object, object]) -> tuple[str, str]:
    blanks = sum(1 for answer in value.values() if answer is Ellipsis)
    if not value or blanks == len(value):
        return TODO, "PREDICTION's answers are still `...`"
    if blanks:
        return TODO, f"{blanks} of {len(value)} answers are still `...`"
    return OK, f"PREDICTION is filled in ({len(value)} answers)"


def check_program(path: Path) -> tuple[str, str]:
    """Whether the program parses and runs its visible example within the time limit."""
    try:
        ast.parse(path.read_bytes())
    except SyntaxError as exc:
        return PROBLEM, f"syntax error on line {exc.lineno}: {exc.msg}"
    try:
        completed = subprocess.run(  # noqa: S603 - the student's own file, their own Python
            [sys.executable, str(path)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return PROBLEM, f"did not finish within {TIMEOUT_SECONDS} s (a loop that never ends?)"
    if completed.returncode != 0:
        lines = [line for line in completed.stderr.splitlines() if line.strip()]
        last = lines[-1].strip()[:200] if lines else "no error message"
        return PROBLEM, f"exited with status {completed.returncode}: {last}"
    printed = len(completed.stdout.splitlines())
    return OK, f"runs its visible example ({printed} line(s) printed)"


def _too_new(entry: dict[str, Any]) -> str | None:
    """The Python an exercise needs, if this one is older."""
    needed = str(entry.get("python", "3.10"))
    major, minor = (int(part) for part in needed.split("."))
    return needed if sys.version_info[:2] < (major, minor) else None


def check_exercise(entry: dict[str, Any]) -> Check:
    """The public check of one exercise, from its curriculum entry."""
    exercise, file = str(entry["id"]), str(entry["file"])
    path = EXERCISES / file
    if not path.is_file():
        return Check(exercise, file, PROBLEM, "the file is missing")
    needed = _too_new(entry)
    if entry["kind"] == "predict":
        state, message = check_prediction(path.read_bytes())
        if state == PROBLEM and needed and "syntax error" in message:
            state, message = SKIP, f"needs Python {needed} or newer to check"
    elif needed:
        state, message = SKIP, f"needs Python {needed} or newer to run"
    else:
        state, message = check_program(path)
    return Check(exercise, file, state, message)


def main(argv: list[str] | None = None) -> int:
    """Run the public checks; exit status 1 if any exercise has a problem."""
    parser = argparse.ArgumentParser(description="Public checks (not your grade).")
    parser.add_argument("--only", nargs="+", metavar="ID", default=None)
    args = parser.parse_args(argv)
    entries: list[dict[str, Any]] = json.loads(CURRICULUM.read_text(encoding="utf-8"))
    known = [str(entry["id"]) for entry in entries]
    unknown = sorted(set(args.only or ()) - set(known))
    if unknown:
        print(f"unknown exercise id(s): {', '.join(unknown)}; known: {', '.join(known)}")  # noqa: T201
        return 2
    selected = [entry for entry in entries if args.only is None or entry["id"] in args.only]
    print(f"Public checks, {len(selected)} exercise(s), Python {sys.version.split()[0]}")  # noqa: T201
    checks = [check_exercise(entry) for entry in selected]
    width = max((len(check.exercise) for check in checks), default=0)
    for check in checks:
        print(f"  {check.state:<8} {check.exercise:<{width}}  {check.file}: {check.message}")  # noqa: T201
    counts = {state: sum(1 for c in checks if c.state == state) for state in (OK, TODO, PROBLEM)}
    print(  # noqa: T201
        f"\n{counts[OK]} ok, {counts[TODO]} to do, {counts[PROBLEM]} with a problem.\n\n"
        f"{NOT_THE_GRADE}"
    )
    return 1 if counts[PROBLEM] else 0


if __name__ == "__main__":
    sys.exit(main())
