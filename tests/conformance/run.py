"""CPython's own test_asyncio, stock and on the kit's virtual-clock loop: any unexplained difference?

The kit's truth is only as good as its loop, so this runs code nobody on the project wrote:
the test_asyncio modules that ship with this Python, once stock and once with the kit's loop
as the loop `asyncio.run()` and `new_event_loop()` create (see child.py). It reports how many
tests actually ran on the kit's loop and passed there, and fails on any test that passes stock
and fails on the kit's loop, unless `expected_differences.txt` lists it with its reason. A
difference is confirmed before it counts: the test runs again, alone, both ways.

    python tests/conformance/run.py                      # the default modules
    python tests/conformance/run.py --modules test_locks test_queues --json out.json

`nox -s conformance` runs it on every Python present. Standard library only.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KIT_ROOT = HERE.parent.parent
CHILD = HERE / "child.py"
EXPECTED_FILE = HERE / "expected_differences.txt"

#: The modules of test.test_asyncio that exercise what the kit's loop must get right.
DEFAULT_MODULES = (
    "test_tasks",
    "test_futures",
    "test_locks",
    "test_queues",
    "test_waitfor",
    "test_timeouts",
    "test_taskgroups",
    "test_runners",
    "test_eager_task_factory",
    "test_events",
)

#: Real seconds a whole module may take in one mode (each test has its own 60 s limit too).
MODULE_TIMEOUT_S = 1800


@dataclass(frozen=True)
class Expected:
    """One listed difference: a test id pattern, the Pythons it applies to, and why."""

    pattern: str
    pythons: str
    reason: str

    def applies(self, test_id: str, version: tuple[int, int]) -> bool:
        """Whether this entry explains `test_id` failing on the kit's loop on `version`."""
        return fnmatch.fnmatchcase(test_id, self.pattern) and _version_matches(
            self.pythons, version
        )


def _version_matches(spec: str, version: tuple[int, int]) -> bool:
    """`all`, `3.12`, `3.12+`, `-3.11` (up to), or several of these separated by commas."""
    for part in (piece.strip() for piece in spec.split(",")):
        if part == "all":
            return True
        if part.endswith("+") and version >= _parse(part[:-1]):
            return True
        if part.startswith("-") and version <= _parse(part[1:]):
            return True
        if part and part[0].isdigit() and not part.endswith("+") and version == _parse(part):
            return True
    return False


def _parse(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def load_expected(path: Path = EXPECTED_FILE) -> list[Expected]:
    """The listed differences: `test id pattern | pythons | reason`, `#` starts a comment."""
    entries = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) != 3 or not all(parts):
            msg = f"{path.name}:{number}: expected `test id | pythons | reason`, got {raw!r}"
            raise SystemExit(msg)
        entries.append(Expected(*parts))
    return entries


@dataclass
class ModuleReport:
    """One module's figures, stock and on the kit's loop."""

    module: str
    stock_passed: int = 0
    on_kit: int = 0
    on_kit_passed: int = 0
    kit_passed: int = 0
    total: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    expected: list[tuple[str, str]] = field(default_factory=list)
    unexplained: list[tuple[str, str]] = field(default_factory=list)
    flaky: list[str] = field(default_factory=list)
    slow: list[tuple[str, float, float]] = field(default_factory=list)
    problem: str = ""


def _run_child(mode: str, names: list[str], timeout_s: float = MODULE_TIMEOUT_S) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="conformance-") as folder:
        out = Path(folder) / "out.json"
        command = [sys.executable, "-I", "-B", str(CHILD), mode, str(KIT_ROOT), str(out), *names]
        try:
            completed = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
                cwd=folder,
            )
        except subprocess.TimeoutExpired:
            return {"problem": f"{mode} run took longer than {timeout_s} s"}
        if not out.exists():
            tail = (completed.stderr or completed.stdout)[-600:]
            return {"problem": f"{mode} run ended with status {completed.returncode}: {tail}"}
        return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _passed(entry: dict[str, Any] | None) -> bool:
    return entry is not None and entry["outcome"] == "pass"


def _failed(entry: dict[str, Any] | None) -> bool:
    return entry is not None and entry["outcome"] in {"fail", "error"}


def run_module(module: str, expected: list[Expected]) -> ModuleReport:
    """Run one module both ways (side by side) and confirm each difference alone."""
    name = f"test.test_asyncio.{module}"
    report = ModuleReport(module)
    with ThreadPoolExecutor(max_workers=2) as pool:
        stock_future = pool.submit(_run_child, "stock", [name])
        kit_future = pool.submit(_run_child, "kit", [name])
        stock, kit = stock_future.result(), kit_future.result()
    for data in (stock, kit):
        if "problem" in data:
            report.problem = str(data["problem"])
            return report
    report.seconds = {"stock": stock["seconds"], "kit": kit["seconds"]}
    stock_results, kit_results = stock["results"], kit["results"]
    report.total = len(kit_results)
    report.stock_passed = sum(_passed(entry) for entry in stock_results.values())
    report.kit_passed = sum(_passed(entry) for entry in kit_results.values())
    report.on_kit = sum(entry["on_kit"] for entry in kit_results.values())
    report.on_kit_passed = sum(_passed(e) and e["on_kit"] for e in kit_results.values())
    report.slow = _slow_on_kit(stock_results, kit_results)
    candidates = [
        test_id
        for test_id, entry in kit_results.items()
        if _failed(entry) and _passed(stock_results.get(test_id))
    ]
    version = sys.version_info[:2]
    confirmed = _confirm(candidates)
    for test_id in candidates:
        detail = str(kit_results[test_id].get("detail", "")).splitlines()[-1:] or [""]
        if test_id not in confirmed:
            report.flaky.append(test_id)
            continue
        reason = next((e.reason for e in expected if e.applies(test_id, version)), None)
        if reason is None:
            report.unexplained.append((test_id, detail[0]))
        else:
            report.expected.append((test_id, reason))
    return report


