"""A fast slice of `nox -s conformance`: some of CPython's own asyncio tests, both ways.

The full run (tests/conformance/run.py on every test_asyncio module the kit cares about) takes
minutes per Python and has its own nox session. This slice runs a few small modules stock and
on the kit's virtual-clock loop, and fails as the full run does: on any test that passes stock
and fails on the kit's loop without being listed as an expected difference. It also checks
that the tests really ran on the kit's loop (a broken installation would "pass" vacuously).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

RUNNER = Path(__file__).resolve().parent / "conformance" / "run.py"
# On 3.11+ the lock and queue tests run on IsolatedAsyncioTestCase, so on the kit's loop; on
# 3.10 they use CPython's scripted TestLoop, and these test_tasks classes take their place.
SLICE = (
    ["test_locks", "test_queues", "test_timeouts"]
    if sys.version_info >= (3, 11)
    else [f"test_tasks.{name}" for name in ("RunCoroutineThreadsafeTests", "SleepTests")]
    + ["test_tasks.CompatibilityTests", "test_tasks.WaitTests", "test_locks"]
)


def _runner() -> ModuleType:
    """The runner script as a module, for its parsers."""
    spec = importlib.util.spec_from_file_location("conformance_run", RUNNER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("conformance_run", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_cpython_lock_queue_and_timeout_tests_pass_on_the_kits_loop(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    completed = subprocess.run(
        [sys.executable, str(RUNNER), "--modules", *SLICE, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["unexplained"] == 0
    # These tests make their loops through new_event_loop/asyncio.run/Runner: the kit's loop.
    assert figures["on_kit"] >= 10, figures
    for module in figures["modules"]:
        # A failure that does not reproduce when the test runs alone (machine load) is ignored.
        accounted = module["on_kit_passed"] + len(module["expected"]) + len(module["flaky"])
        assert accounted >= module["on_kit"], module


def test_expected_differences_are_narrow_and_explained() -> None:
    for entry in _runner().load_expected():
        assert entry.pattern.startswith("test.test_asyncio."), entry
        assert entry.pattern.count("*") <= 1, f"too broad: {entry.pattern}"
        assert len(entry.reason.split()) >= 4, f"say why: {entry}"


@pytest.mark.parametrize(
    ("spec", "version", "matches"),
    [
        ("all", (3, 10), True),
        ("3.12+", (3, 11), False),
        ("3.12+", (3, 13), True),
        ("-3.11", (3, 11), True),
        ("-3.11", (3, 12), False),
        ("3.10, 3.13", (3, 13), True),
        ("3.10, 3.13", (3, 12), False),
    ],
)
def test_python_version_specs(spec: str, version: tuple[int, int], matches: bool) -> None:
    assert _runner()._version_matches(spec, version) is matches
