"""The kit's schema check: the curriculum and the files it names, before anyone is graded.

An instructor who adds or edits an exercise can break the kit in ways that only show once a
class has been graded: a typo in a `file` path silently costs every student those points, an
`entry` that the solution does not define turns every attempt into an error row. This check
finds those mistakes in milliseconds, so every command that grades runs it first and stops with
exit 3 and one line: `info.toml` parses, has exercises, only known keys, unique ids and files,
paths inside the kit; each exercise's stub and solution exist; the solution defines `entry`.
The full self-check (stubs zero, solutions full marks, stable truths) is `classroom.check_kit`.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from grader.model import curriculum as curriculum_module
from grader.model.curriculum import Exercise
from grader.model.kit import Kit, KitError


def _entry_defined(source: bytes, entry: str) -> bool | None:
    """True if the module defines `entry` at top level; None if it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return entry in names


def _inside(root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def schema_problems(kit: Kit) -> list[str]:
    """Every schema problem of the kit, one sentence each (empty when the kit is sound)."""
    try:
        exercises = curriculum_module.load(kit.curriculum_file)
    except KitError as exc:
        return [str(exc)]
    problems: list[str] = []
    for exercise in exercises:
        where = f"exercise {exercise.id!r}"
        stub, solution = kit.exercises / exercise.file, kit.solutions / exercise.file
        for folder, path, what in (
            (kit.exercises, stub, "stub"),
            (kit.solutions, solution, "solution"),
        ):
            if not _inside(folder, path):
                problems.append(f"{where}: its {what} {path} lies outside {folder.name}/")
            elif not path.is_file():
                problems.append(
                    f"{where}: file {exercise.file!r} does not exist in {folder.name}/ "
                    f"(its {what} is missing)"
                )
        if solution.is_file() and _inside(kit.solutions, solution):
            defined = _entry_defined(solution.read_bytes(), exercise.entry)
            if defined is None:
                problems.append(f"{where}: the solution {exercise.file} does not parse")
            elif not defined:
                problems.append(
                    f"{where}: entry {exercise.entry!r} is not defined in the solution "
                    f"{exercise.file}"
                )
    return problems


@functools.lru_cache(maxsize=8)
def _checked(root: Path, _stamp: tuple[float, ...]) -> tuple[Exercise, ...]:
    kit = Kit(root)
    problems = schema_problems(kit)
    if problems:
        more = f" (and {len(problems) - 1} more: run python -m grader check-kit)"
        raise KitError(problems[0] + (more if len(problems) > 1 else ""))
    return curriculum_module.load(kit.curriculum_file)


def check_schema(kit: Kit) -> tuple[Exercise, ...]:
    """The curriculum, after the schema part of check-kit; raise KitError with one line if not.

    Cached per process for an unchanged info.toml, so a warm batch worker pays for it once.
    """
    try:
        stamp = (kit.curriculum_file.stat().st_mtime,)
    except OSError:
        stamp = (0.0,)
    return _checked(kit.root, stamp)
