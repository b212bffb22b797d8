"""The grader's pytest plugin module: the fixtures hidden tests ask for.

`python -m grader` loads it with `-p grader.grading.plugin` next to the `GradingSession` object
(`session.py`) that holds the run's state and implements the collection and report hooks.
Fixtures reach that session through `config.stash`, as pytest-timeout keeps its settings.
"""

from __future__ import annotations

import pytest

from grader.grading.produce import Learner
from grader.grading.session import (
    CREDIT_KEY,
    SESSION_KEY,
    Credit,
    GradingSession,
    exercise_of,
)
from grader.model.curriculum import Exercise


# --- fixtures the hidden tests use ------------------------------------------------------------
def _session(request: pytest.FixtureRequest) -> GradingSession:
    return request.config.stash[SESSION_KEY]


@pytest.fixture
def grading(request: pytest.FixtureRequest) -> GradingSession:
    """The grading session: kit, curriculum, submission."""
    return _session(request)


@pytest.fixture
def exercise(request: pytest.FixtureRequest) -> Exercise:
    """The exercise this test grades; skips it on a Python too old for the exercise."""
    session = _session(request)
    found = session.exercises[exercise_of(request.node)]
    if not found.supported():
        pytest.skip(f"needs Python {found.python_label}+")
    return found


@pytest.fixture
def credit(request: pytest.FixtureRequest) -> Credit:
    """Lets a test award partial credit; a passing test without an award earns everything."""
    given = Credit()
    request.node.stash[CREDIT_KEY] = given
    return given


@pytest.fixture
def learner(grading: GradingSession, exercise: Exercise) -> Learner:
    """Runs this exercise's learner code (and the kit's solution) in the sandbox."""
    return Learner(grading, exercise)
