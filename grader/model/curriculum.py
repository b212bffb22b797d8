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

import functools
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
#: Every key an exercise may have: a typo (`pionts`) is a broken kit, not a silent default.
EXERCISE_KEYS = frozenset({*_REQUIRED, "strong_hint", "entry", "python", "visibility"})
#: Top-level tables and keys of info.toml.
TOP_KEYS = frozenset({"exercise", "course", "format_version"})
#: Keys of the `[course]` table (the class-wide settings).
COURSE_KEYS = frozenset({"python"})


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


def _check_file(file: Any, where: str) -> None:
    """An exercise file is a relative POSIX path to a `.py` file inside exercises/."""
    text = str(file)
    parts = text.split("/")
    if (
        not isinstance(file, str)
        or not text
        or text.startswith("/")
        or "\\" in text
        or (len(text) > 1 and text[1] == ":")
        or any(part in {"", ".", ".."} for part in parts)
    ):
        msg = (
            f"{where}: file {text!r} must be a relative path inside exercises/ "
            "(like '01_basics/01_vocabulary.py'), without '..' or a leading '/'"
        )
        raise KitError(msg)
    if not text.endswith(".py"):
        msg = f"{where}: file {text!r} must be a .py file"
        raise KitError(msg)


def _exercise(raw: Any, where: str) -> Exercise:
    if not isinstance(raw, dict):
        msg = f"{where}: each [[exercise]] must be a table"
        raise KitError(msg)
    if "id" in raw:
        where = f"{where} ({raw['id']!r})"
    unknown = sorted(set(raw) - EXERCISE_KEYS)
    if unknown:
        msg = (
            f"{where}: unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(EXERCISE_KEYS))}"
        )
        raise KitError(msg)
    missing = [key for key in _REQUIRED if key not in raw]
    if missing:
        msg = f"{where}: missing {', '.join(missing)}"
        raise KitError(msg)
    _check_file(raw["file"], where)
    if not isinstance(raw["topics"], list):
        msg = f"{where}: topics must be a list of strings"
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


@dataclass(frozen=True)
class Course:
    """The class-wide settings of `[course]` in info.toml.

    `python` is the Python the class is graded on (`python = "3.12"`): it decides which
    exercises count and so the maximum, the same in the batch gradebook, Gradescope, GitHub
    Classroom and the handout. None when the kit does not declare one.
    """

    python: tuple[int, int] | None = None

    @property
    def python_label(self) -> str:
        """The declared Python as text, or `undeclared`."""
        return ".".join(str(part) for part in self.python) if self.python else "undeclared"


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read the curriculum {path}: {exc}"
        raise KitError(msg) from exc
    return _parse(path, text)


def _parse(path: Path, text: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"cannot read the curriculum {path}: {exc}"
        raise KitError(msg) from exc
    version = data.get("format_version")
    if version != FORMAT_VERSION or type(version) is not int:
        msg = (
            f"{path.name}: format_version must be {FORMAT_VERSION} (the curriculum schema this "
            f"grader reads), not {version!r}"
        )
        raise KitError(msg)
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        msg = f"{path.name}: unknown top-level key(s) {', '.join(unknown)}; known: exercise, course"
        raise KitError(msg)
    return data


def _course(data: dict[str, Any], name: str) -> Course:
    raw = data.get("course", {})
    if not isinstance(raw, dict):
        msg = f"{name}: [course] must be a table"
        raise KitError(msg)
    unknown = sorted(set(raw) - COURSE_KEYS)
    if unknown:
        msg = f"{name} [course]: unknown key(s) {', '.join(unknown)}; known: python"
        raise KitError(msg)
    python = _version(raw["python"], f"{name} [course]") if "python" in raw else None
    return Course(python=python)


def course(path: Path) -> Course:
    """The `[course]` settings of the curriculum file; raise KitError if malformed."""
    return _course(_read(path), path.name)


def load(path: Path) -> tuple[Exercise, ...]:
    """Read and check the curriculum file; raise KitError if it is malformed.

    One grade reads it several times (the schema check, the hidden tests, the stubs, the
    progress line): the file is read each time, but the same text is parsed only once.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read the curriculum {path}: {exc}"
        raise KitError(msg) from exc
    return _load_text(path, text)


@functools.lru_cache(maxsize=8)
def _load_text(path: Path, text: str) -> tuple[Exercise, ...]:
    data = _parse(path, text)
    settings = _course(data, path.name)
    entries = data.get("exercise", [])
    if not isinstance(entries, list) or not entries:
        msg = f"{path.name} lists no exercise (expected [[exercise]] tables)"
        raise KitError(msg)
    exercises = tuple(
        _exercise(raw, f"{path.name} exercise #{number}")
        for number, raw in enumerate(entries, start=1)
    )
    seen: set[str] = set()
    files: set[str] = set()
    for exercise in exercises:
        if exercise.id in seen:
            msg = f"{path.name}: duplicate exercise id {exercise.id!r}"
            raise KitError(msg)
        if exercise.file.lower() in files:
            msg = f"{path.name}: two exercises use the file {exercise.file!r}"
            raise KitError(msg)
        seen.add(exercise.id)
        files.add(exercise.file.lower())
        if settings.python is not None and exercise.python > settings.python:
            msg = (
                f"{path.name}: exercise {exercise.id!r} needs Python {exercise.python_label}, "
                f"newer than the class's Python {settings.python_label} ([course] python); "
                "raise [course] python or remove the exercise"
            )
            raise KitError(msg)
    return exercises


def by_id(exercises: tuple[Exercise, ...]) -> dict[str, Exercise]:
    """The exercises keyed by id, in curriculum order."""
    return {exercise.id: exercise for exercise in exercises}
