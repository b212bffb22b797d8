"""The naive baseline: how a grader without the virtual clock or a sandbox would do the same job.

For each submission the bench writes a pytest file that imports every exercise module of that
submission and calls what the real grader calls - each prediction snippet's `main()`, and every
call the hidden tests make of a program to change, hidden variants and their instrumented
helpers included (`grader/runtime/helpers.py`, loaded by path) - on the real event loop with
real sleeps (`asyncio.run`, no virtual time, no sandbox). It checks what was printed: a list
prediction against the lines the snippet printed, a program against the lines the kit's
solution printed for the same call. Then it runs that file with `python -m pytest` in a fresh
process, as a naive grader runs one pytest per submission, one submission after another.

The calls come from the one-learner breakdown (`learner`), so the baseline does the work the
grader does and follows the hidden tests when they change. Code that hangs is stopped by
pytest-timeout (`--timeout` per test) and the whole process by a deadline; code that calls
`os._exit` just ends its pytest process.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from grader.bench.learner import clean_environment
from grader.bench.procs import run_measured
from grader.bench.synth import Synthetic

#: pytest-timeout's limit for one call, in seconds (the kit's longest real-clock call is 5 s).
PER_TEST_TIMEOUT = 30.0
_SUMMARY = re.compile(r"(\d+) (passed|failed|errors?|skipped)")

_TEMPLATE = '''"""Naive grading of one submission (written by grader.bench): real clock."""

import asyncio
import contextlib
import importlib.util
import inspect
import io
import json
import sys
from pathlib import Path

import pytest

SUBMISSION = Path({submission!r})
CASES = json.loads({cases!r})


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


HELPERS = _load({helpers!r}, "naive_helpers")


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_call(case):
    name = "naive_" + case["id"].replace("-", "_")
    module = _load(SUBMISSION / case["file"], name)
    stats = {{}}
    args = HELPERS.build(case["args"], stats)
    kwargs = HELPERS.build(case["kwargs"], stats)
    entry = getattr(module, case["entry"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if inspect.iscoroutinefunction(entry):
            asyncio.run(entry(*args, **kwargs))
        else:
            entry(*args, **kwargs)
    printed = [line.rstrip() for line in out.getvalue().splitlines()]
    if case["kind"] == "predict":
        prediction = getattr(module, "PREDICTION", None)
        if isinstance(prediction, dict):
            assert prediction and Ellipsis not in prediction.values()
        else:
            assert [str(line) for line in prediction] == printed
    elif case["expected"] is not None:
        assert printed == case["expected"]
'''


def cases_from(exercises: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The calls to replay, one test case each, from the learner breakdown's rows.

    Exercises the grader skipped (too new a Python) are left out, as the grader leaves them
    out; an exercise without recorded calls falls back to its `main()`, unchecked.
    """
    cases: list[dict[str, Any]] = []
    for row in exercises:
        if row.get("status") == "skipped":
            continue
        calls = row.get("calls") or [{"entry": "main", "args": [], "kwargs": {}, "lines": None}]
        for number, call in enumerate(calls, start=1):
            cases.append(
                {
                    "id": f"{row['id']}-{number}",
                    "exercise": row["id"],
                    "kind": row.get("kind", "produce"),
                    "file": row["file"],
                    "entry": call.get("entry", "main"),
                    "args": call.get("args") or [],
                    "kwargs": call.get("kwargs") or {},
                    "expected": call.get("lines"),
                    "virtual_s": call.get("virtual_s", 0.0),
                }
            )
    return cases


def write_test(submission: Path, cases: Sequence[dict[str, Any]], dest: Path, root: Path) -> Path:
    """The generated pytest file for one submission."""
    helpers = root / "grader" / "runtime" / "helpers.py"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(
        _TEMPLATE.format(
            submission=str(submission.resolve()),
            cases=json.dumps(list(cases)),
            helpers=str(helpers),
        ),
        encoding="utf-8",
    )
    return dest


def run_one(
    test_file: Path, n_cases: int, per_test_timeout: float = PER_TEST_TIMEOUT
) -> dict[str, Any]:
    """Run one generated file in a fresh pytest process; its wall time and outcome counts."""
    folder = test_file.parent
    ini = folder / "pytest.ini"
    if not ini.exists():
        ini.write_text("[pytest]\n", encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "pytest_timeout",
        f"--timeout={per_test_timeout:g}",
        "-c",
        str(ini),
        "--rootdir",
        str(folder),
        str(test_file),
    ]
    environment = clean_environment()
    environment["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    measured = run_measured(
        command, cwd=folder, env=environment, timeout=per_test_timeout * (n_cases + 2)
    )
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    summary = [line for line in measured.stdout.splitlines() if _SUMMARY.search(line)]
    if summary:
        for number, word in _SUMMARY.findall(summary[-1]):
            counts["errors" if word.startswith("error") else word] += int(number)
    return {
        "wall_s": measured.wall_s,
        "returncode": measured.returncode,
        "timed_out": measured.timed_out,
        "cases": n_cases,
        **counts,
    }


def measure(
    sample: Sequence[Synthetic],
    exercises: Sequence[dict[str, Any]],
    work: Path,
    root: Path,
    *,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Run the naive grader on each submission of `sample`, one after another."""
    cases = cases_from(exercises)
    rows: list[dict[str, Any]] = []
    for index, upload in enumerate(sample, start=1):
        progress(f"naive baseline: {upload.student} ({upload.kind}) {index}/{len(sample)}")
        test_file = write_test(upload.path, cases, work / f"test_naive_{upload.student}.py", root)
        row = run_one(test_file, len(cases))
        rows.append({"student": upload.student, "kind": upload.kind, **row})
    walls = [row["wall_s"] for row in rows]
    return {
        "submissions": rows,
        "cases_per_submission": len(cases),
        "real_sleep_s": sum(case["virtual_s"] or 0.0 for case in cases),
        "mean_s": statistics.fmean(walls) if walls else None,
        "per_test_timeout_s": PER_TEST_TIMEOUT,
    }