#: A test that takes this many real seconds more on the kit's loop than stock is listed: the
#: virtual clock makes sleeps free, so real time spent there points at a loop bug (a thread
#: waited for in real time, a reference kept). Reported only, never judged: timings are noisy.
SLOW_MARGIN_S = 1.0


def _slow_on_kit(
    stock: dict[str, dict[str, Any]], kit: dict[str, dict[str, Any]]
) -> list[tuple[str, float, float]]:
    """(test id, stock seconds, kit seconds) of tests much slower on the kit's loop."""
    slow = []
    for test_id, entry in kit.items():
        kit_s, stock_s = entry.get("seconds", 0.0), stock.get(test_id, {}).get("seconds", 0.0)
        if entry["on_kit"] and kit_s > 2 * stock_s + SLOW_MARGIN_S:
            slow.append((test_id, stock_s, kit_s))
    return slow


def _confirm(candidates: list[str]) -> set[str]:
    """The differences that reproduce when each test runs again alone, both ways."""
    if not candidates:
        return set()
    confirmed = set()

    def again(test_id: str) -> bool:
        stock = _run_child("stock", [test_id], timeout_s=300).get("results", {})
        kit = _run_child("kit", [test_id], timeout_s=300).get("results", {})
        return _passed(stock.get(test_id)) and _failed(kit.get(test_id))

    with ThreadPoolExecutor(max_workers=2) as pool:
        for test_id, differs in zip(candidates, pool.map(again, candidates), strict=True):
            if differs:
                confirmed.add(test_id)
    return confirmed


def available(modules: list[str]) -> list[str]:
    """The modules this Python ships (test_timeouts is 3.11+, test_eager_task_factory 3.12+).

    A name may go on to a class (`test_tasks.RunCoroutineThreadsafeTests`).
    """
    return [
        name
        for name in modules
        if importlib.util.find_spec(f"test.test_asyncio.{name.split('.')[0]}") is not None
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the chosen modules, print the figures, return 1 on any unexplained difference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", nargs="+", default=list(DEFAULT_MODULES))
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    expected = load_expected()
    modules = available(args.modules)
    version = ".".join(map(str, sys.version_info[:3]))
    print(f"CPython {version}: test_asyncio stock and on the kit's virtual-clock loop")
    reports = []
    for module in modules:
        report = run_module(module, expected)
        reports.append(report)
        if report.problem:
            print(f"  {module}: could not run: {report.problem}")
            continue
        print(
            f"  {module}: {report.total} tests, {report.stock_passed} pass stock; "
            f"{report.on_kit} ran on the kit's loop, {report.on_kit_passed} passed there; "
            f"{len(report.expected)} expected differences, {len(report.unexplained)} "
            f"unexplained ({report.seconds['stock']:.0f} s stock, "
            f"{report.seconds['kit']:.0f} s kit)"
        )
        for test_id, reason in report.expected:
            print(f"      expected: {test_id}: {reason}")
        for test_id, stock_s, kit_s in report.slow:
            print(f"      slow on the kit's loop: {test_id}: {kit_s:.1f} s (stock {stock_s:.1f} s)")
        for test_id in report.flaky:
            print(f"      not reproduced alone (ignored): {test_id}")
        for test_id, detail in report.unexplained:
            print(f"      UNEXPLAINED: {test_id}: {detail}")
    on_kit = sum(r.on_kit for r in reports)
    on_kit_passed = sum(r.on_kit_passed for r in reports)
    expected_count = sum(len(r.expected) for r in reports)
    unexplained = sum(len(r.unexplained) for r in reports)
    problems = [r.module for r in reports if r.problem]
    share = f" ({100 * on_kit_passed / on_kit:.1f} %)" if on_kit else ""
    print(
        f"total: {on_kit} tests ran on the kit's loop, {on_kit_passed} passed there{share}; "
        f"{expected_count} expected differences; {unexplained} unexplained"
        + (f"; modules that could not run: {', '.join(problems)}" if problems else "")
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "python": version,
                    "on_kit": on_kit,
                    "on_kit_passed": on_kit_passed,
                    "expected": expected_count,
                    "unexplained": unexplained,
                    "modules": [r.__dict__ for r in reports],
                },
                indent=1,
            ),
            encoding="utf-8",
        )
    return 1 if unexplained or problems else 0


if __name__ == "__main__":
    sys.exit(main())
