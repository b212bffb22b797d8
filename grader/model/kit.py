"""Where the kit keeps its parts, and the errors that mean the kit itself is broken.

The grader is installed beside the curriculum it grades: `exercises/` (the stubs and
`info.toml`), `solutions/` (the kit's pristine, solved copies, whose snippets are the source
of truth), and `grader/grading/hidden/` (the hidden tests). A `Kit` names those folders once so no
other module guesses paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class KitError(RuntimeError):
    """The kit itself is broken (bad metadata, a snippet that fails): not the learner's fault."""


class UsageError(ValueError):
    """The grader was called wrongly (a missing folder, an unknown exercise id)."""


@dataclass(frozen=True)
class Kit:
    """The folders of one installed kit."""

    root: Path

    @classmethod
    def installed(cls) -> Kit:
        """The kit this grader package belongs to."""
        return cls(Path(__file__).resolve().parents[2])

    @property
    def exercises(self) -> Path:
        """The learner's stubs, laid out as a submission is."""
        return self.root / "exercises"

    @property
    def solutions(self) -> Path:
        """Solved copies, file for file; their snippets are the truth for predict exercises."""
        return self.root / "solutions"

    @property
    def curriculum_file(self) -> Path:
        """The ordered curriculum metadata."""
        return self.exercises / "info.toml"

    @property
    def hidden_tests(self) -> Path:
        """The hidden tests, never shipped to learners."""
        return Path(__file__).resolve().parents[1] / "grading" / "hidden"
