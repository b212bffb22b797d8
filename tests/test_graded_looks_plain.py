"""A graded run looks like a plain `python file.py` run through everything asyncio shows.

Code that can tell it is graded can behave differently when graded (issue 11: "Code cannot
tell a graded run from a plain one by anything the exercise lets it touch"). Here one probe
program is run both ways, plainly with this interpreter and in the sandbox behind the fence,
and what it sees must be the same: the loop's clock (it starts at a real monotonic reading and
agrees with `time.monotonic()` and `clock_gettime`), the loop's and the policy's names and
`dir()`, the modules' names and `dir()`, `sys.flags`, `sys.argv`, `sys.stdout`. What a plain
run has and the fence hides cannot be asked for without the run scoring nothing; `str.format`,
which reads attributes where no check sees it, is only allowed on literal templates.
The virtual loop's clock origin itself is checked for CPython's timer order far from 0.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader.runtime.source_rules import refusals
from grader.runtime.virtual_loop import VirtualClockLoop, new_virtual_loop
from grader.sandbox.runs import LearnerCodeError, execute

PROBE = r"""
import asyncio
import json
import sys
import time


async def main():
    loop = asyncio.get_running_loop()
    stock = asyncio.SelectorEventLoop()
    names = sorted(set(dir(loop)) ^ set(dir(stock)))
    stock.close()
    policy = asyncio.get_event_loop_policy()
    start = loop.time()
    await asyncio.sleep(0.25)
    facts = {
        "clock far from 0": start > 1.0,
        "loop.time() is time.monotonic()": abs(loop.time() - time.monotonic()) < 1,
        "clock_gettime agrees": abs(time.clock_gettime(time.CLOCK_MONOTONIC) - loop.time()) < 1,
        "a sleep moved the clock": loop.time() - start > 0.2,  # no upper bound: load
        "names the loop has and asyncio's lacks": names,
        "kit names answered": [n for n in ("observer", "block_for", "now_ns", "phase")
                               if hasattr(loop, n)],
        "loop": [type(loop).__name__, repr(loop).split(" ")[0]],
        "policy": [type(policy).__name__, repr(policy).split(" ")[0],
                   sorted(set(dir(policy)) ^ set(dir(type(policy)())))],
        "asyncio": [asyncio.__name__, "get_event_loop_policy" in dir(asyncio)],
        "flags": [sys.flags.isolated, sys.flags.no_site, sys.flags.no_user_site],
        "argv": sys.argv[0].rsplit("/", 1)[-1],
        "stdout": [sys.stdout.encoding, sys.stdout.fileno()],
    }
    for fact in sorted(facts.items()):
        print(json.dumps(fact))  # one line each: a captured line holds 500 characters


if __name__ == "__main__":
    asyncio.run(main())
"""


def _plain(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "exercise.py"
    path.write_text(PROBE, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "exercise.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(line) for line in completed.stdout.strip().splitlines())


def _graded(source: str) -> dict[str, Any]:
    run = execute(source.encode(), "exercise.py")
    return dict(json.loads(line) for line in run.lines)


def test_the_probe_sees_the_same_in_a_graded_run_as_in_a_plain_one(tmp_path: Path) -> None:
    plain = _plain(tmp_path)
    graded = _graded(PROBE)
    assert plain["names the loop has and asyncio's lacks"] == []
    assert plain["clock far from 0"] is True
    # `sys.flags` of a plain run depends on how this interpreter was started; the sandbox's
    # own flags (-I -S) must not show.
    assert graded.pop("flags") == [0, 0, 0]
    plain.pop("flags")
    assert graded == plain


@pytest.mark.parametrize(
    "probe",
    [
        "hasattr(sys, 'modules')",
        "hasattr(asyncio, 'set_event_loop_policy')",
        "getattr(str, 'format')",
        "__import__('typing', fromlist=['get_type_hints'])",
    ],
)
def test_asking_for_what_the_fence_hides_scores_nothing(probe: str) -> None:
    source = f"import asyncio, sys\n\n\nasync def main():\n    print({probe})\n"
    with pytest.raises(LearnerCodeError, match=r"not (allowed|available) under the grader"):
        execute(source.encode(), "exercise.py")


@pytest.mark.parametrize(
    ("source", "refused"),
    [
        ('"{0.__class__.__mro__}".format(x)', True),
        ('"{0:{1._now_ns}}".format(x, y)', True),
        ("template.format(x)", True),
        ('str.format("{0.__dict__}", x)', True),
        ('"{} took {0.seconds:.1f} s, item {x[0]}".format(a, b, x=c)', False),
        ('f"{name:>{width}}"', False),
    ],
)
def test_str_format_only_on_literal_templates_with_public_fields(
    source: str, refused: bool
) -> None:
    assert bool(refusals(source)) is refused


@pytest.mark.parametrize("origin_ns", [0, 1_234_567_891_234_567, (1 << 21) * 10**9 - 1])
def test_a_clock_origin_keeps_cpython_timer_order(origin_ns: int) -> None:
    loop = new_virtual_loop(origin_ns=origin_ns)
    order: list[str] = []

    async def main() -> float:
        now = loop.time()
        assert now == origin_ns / 1e9
        deadline = now + 1.5
        for label in ("tie-1", "tie-2"):  # one deadline object reused: they tie, as in CPython
            loop.call_at(deadline, order.append, label)
        loop.call_later(1.5, order.append, "later")
        handle = loop.call_later(0.25, order.append, "first")
        assert handle.when() == pytest.approx(now + 0.25, abs=1e-6)
        await asyncio.sleep(2)
        async with asyncio.timeout(0.5) if sys.version_info >= (3, 11) else _nothing():
            await asyncio.sleep(0.1)
        return loop.time() - now

    try:
        elapsed = loop.run_until_complete(main())
    finally:
        loop.close()
    assert order == ["first", "tie-1", "tie-2", "later"]
    assert elapsed == pytest.approx(2.1, abs=1e-6)
    assert VirtualClockLoop.now_ns.fget(loop) == 2_100_000_000  # type: ignore[attr-defined]


class _nothing:  # noqa: N801 - stands in for asyncio.timeout on 3.10
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *_: object) -> None:
        return None
