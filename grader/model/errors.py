"""The ways grading an exercise can fail, as one Enum, and the error that carries one.

Every layer that gives up on learner code (intake, the sandbox, a hidden test) raises a
`LearnerCodeError` with a `FailureKind`, so callers branch on a closed set of names instead of
free strings that drift apart.
"""

from __future__ import annotations

from enum import Enum


class FailureKind(str, Enum):
    """Why learner code could not be run to the end (or was not run at all)."""

    # Reported by the child about the learner's module.
    SYNTAX = "syntax"
    MISSING = "missing"
    EXCEPTION = "exception"
    EXIT = "exit"
    INTERRUPT = "interrupt"
    FLOOD = "flood"
    GUARD = "guard"
    DEADLOCK = "deadlock"
    BUSY_LOOP = "busy-loop"
    VIRTUAL_TIME_LIMIT = "virtual-time-limit"
    SANDBOX = "sandbox"
    #: The run reached into the harness (docs/produce-integrity.md): nothing it recorded counts.
    REFUSED = "refused"
    # Seen by the parent about the child process.
    TIMEOUT = "timeout"
    CPU = "cpu"
    DISK = "disk"
    CRASH = "crash"
    FORGED = "forged"
    # Decided before or instead of a run.
    FORBIDDEN = "forbidden"
    TOO_LARGE = "too-large"
    ANSWER = "answer"
    HANG = "hang"

    @classmethod
    def reported(cls, name: str) -> FailureKind:
        """The kind a child reported; a name the grader does not know counts as an exception."""
        try:
            return cls(name)
        except ValueError:
            return cls.EXCEPTION


#: Kinds that mean the code ran out of time (its further runs are not worth the wait).
HANG_KINDS = frozenset({FailureKind.TIMEOUT, FailureKind.CPU})


class LearnerCodeError(Exception):
    """Learner code could not be run to the end; the message says why, in plain words."""

    def __init__(self, message: str, kind: FailureKind) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
