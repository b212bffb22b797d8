"""The learner's small state file at the kit root: hints seen, the exercise to do next.

`nox -s hint` remembers which hint of an exercise was shown, and `nox -s grade` which exercise
to open next; both read and write `.kit-state.json` (git-ignored) through `KitState`. A missing
or damaged file means a fresh start, never a refusal to help.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.model.fsutil import atomic_write
from grader.model.kit import Kit

STATE_FILE = ".kit-state.json"


class KitState:
    """The learner's small state file: hints seen per exercise, the exercise to do next."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = self._load()

    @classmethod
    def of(cls, kit: Kit) -> KitState:
        """The state file of an installed kit."""
        return cls(kit.root / STATE_FILE)

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # missing or damaged: start afresh rather than refuse to help
        return data if isinstance(data, dict) else {}

    def _hints(self) -> dict[str, Any]:
        hints = self.data.get("hints")
        if not isinstance(hints, dict):
            hints = self.data["hints"] = {}
        return hints

    def hints_seen(self, exercise_id: str) -> int:
        """How many hints of this exercise the learner has seen."""
        seen = self._hints().get(exercise_id, 0)
        return seen if isinstance(seen, int) and seen >= 0 else 0

    def set_hints_seen(self, exercise_id: str, seen: int) -> None:
        """Remember how many hints of this exercise were shown."""
        self._hints()[exercise_id] = seen

    @property
    def next_exercise(self) -> str | None:
        """The exercise the last full grading said to open next."""
        value = self.data.get("next")
        return value if isinstance(value, str) else None

    @next_exercise.setter
    def next_exercise(self, exercise_id: str | None) -> None:
        self.data["next"] = exercise_id

    def save(self) -> None:
        """Write the state atomically (a crash never leaves half a file)."""
        atomic_write(self.path, json.dumps(self.data, indent=2, sort_keys=True) + "\n")
