"""A long-lived grader process that grades one submission after another (for batch grading).

Starting a fresh grader per student costs an interpreter, pytest's start-up, the kit's
imports, a fork server and every truth snippet again, for each of hundreds of students. A
worker pays that once: it reads jobs (one JSON object per line) on stdin, grades each with
`grader.grading.runner.grade` in its own process - learner code still runs only in sandbox
children, each as isolated as ever - and answers one JSON line per job on its original
stdout. Anything else that gets printed goes to stderr, so it cannot corrupt an answer.

    -> {"submission": "/path/to/folder", "only": ["id", ...] or null}
    <- {"report": {...GradeReport JSON...}}   or   {"error": "why there is no report"}
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from grader.grading.runner import grade
from grader.model.kit import Kit, KitError, UsageError


def main() -> int:
    """Serve jobs until stdin closes."""
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    kit = Kit.installed()
    for line in sys.stdin:
        job = json.loads(line)
        only = set(job["only"]) if job.get("only") else None
        answer: dict[str, object]
        try:
            report = grade(kit, Path(job["submission"]), only)
        except KitError as exc:
            answer = {"error": f"the grader reported the kit itself broken: {exc}"}
        except UsageError as exc:
            answer = {"error": f"the grader refused the submission: {exc}"}
        else:
            answer = {"report": report.to_json()}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
