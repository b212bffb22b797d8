"""GitHub Classroom: the points reach the reporter however large the feedback is.

The autograding reporter reads its input from one environment variable, and Linux will not
start a process whose single variable is over 128 KiB (MAX_ARG_STRLEN = 131072). A submission
with long - but legal - predictions made the detailed feedback hundreds of KiB before feedback
was bounded per exercise. This test grades one through the real runner, then starts a child
process with exactly the environment the workflow gives the reporter and checks that the child
starts and reads the points, and that the limit is real.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import slow_classroom

from grader.model.curriculum import load
from grader.model.kit import Kit

ROOT = Path(__file__).resolve().parent.parent
KIT = Kit(ROOT)
MAX_ARG_STRLEN = 131072
#: What the reporter does with its input (src/main.js, src/notify-classroom.js), in Python.
REPORTER = """
import base64, json, os
results = json.loads(base64.b64decode(os.environ["GRADER_RESULTS"]))
total = sum(test["score"] for test in results["tests"])
print(json.dumps({"totalPoints": total, "maxPoints": results["max_score"]}))
"""


def _long_prediction(lines: int = 240, width: int = 900) -> bytes:
    answer = [f"line {number} " + "x" * width for number in range(lines)]
    return f"PREDICTION = {answer!r}\n".encode()


@slow_classroom
def test_a_500_kb_result_still_posts_its_points(tmp_path: Path) -> None:
    curriculum = [e for e in load(KIT.curriculum_file) if e.python == (3, 10)]
    predicts = [e for e in curriculum if e.kind == "predict"]
    long, solved = predicts[:3], [e for e in curriculum if e not in predicts[:3]][:4]
    repository = tmp_path / "repository"
    for exercise in long:
        target = repository / "exercises" / exercise.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_long_prediction())
        assert len(target.read_bytes()) < 256 * 1024  # each file is within the grader's limits
    for exercise in solved:
        target = repository / "exercises" / exercise.file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(KIT.solutions / exercise.file, target)
    github_output, detailed_path = tmp_path / "github_output", tmp_path / "result.json"
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.classroom.github_classroom",
            "--submission",
            str(repository),
            "--output",
            str(detailed_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**environment, "GITHUB_OUTPUT": str(github_output), "COLUMNS": "120"},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    detailed = json.loads(detailed_path.read_text(encoding="utf-8"))
    # Feedback is bounded per exercise (a prediction is compared and shown up to the true
    # lines and a few more), so 500 KB of predictions make a detailed result of tens of KiB.
    encoded_detailed = base64.b64encode(json.dumps(detailed).encode()).decode()
    assert len(encoded_detailed) < 256 * 1024
    (line,) = github_output.read_text(encoding="utf-8").splitlines()
    encoded = line.removeprefix("result=")
    assert len(f"GRADER_RESULTS={encoded}") < MAX_ARG_STRLEN // 4
    reporter = subprocess.run(
        [sys.executable, "-c", REPORTER],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**environment, "GRADER_RESULTS": encoded},
    )
    posted = json.loads(reporter.stdout)
    expected = sum(test["score"] for test in detailed["tests"])
    assert posted == {"totalPoints": expected, "maxPoints": detailed["max_score"]}
    assert posted["totalPoints"] == sum(float(e.points) for e in solved)
    # The detailed feedback is in the job log too.
    assert "line 0 xxxx" in completed.stdout
    if sys.platform.startswith("linux"):
        # The limit the short line stays under is real: one variable past it does not reach
        # the reporter at all (whatever a future output puts in the detailed result).
        with pytest.raises(OSError) as failure:
            subprocess.run(
                [sys.executable, "-c", REPORTER],
                capture_output=True,
                timeout=60,
                check=False,
                env={**environment, "GRADER_RESULTS": "x" * MAX_ARG_STRLEN},
            )
        assert failure.value.errno == errno.E2BIG
