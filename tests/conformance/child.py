"""Runs CPython test_asyncio tests in this process, stock or on the kit's loop; writes JSON.

Started by `run.py`, once per module and mode:

    python -I child.py MODE KIT_ROOT OUT.json TEST_NAME...

MODE is `stock` (asyncio as shipped) or `kit`: every loop `asyncio.run()`,
`asyncio.new_event_loop()` and `asyncio.Runner()` make is then a `VirtualClockLoop`. Up to 3.13
the default event-loop policy's class makes it (so it stays so after a test resets the policy);
the policy API is deprecated in 3.14 and removed in 3.16, so from 3.14 on `new_event_loop`
(which `asyncio.run()` and `Runner` call) is patched instead, and a test naming
`asyncio.EventLoop` as its loop factory gets the kit's loop too. MODE `kit-factory` takes that
route on any Python, to try it where 3.14 is not installed.
Each test's outcome is recorded together with whether a virtual loop was created while it ran:
only those tests ran on the kit's loop.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
import traceback
import unittest
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Real seconds one test may take before it is stopped (a hang on the kit's loop is a failure).
TEST_TIMEOUT_S = 60

#: The guards stay on, but loose: CPython's tests loop and wait far more than a snippet does.
LOOP_OPTIONS: dict[str, Any] = {"max_steps": 5_000_000, "max_virtual_seconds": 1e7}


class TestTimeoutError(Exception):
    """A test ran longer than TEST_TIMEOUT_S real seconds."""


class Recorder(unittest.TestResult):
    """Records one outcome per test id, and whether a virtual loop was made during the test."""

    def __init__(self, created: list[int]) -> None:
        super().__init__()
        self.created = created
        self.results: dict[str, dict[str, Any]] = {}
        self._before = 0
        self._started = 0.0

    def _set(self, test: Any, outcome: str, err: Any = None) -> None:
        entry = self.results.setdefault(test.id(), {"outcome": outcome, "on_kit": False})
        if entry["outcome"] in {"pass", "skip"} or outcome in {"fail", "error"}:
            entry["outcome"] = outcome
        if err is not None and "detail" not in entry:
            if isinstance(err, str):
                entry["detail"] = err[:300]
            else:
                lines = traceback.format_exception_only(err[0], err[1])
                entry["detail"] = "".join(lines).strip()[-300:]

    def startTest(self, test: Any) -> None:  # noqa: N802 - unittest's name
        super().startTest(test)
        self._before = self.created[0]
        self._started = time.monotonic()
        signal.alarm(TEST_TIMEOUT_S)

    def stopTest(self, test: Any) -> None:  # noqa: N802
        signal.alarm(0)
        entry = self.results.setdefault(test.id(), {"outcome": "pass", "on_kit": False})
        entry["on_kit"] = self.created[0] > self._before
        entry["seconds"] = round(time.monotonic() - self._started, 3)
        super().stopTest(test)

    def addSuccess(self, test: Any) -> None:  # noqa: N802
        self._set(test, "pass")

    def addFailure(self, test: Any, err: Any) -> None:  # noqa: N802
        self._set(test, "fail", err)

    def addError(self, test: Any, err: Any) -> None:  # noqa: N802
        self._set(test, "error", err)

    def addSkip(self, test: Any, reason: str) -> None:  # noqa: N802
        self._set(test, "skip", reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:  # noqa: N802
        self._set(test, "pass")

    def addUnexpectedSuccess(self, test: Any) -> None:  # noqa: N802
        self._set(test, "fail", "unexpected success")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:  # noqa: N802
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._set(test, "fail" if failed else "error", err)


def _on_alarm(signum: int, frame: Any) -> None:
    msg = f"the test ran longer than {TEST_TIMEOUT_S} s"
    raise TestTimeoutError(msg)


#: The first Python whose event-loop policy API is deprecated (removed in 3.16).
POLICY_DEPRECATED = (3, 14)


def install_kit_loop(kit_root: str, created: list[int], *, route: str = "auto") -> str:
    """Make every new loop a virtual-clock loop, counting each one made; return the route taken.

    `route`: "policy", "factory", or "auto" (the policy up to 3.13, the factory from 3.14 on).
    """
    sys.path.insert(0, kit_root)
    from grader.runtime.virtual_loop import VirtualClockLoop  # noqa: PLC0415

    class ConformanceLoop(VirtualClockLoop):
        def __init__(self, **options: Any) -> None:
            created[0] += 1
            super().__init__(**(LOOP_OPTIONS | options))

    if route == "auto":
        route = "factory" if sys.version_info >= POLICY_DEPRECATED else "policy"
    if route == "policy":
        # The policy class itself, so a test's `set_event_loop_policy(None)` keeps the kit's loop.
        policy_class = type(asyncio.get_event_loop_policy())
        policy_class._loop_factory = ConformanceLoop  # type: ignore[attr-defined]
        return route
    _install_factory(ConformanceLoop)
    return route


def _install_factory(loop_class: Callable[[], asyncio.AbstractEventLoop]) -> None:
    """`new_event_loop()` (and so `asyncio.run()`, `Runner()`) and `asyncio.EventLoop` make
    `loop_class`, without the deprecated policy API.

    A test that installs a policy of its own (test_runners does, with mock loops) still gets
    that policy's loops, as on the policy route: only the default policy's loops are replaced.
    """
    events: Any = asyncio.events
    # 3.14 and 3.15: the private getter and class, which do not warn; 3.16 has neither.
    get_policy = getattr(events, "_get_event_loop_policy", None)
    default_policy = getattr(asyncio, "_DefaultEventLoopPolicy", None)
    if sys.version_info < POLICY_DEPRECATED:
        get_policy, default_policy = asyncio.get_event_loop_policy, asyncio.DefaultEventLoopPolicy

    def new_event_loop() -> asyncio.AbstractEventLoop:
        policy: Any = get_policy() if get_policy is not None else None
        if policy is None or default_policy is None or type(policy) is default_policy:
            return loop_class()
        return policy.new_event_loop()  # type: ignore[no-any-return]

    package: Any = asyncio
    package.new_event_loop = new_event_loop
    events.new_event_loop = new_event_loop  # what asyncio.run (3.10) and Runner look up
    if hasattr(asyncio, "EventLoop"):  # 3.13+: `asyncio.run(..., loop_factory=asyncio.EventLoop)`
        package.EventLoop = loop_class


def _add_tests(suite: unittest.TestSuite, loader: unittest.TestLoader, name: str) -> str:
    """Add the tests `name` stands for; the error in one line if there are none here."""
    try:
        suite.addTests(loader.loadTestsFromName(name))
    except Exception as exc:  # noqa: BLE001 - a test name that does not exist on this Python
        return f"{type(exc).__name__}: {exc}"[:300]
    return ""


def main() -> None:
    mode, kit_root, out_path, *names = sys.argv[1:]
    created = [0]
    route = ""
    if mode in {"kit", "kit-factory"}:
        route = install_kit_loop(kit_root, created, route="factory" if mode != "kit" else "auto")
    signal.signal(signal.SIGALRM, _on_alarm)
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    load_errors: dict[str, str] = {}
    for name in names:
        error = _add_tests(suite, loader, name)
        if error:
            load_errors[name] = error
    recorder = Recorder(created)
    started = time.monotonic()
    suite.run(recorder)
    with Path(out_path).open("w", encoding="utf-8") as handle:
        json.dump(
            {
                "mode": mode,
                "route": route,
                "python": sys.version.split()[0],
                "results": recorder.results,
                "load_errors": load_errors,
                "loops_created": created[0],
                "seconds": round(time.monotonic() - started, 1),
            },
            handle,
            indent=1,
        )


if __name__ == "__main__":
    main()
