"""Produce exercises check who printed each line, not only the order of the lines."""

from __future__ import annotations

from pathlib import Path

from conftest import grade_to_json

from grader.model.curriculum import by_id, load
from grader.model.kit import Kit

#: `main` prints strict turns itself, in plain Python: the right lines, no concurrency at all.
PLAIN_TURNS = """
from __future__ import annotations

import asyncio


async def worker(label: str, steps: int) -> None:
    return None


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    labels = labels or ["A", "B"]
    for step in range(steps):
        for label in labels:
            print(f"{label} step {step}")
"""


def test_the_right_lines_from_the_wrong_task_earn_nothing(kit: Kit, tmp_path: Path) -> None:
    exercise = by_id(load(kit.curriculum_file))["sleep0-take-turns"]
    target = tmp_path / "submission" / exercise.file
    target.parent.mkdir(parents=True)
    target.write_text(PLAIN_TURNS)
    report = grade_to_json(tmp_path / "submission", tmp_path, "--only", exercise.id)
    (result,) = report["exercises"]
    assert result["score"] == 0
    assert result["status"] == "failed"
    assert "not printed by the right tasks" in result["feedback"]
    assert "`main` printed lines 1, 2, 3, 4, 5, 6" in result["feedback"]


SPIN = """
async def worker(label, steps):
    while True:
        pass


async def main(labels=None, steps=3):
    await worker("A", steps)
"""


def test_code_that_hangs_twice_is_not_run_again(kit: Kit, tmp_path: Path) -> None:
    exercise = by_id(load(kit.curriculum_file))["sleep0-take-turns"]
    target = tmp_path / "submission" / exercise.file
    target.parent.mkdir(parents=True)
    target.write_text(SPIN)
    report = grade_to_json(tmp_path / "submission", tmp_path, "--only", exercise.id)
    (result,) = report["exercises"]
    assert result["status"] == "error"
    assert result["score"] == 0
    messages = [item["message"] for item in result["items"]]
    skipped = [m for m in messages if m.startswith("Not run:")]
    spent = [m for m in messages if not m.startswith("Not run:")]
    assert all("CPU time" in m for m in spent)
    assert len(spent) == 2
    assert len(skipped) == len(messages) - 2
    assert all("ran out of time on 2 checks" in m for m in skipped)
