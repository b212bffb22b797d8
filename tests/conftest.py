"""Shared fixtures for the kit's own tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader.model.curriculum import Exercise, load
from grader.model.curriculum import course as load_course
from grader.model.kit import Kit
from grader.runtime.virtual_loop import VirtualClockLoop

ROOT = Path(__file__).resolve().parent.parent
# The kit's own tests run on every Python from 3.10 to 3.13, not only on the class's declared
# one: batches they start grade anyway (and warn). tests/test_class_python.py checks the refusal.
os.environ.setdefault("ASYNCIO_KIT_ANY_PYTHON", "1")
# `release` and `gradescope build` run the full check-kit first (half a minute); the suite builds
# many handouts, so they check the schema only, and test_kit_check.py runs the full one once.
os.environ.setdefault("ASYNCIO_KIT_SCHEMA_CHECK_ONLY", "1")


def _on_class_python() -> bool:
    declared = load_course(ROOT / "exercises" / "info.toml").python
    return declared is None or declared == sys.version_info[:2]


#: The classroom fault suite (many real batches: signals, full disks, LMS exports) runs on the
#: class's declared Python in `nox -s tests`, on every Python in `nox -s classroom`.
slow_classroom = pytest.mark.skipif(
    not (_on_class_python() or os.environ.get("ASYNCIO_KIT_SLOW_CLASSROOM") == "1"),
    reason="classroom fault suite: runs on the class's Python, or in nox -s classroom",
)


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    """Async kit tests run on the virtual-clock loop: sleeps are free, orders are real."""
    return {"virtual": VirtualClockLoop}


@pytest.fixture(scope="session")
def kit() -> Kit:
    return Kit(ROOT)


@pytest.fixture(scope="session")
def curriculum(kit: Kit) -> tuple[Exercise, ...]:
    return load(kit.curriculum_file)


def run_grader(
    *args: str, cwd: Path = ROOT, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run `python -m grader` as a user would, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def grade_to_json(submission: Path, tmp_path: Path, *extra: str) -> dict[str, Any]:
    """Grade a submission folder and return the results JSON (asserting exit status 0)."""
    out = tmp_path / f"results-{submission.name}.json"
    completed = run_grader("--submission", str(submission), "--json", str(out), *extra)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def solutions_report(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return grade_to_json(kit.solutions, tmp_path_factory.mktemp("solutions"))


@pytest.fixture(scope="session")
def stubs_report(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return grade_to_json(kit.exercises, tmp_path_factory.mktemp("stubs"))


# The hostile submissions are data for tests/test_hostile.py, never tests: one holds a
# conftest.py that would rig this very session if pytest walked into it.
collect_ignore = ["hostile"]


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Which isolation layer sandbox children get on this machine (the CLI probes the same)."""
    from grader.sandbox.isolation import probe  # noqa: PLC0415 - probed only when the header is shown

    layer = probe.current()
    header = [f"sandbox isolation: {layer.name}"]
    header += [f"  (not available: {note})" for note in layer.notes]
    return header
