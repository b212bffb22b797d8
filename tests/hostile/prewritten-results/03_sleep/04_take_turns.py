"""HOSTILE: pre-write the results file (JSON and JUnit) and exit before anything is graded."""

from __future__ import annotations

import asyncio
import json
import os


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    report = {"schema": 1, "score": 999, "max_score": 999, "isolation": "none", "exercises": []}
    junit = '<testsuite tests="4" failures="0"><testcase name="x"/></testsuite>'
    for path in ("@@RESULTS@@", "results.json", "report.xml", "../results.json"):
        try:
            with open(path, "w") as out:
                out.write(json.dumps(report) if path.endswith(".json") else junit)
        except OSError:
            pass
    os._exit(0)
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
