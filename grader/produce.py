"""What hidden tests of *produce* exercises use: run the learner's code, check what it did.

`Learner.run` runs a function from the learner's file in the sandbox (hidden variants pass
other labels, counts and delays); `Learner.reference` runs the same call on the kit's solution,
so the expected order comes from asyncio itself. `expect_order` fails the test with both orders
side by side.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from .curriculum import Exercise
from .feedback import side_by_side
from .ordering import Block, score_order
from .plugin import GradingSession
from .runs import Run, execute
from .truth import pristine_source

_reference_cache: dict[tuple[str, str], Run] = {}


class Learner:
    """Runs functions of one exercise's learner file (and of the kit's solution)."""

    def __init__(self, session: GradingSession, exercise: Exercise) -> None:
        self.session = session
        self.exercise = exercise
        self._source: bytes | None = None

    @property
    def source(self) -> bytes:
        """The learner's file (NotSubmittedError if missing)."""
        if self._source is None:
            self._source = self.session.submission.source(self.exercise)
        return self._source

    def run(self, entry: str | None = None, *args: Any, **kwargs: Any) -> Run:
        """Call `entry(*args, **kwargs)` from the learner's file under the virtual clock."""
        return execute(
            self.source,
            self.exercise.file,
            entry=entry or self.exercise.entry,
            args=list(args),
            kwargs=kwargs,
        )

    def reference(self, entry: str | None = None, *args: Any, **kwargs: Any) -> Run:
        """The same call on the kit's solution: the true order for this variant."""
        key = (self.exercise.id, json.dumps([entry, args, kwargs], sort_keys=True))
        cached = _reference_cache.get(key)
        if cached is None:
            _, source = pristine_source(self.session.kit, self.exercise)
            cached = execute(
                source,
                self.exercise.file,
                entry=entry or self.exercise.entry,
                args=list(args),
                kwargs=kwargs,
            )
            _reference_cache[key] = cached
        return cached


def expect_order(
    run: Run,
    expected: Sequence[str] | Sequence[Block],
    what: str,
) -> None:
    """Fail with a side-by-side picture unless `run` printed `expected` (blocks or lines)."""
    blocks = [item if isinstance(item, Block) else Block((str(item),)) for item in expected]
    score = score_order(run.lines, blocks)
    if score.fraction < 1.0:
        pytest.fail(
            f"{what}: the order is not the one required.\n\n"
            + side_by_side(
                run.lines, blocks, score, left_title="your code printed", right_title="expected"
            ),
            pytrace=False,
        )
