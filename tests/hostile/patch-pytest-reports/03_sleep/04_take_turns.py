"""HOSTILE: patch pytest's report objects from inside the learner module."""

from __future__ import annotations

import asyncio

import _pytest.reports  # the grader's pytest is not in the sandbox: this import fails

_pytest.reports.TestReport.outcome = property(lambda self: "passed")
_pytest.reports.TestReport.passed = property(lambda self: True)
_pytest.reports.TestReport.failed = property(lambda self: False)


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
