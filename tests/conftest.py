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


#: Set to 1 (`nox -s full` does) to run the slow suites whole on every Python.
FULL_SUITES_ENV = "ASYNCIO_KIT_FULL_SUITES"


def full_suites() -> bool:
    """Whether this run takes the slow suites whole: on the class's Python, or when asked.

    The adversarial suites and the bench's tests grade hundreds of submissions; what they prove
    (the sandbox, the fence, the outputs) is checked whole on the class's declared Python and,
    on the other Pythons, by a representative part: each suite's first case of every family
    and every case a "Must show" names. `nox -s full` runs them whole everywhere.
    """
    return _on_class_python() or os.environ.get(FULL_SUITES_ENV) == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "full_suite: a slow case outside the representative part; runs on the class's Python "
        f"and wherever {FULL_SUITES_ENV}=1 (nox -s full)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (and count) the `full_suite` cases when this run takes the representative part."""
    if full_suites():
        return
    keep = [item for item in items if item.get_closest_marker("full_suite") is None]
    dropped = [item for item in items if item.get_closest_marker("full_suite") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def representative(cases: list[Any], must_show: set[str]) -> list[Any]:
    """`cases` as pytest params: the first of each family and those named in `must_show` as
    they are, every other one marked `full_suite`."""
    seen: set[str] = set()
    params = []
    for case in cases:
        first = case.family not in seen
        seen.add(case.family)
        marks = () if first or case.name in must_show else (pytest.mark.full_suite,)
        params.append(pytest.param(case, marks=marks, id=case.name))
    return params


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
    if full_suites():
        header.append("slow suites: whole (the class's Python, or ASYNCIO_KIT_FULL_SUITES=1)")
    else:
        header.append("slow suites: their representative part (nox -s full runs them whole)")
    header += [f"  (not available: {note})" for note in layer.notes]
    return header
