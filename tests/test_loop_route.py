"""Both ways a snippet's `asyncio.run()` reaches the virtual loop, tested on the Pythons we have.

Python 3.14 deprecates the event-loop policy API (removed in 3.16), so there the sandbox child
gives `asyncio.Runner` a `loop_factory` instead (`grader/runtime/loop_route.py`). 3.14 cannot be
installed on the development machines, so these tests force that route on 3.10-3.13 and check
that it prints exactly what the policy route prints, for every prediction's truth, grades
`solutions/` full marks and the stubs zero, and that no run on either route warns about a
deprecation. The child runs with `-W error::DeprecationWarning`, so a deprecation raised while
the runtime is imported fails too. The whole suite can also be run on the forced route:
`KIT_LOOP_ROUTE=factory nox -s tests-3.13`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import grade_to_json

from grader.model.curriculum import Exercise, load
from grader.model.kit import Kit
from grader.runtime import loop_route
from grader.sandbox.runs import LOOP_ROUTE_VAR

ROOT = Path(__file__).resolve().parent.parent
KIT = Kit(ROOT)
PREDICT = [e for e in load(KIT.curriculum_file) if e.kind == "predict" and e.supported()]
ROUTES = ["policy", "factory"] if sys.version_info < loop_route.POLICY_DEPRECATED else ["factory"]

#: Runs one request in a fresh interpreter, as the sandbox child does (no sandbox: the route is
#: what is under test), with deprecations as errors from the first import on.
_CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from runtime import child
    request = json.loads(sys.argv[2])
    print(json.dumps(child.run_request(request)))
    """
)


def run_child(module: Path, route: str, **request: Any) -> dict[str, Any]:
    completed = subprocess.run(
        [
            sys.executable,
            "-B",  # as the sandbox runs it: no bytecode written beside the kit's solutions
            "-W",
            "error::DeprecationWarning",
            "-c",
            _CHILD,
            str(ROOT / "grader"),
            json.dumps({"module": str(module), "loop_route": route, **request}),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.splitlines()[-1])


def lines(result: dict[str, Any]) -> list[str]:
    return [line["text"] for line in result["trace"]["lines"]]


@pytest.mark.parametrize(
    ("requested", "version", "taken"),
    [
        (None, (3, 10), "policy"),
        ("auto", (3, 13), "policy"),
        ("factory", (3, 10), "factory"),
        ("factory", (3, 13), "factory"),
        ("policy", (3, 12), "policy"),
        ("typo", (3, 12), "policy"),
        (None, (3, 14), "factory"),
        ("policy", (3, 14), "factory"),  # never the deprecated API, whatever is asked
        ("policy", (3, 15), "factory"),
        (None, (3, 16), "factory"),
    ],
)
def test_the_route_is_the_factory_from_3_14_on(
    requested: str | None, version: tuple[int, int], taken: str
) -> None:
    assert loop_route.choose(requested, version) == taken


@pytest.mark.parametrize("exercise", PREDICT, ids=lambda e: e.id)
def test_both_routes_print_the_same_truth_without_deprecation_warnings(
    exercise: Exercise,
) -> None:
    module = KIT.solutions / exercise.file
    results = {route: run_child(module, route, entry=exercise.entry) for route in ROUTES}
    for route, result in results.items():
        assert result["status"] == "ok", (route, result["error"])
        assert result["loop_route"] == route
        assert lines(result), route
        warned = [w for w in result["warnings"] if "Deprecation" in w["category"]]
        assert not warned, (route, warned)
    assert len({json.dumps(lines(result)) for result in results.values()}) == 1


_BY_HAND = """
import asyncio
import sys


async def where() -> str:
    loop = asyncio.get_running_loop()
    if type(loop).__name__ != "VirtualClockLoop":
        return f"a real {type(loop).__name__}"  # it would really sleep: do not
    start = loop.time()  # where a plain run's clock would be (docs/produce-integrity.md)
    await asyncio.sleep(3600)
    return f"{type(loop).__name__} {loop.time() - start:g}"


def main() -> list[str]:
    seen = [asyncio.run(where())]
    loop = asyncio.new_event_loop()
    try:
        seen.append(loop.run_until_complete(where()))
    finally:
        loop.close()
    if sys.version_info >= (3, 11):
        with asyncio.Runner() as runner:
            seen.append(runner.run(where()))
    if sys.version_info >= (3, 13):  # asyncio's own loop, named as a 3.14 program names it
        seen.append(asyncio.run(where(), loop_factory=asyncio.EventLoop))
    return seen
"""


@pytest.mark.parametrize("route", ROUTES)
def test_every_way_of_making_a_loop_gets_the_virtual_one(route: str, tmp_path: Path) -> None:
    module = tmp_path / "by_hand.py"
    module.write_text(_BY_HAND, encoding="utf-8")
    result = run_child(module, route)
    assert result["status"] == "ok", result["error"]
    expected = 2 + (sys.version_info >= (3, 11)) + (sys.version_info >= (3, 13))
    assert result["return"] == ["VirtualClockLoop 3600"] * expected


_GUARDED = """
import asyncio


async def main() -> None:
    while True:
        await asyncio.sleep(0)
"""


@pytest.mark.parametrize("route", ROUTES)
def test_a_guard_that_stops_the_run_is_found_on_either_route(route: str, tmp_path: Path) -> None:
    module = tmp_path / "busy.py"
    module.write_text(_GUARDED, encoding="utf-8")
    result = run_child(module, route, loop={"max_steps": 500})
    assert result["status"] == "error"
    assert result["error"]["kind"] == "busy-loop"


@pytest.fixture(scope="module")
def factory_reports(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, dict[str, Any]]:
    """The grader's own reports on solutions/ and the stubs, every run on the factory route."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(LOOP_ROUTE_VAR, "factory")
        return {
            name: grade_to_json(folder, tmp_path_factory.mktemp(name))
            for name, folder in (("solutions", KIT.solutions), ("stubs", KIT.exercises))
        }


def test_the_factory_route_grades_solutions_full_marks_and_stubs_zero(
    factory_reports: dict[str, dict[str, Any]],
) -> None:
    solutions, stubs = factory_reports["solutions"], factory_reports["stubs"]
    assert solutions["score"] == solutions["max_score"] > 0
    assert all(e["status"] in {"passed", "skipped"} for e in solutions["exercises"])
    assert stubs["score"] == 0
