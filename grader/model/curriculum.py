"""The curriculum: one ordered TOML file that says which exercises exist and how they score.

`exercises/info.toml` is the single list of exercises, easiest first. It starts with the
schema's `format_version` (the loader refuses a version it does not know, rather than misread
it), then one `[[exercise]]` table per exercise. Each entry names its
file, title, kind (`predict` or `produce`), points, topics, a hint, a stronger hint, an
explanation shown after an attempt, and optionally the oldest Python it needs and the function
the grader runs. Everything else - the grader's order, the report's order, the release - follows
this file.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.model.kit import KitError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

#: The curriculum schema this grader reads; bump it when a key changes meaning or is removed.
FORMAT_VERSION = 1
KINDS = ("predict", "produce")
_REQUIRED = ("id", "file", "title", "kind", "points", "topics", "hint", "explanation")


@dataclass(frozen=True)
class Exercise:
    """One exercise as the curriculum describes it."""

    id: str
    file: str
    title: str
    kind: str
    points: int
    topics: tuple[str, ...]
    hint: str
    explanation: str
    strong_hint: str = ""
    entry: str = "main"
    python: tuple[int, int] = (3, 10)

    @property
    def python_label(self) -> str:
        """The oldest Python this exercise runs on, as text (e.g. `3.12`)."""
        return ".".join(str(part) for part in self.python)

    def supported(self, version: tuple[int, int] | None = None) -> bool:
        """True if this Python (or `version`) is new enough for the exercise."""
        return (version or sys.version_info[:2]) >= self.python


def _version(text: Any, where: str) -> tuple[int, int]:
    try:
        major, minor = (int(part) for part in str(text).split("."))
    except ValueError as exc:
        msg = f"{where}: python must look like '3.12', not {text!r}"
        raise KitError(msg) from exc
    return (major, minor)


def _reflow(text: Any) -> str:
    """Join the lines of each paragraph: TOML keeps the file's line breaks, readers don't."""
    paragraphs = str(text).strip().split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def _exercise(raw: dict[str, Any], where: str) -> Exercise:
    missing = [key for key in _REQUIRED if key not in raw]
    if missing:
        msg = f"{where}: missing {', '.join(missing)}"
        raise KitError(msg)
    if raw["kind"] not in KINDS:
        msg = f"{where}: kind must be one of {KINDS}, not {raw['kind']!r}"
        raise KitError(msg)
    if type(raw["points"]) is not int or raw["points"] <= 0:
        msg = f"{where}: points must be a positive integer"
        raise KitError(msg)
    return Exercise(
        id=str(raw["id"]),
        file=str(raw["file"]),
        title=str(raw["title"]),
        kind=str(raw["kind"]),
        points=int(raw["points"]),
        topics=tuple(str(topic) for topic in raw["topics"]),
        hint=_reflow(raw["hint"]),
        explanation=_reflow(raw["explanation"]),
        strong_hint=_reflow(raw.get("strong_hint", "")),
        entry=str(raw.get("entry", "main")),
        python=_version(raw.get("python", "3.10"), where),
    )


def load(path: Path) -> tuple[Exercise, ...]:
    """Read and check the curriculum file; raise KitError if it is malformed."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"cannot read the curriculum {path}: {exc}"
        raise KitError(msg) from exc
    version = data.get("format_version")
    if version != FORMAT_VERSION or type(version) is not int:
        msg = (
            f"{path.name}: format_version must be {FORMAT_VERSION} (the curriculum schema this "
            f"grader reads), not {version!r}"
        )
        raise KitError(msg)
    entries = data.get("exercise", [])
    exercises = tuple(
        _exercise(raw, f"{path.name} exercise #{number}")
        for number, raw in enumerate(entries, start=1)
    )
    seen: set[str] = set()
    for exercise in exercises:
        if exercise.id in seen:
            msg = f"{path.name}: duplicate exercise id {exercise.id!r}"
            raise KitError(msg)
        seen.add(exercise.id)
    return exercises


def by_id(exercises: tuple[Exercise, ...]) -> dict[str, Exercise]:
    """The exercises keyed by id, in curriculum order."""
    return {exercise.id: exercise for exercise in exercises}
