"""The true order of a predict exercise, computed by running the kit's pristine snippet.

The grader never trusts a hand-written key for an order it can compute: it runs the snippet
from the kit's own `solutions/` copy (never the learner's, which could be edited to match a
prediction) under the virtual clock on the Python that is grading, once per process.
"""

from __future__ import annotations

from pathlib import Path

from grader.model.curriculum import Exercise
from grader.model.errors import LearnerCodeError
from grader.model.kit import Kit, KitError
from grader.sandbox.runs import Run, execute

_cache: dict[tuple[str, int], Run] = {}


def pristine_source(kit: Kit, exercise: Exercise) -> tuple[Path, bytes]:
    """The kit's own copy of an exercise's module."""
    path = kit.solutions / exercise.file
    try:
        return path, path.read_bytes()
    except OSError as exc:
        msg = f"the kit has no solution file for {exercise.id}: {path}"
        raise KitError(msg) from exc


def truth_of(kit: Kit, exercise: Exercise) -> Run:
    """Run the pristine snippet (cached per file version) and return its trace."""
    path, source = pristine_source(kit, exercise)
    key = (str(path), hash(source))
    cached = _cache.get(key)
    if cached is not None:
        return cached
    try:
        run = execute(source, exercise.file, entry=exercise.entry)
    except LearnerCodeError as exc:
        msg = f"the kit's snippet for {exercise.id} failed: {exc.message}"
        raise KitError(msg) from exc
    _cache[key] = run
    return run
