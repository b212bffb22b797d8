"""The true order of a predict exercise, computed by running the kit's pristine snippet.

The grader never trusts a hand-written key for an order it can compute: it runs the snippet
from the kit's own `solutions/` copy (never the learner's, which could be edited to match a
prediction) under the virtual clock on the Python that is grading, once per process and then
from the disk cache (`truth_cache`); so does the expected run of each hidden variant of a
produce exercise (`kit_call`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.grading import truth_cache
from grader.model.curriculum import Exercise
from grader.model.errors import LearnerCodeError
from grader.model.kit import Kit, KitError
from grader.sandbox.limits import default_limits
from grader.sandbox.runs import Run, execute

#: Kit-derived runs of this process: (file, source hash, belief) -> the run or its failure.
_cache: dict[tuple[str, int, str | None], Run | str] = {}


def pristine_source(kit: Kit, exercise: Exercise) -> tuple[Path, bytes]:
    """The kit's own copy of an exercise's module."""
    path = kit.solutions / exercise.file
    try:
        return path, path.read_bytes()
    except OSError as exc:
        msg = f"the kit has no solution file for {exercise.id}: {path}"
        raise KitError(msg) from exc


def kit_run(kit: Kit, exercise: Exercise, misbelief: str | None = None) -> Run | str:
    """The pristine snippet's run (under `misbelief`, if named), or the message it failed with.

    Kit-derived runs depend only on the kit and the Python, so they are kept for the process
    and on disk (`truth_cache`): a fresh grading process reads them instead of re-running.
    """
    path, source = pristine_source(kit, exercise)
    memory_key = (str(path), hash(source), misbelief)
    known = _cache.get(memory_key)
    if known is not None:
        return known
    limits = default_limits()
    request: dict[str, Any] = {"entry": exercise.entry, "misbelief": misbelief}
    disk_key = truth_cache.key_of(source, request, limits)
    found = truth_cache.load(kit, disk_key)
    if found is None:
        try:
            found = execute(
                source, exercise.file, entry=exercise.entry, misbelief=misbelief, limits=limits
            )
        except LearnerCodeError as exc:
            found = exc.message
        truth_cache.store(kit, disk_key, found)
    _cache[memory_key] = found
    return found


def kit_call(
    kit: Kit, exercise: Exercise, entry: str, args: list[Any], kwargs: dict[str, Any]
) -> Run:
    """`entry(*args, **kwargs)` of the kit's solution: a produce exercise's true order.

    Kept on disk like `kit_run` (only finished runs: a failure is the kit's bug and is raised
    again, as `LearnerCodeError`, each time), so a learner's regrade after editing one file
    runs only that file's code.
    """
    _, source = pristine_source(kit, exercise)
    limits = default_limits()
    request: dict[str, Any] = {"call": entry, "args": args, "kwargs": kwargs}
    try:
        disk_key: str | None = truth_cache.key_of(source, request, limits)
    except (TypeError, ValueError):
        disk_key = None  # arguments JSON cannot hold: run it, do not keep it
    found = truth_cache.load(kit, disk_key) if disk_key is not None else None
    if isinstance(found, Run):
        return found
    run = execute(source, exercise.file, entry=entry, args=args, kwargs=kwargs, limits=limits)
    if disk_key is not None:
        truth_cache.store(kit, disk_key, run)
    return run


def truth_of(kit: Kit, exercise: Exercise) -> Run:
    """Run the pristine snippet (cached per file version) and return its trace."""
    run = kit_run(kit, exercise)
    if isinstance(run, str):
        msg = f"the kit's snippet for {exercise.id} failed: {run}"
        raise KitError(msg)
    return run
