"""Does a program's printed order depend on what the virtual clock cannot promise? Ask it.

The kit's truth for a predict exercise is the order its snippet prints on the virtual-clock
loop. That order is the real one only where the program does not lean on one of the loop's
expected differences from a real clock (docs/loop.md): that time stands still while anything
is ready, that a timer fires on the dot, that a reused deadline ties exactly as CPython's heap
breaks ties. This module runs a program on the virtual loop as the grader does, once as it is
and once under each perturbation that stands for one of those differences, and reports every
perturbation that changed the order. An exercise whose order changes must not be an exercise
as it stands: `check-kit` refuses it at authoring time (see `order_dependence`).

Each run happens in a fresh interpreter through the sandbox's own request runner
(`child.run_request`), so the program sees exactly the runtime a learner's run sees: the
virtual loop, the patched `time` module, the trace recorder. No confinement: the programs are
the kit's own. Standard library only.

Example:
    >>> report = order_dependence(Path("solutions/02_tasks/01_await_task.py"))  # doctest: +SKIP
    >>> report.depends, report.explain()  # doctest: +SKIP
    (False, '')

"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Each perturbation stands for one expected difference between the virtual and a real clock.
PERTURBATIONS: dict[str, dict[str, Any]] = {
    # A reused deadline ties in CPython and pops in heap order; "set" pops ties in set order.
    # An order that changes here rests on heap internals nobody should have to predict.
    "equal deadlines in set order": {"tie_order": "set"},
    # Real timers fire late (0.1-2 ms per hop, accumulating), and real loops fire timers less
    # than ~100 us apart in one iteration: a late wake-up on every jump of the clock.
    "1 ms late wake-ups": {"hop_latency_ns": 1_000_000},
    "50 us late wake-ups": {"hop_latency_ns": 50_000},
    # Real time passes while callbacks run: a 1 us timer can fire during a `sleep(0)` chain.
    "time moves while ready (1 us per iteration)": {"ready_latency_ns": 1_000},
}

#: The rule for "this program is racy on a real clock": late wake-ups change its order.
TIMING_PERTURBATIONS: dict[str, dict[str, Any]] = {
    name: options for name, options in PERTURBATIONS.items() if "hop_latency_ns" in options
}

_KIT_ROOT = Path(__file__).resolve().parent.parent.parent

#: Runs each request (argv[1], a JSON list) in a fork of this fresh interpreter, so that every
#: run starts from the same pristine state at the cost of one interpreter start; where there
#: is no fork (Windows) each request gets an interpreter of its own (see `_run_requests`).
_RUNNER = """
import json, os, sys
sys.path.insert(0, sys.argv[3])
from grader.runtime import child
with open(sys.argv[1], encoding="utf-8") as handle:
    requests = json.load(handle)
for index, request in enumerate(requests):
    out = f"{sys.argv[2]}.{index}"
    pid = os.fork() if len(requests) > 1 else 0
    if pid == 0:
        result = child.run_request(request)
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(result, handle)
        sys.stdout.flush()
        os._exit(0)
    os.waitpid(pid, 0)
sys.stdout.flush()
os._exit(0)
"""


@dataclass(frozen=True)
class Outcome:
    """What one run printed, as the grader compares it, and how it ended."""

    lines: tuple[str, ...]
    #: Lines printed while `asyncio.run` cancelled leftovers: an unordered group (sorted).
    shutdown: tuple[str, ...] = ()
    #: The error kind (`deadlock`, `exception`, ...) or "" for a clean run.
    error: str = ""
    message: str = ""

    def key(self) -> tuple[tuple[str, ...], tuple[str, ...], str]:
        """What must agree between two runs for their orders to count as the same."""
        return (self.lines, self.shutdown, self.error)


@dataclass(frozen=True)
class OrderCheck:
    """A program's order on the virtual loop, and the perturbations that changed it."""

    program: str
    baseline: Outcome
    changed: dict[str, Outcome] = field(default_factory=dict)

    @property
    def depends(self) -> bool:
        """Whether the order depends on an expected difference (then it is no exercise)."""
        return bool(self.changed)

    def explain(self) -> str:
        """One sentence per perturbation that changed the order ("" when none did)."""
        sentences = []
        for name, outcome in self.changed.items():
            first = _first_difference(self.baseline, outcome)
            sentences.append(
                f"{self.program}: its printed order changes under '{name}' ({first}), so it "
                "depends on how punctual a real clock is and cannot be graded as it stands."
            )
        return "\n".join(sentences)


def _first_difference(baseline: Outcome, other: Outcome) -> str:
    if baseline.error != other.error:
        now, before = other.error or "no error", baseline.error or "no error"
        return f"the run ends with {now} instead of {before}"
    for index, (left, right) in enumerate(zip(baseline.lines, other.lines, strict=False)):
        if left != right:
            return f"line {index + 1} is {right!r} instead of {left!r}"
    if len(baseline.lines) != len(other.lines):
        return f"{len(other.lines)} lines instead of {len(baseline.lines)}"
    return "the lines printed at shutdown differ"


def run_on_virtual_loop(
    program: Path,
    *,
    entry: str = "main",
    mode: str = "call",
    loop_options: dict[str, Any] | None = None,
    timeout_s: float = 60.0,
) -> Outcome:
    """Run `program` once on the virtual loop in a fresh interpreter, as the grader would.

    `mode` "call" runs the coroutine function `entry` (the grader's truth); "script" runs the
    file as `__main__` (its own `asyncio.run(main())`, as `python program.py` would).
    """
    return _run_requests(program, entry, mode, [loop_options or {}], timeout_s)[0]


def _run_requests(
    program: Path, entry: str, mode: str, variants: list[dict[str, Any]], timeout_s: float
) -> list[Outcome]:
    if len(variants) > 1 and not hasattr(os, "fork"):
        return [_run_requests(program, entry, mode, [v], timeout_s)[0] for v in variants]
    requests = [
        {
            "module": str(Path(program).resolve()),
            "entry": entry,
            "mode": mode,
            "args": [],
            "kwargs": {},
            "clock": "virtual",
            "loop": options,
        }
        for options in variants
    ]
    with tempfile.TemporaryDirectory(prefix="order-check-") as folder:
        request_path = Path(folder) / "requests.json"
        result_path = Path(folder) / "result.json"
        request_path.write_text(json.dumps(requests), encoding="utf-8")
        command = [sys.executable, "-I", "-B", "-c", _RUNNER, str(request_path), str(result_path)]
        try:
            completed = subprocess.run(  # noqa: S603 - our own interpreter, the kit's program
                [*command, str(_KIT_ROOT)],
                capture_output=True,
                text=True,
                timeout=timeout_s * len(variants),
                check=False,
                cwd=folder,
                env={**os.environ, "PYTHONHASHSEED": "0"},
            )
            stderr = completed.stderr
        except subprocess.TimeoutExpired:
            stderr = f"no result within {timeout_s * len(variants):g} s"
        return [_outcome(Path(f"{result_path}.{i}"), stderr) for i in range(len(variants))]


def _outcome(path: Path, stderr: str) -> Outcome:
    if not path.exists():
        return Outcome((), error="crash", message=stderr[-400:])
    result = json.loads(path.read_text(encoding="utf-8"))
    lines = result["trace"]["lines"]
    error = result.get("error") or {}
    return Outcome(
        lines=tuple(str(line["text"]) for line in lines if line.get("phase") != "shutdown"),
        shutdown=tuple(
            sorted(str(line["text"]) for line in lines if line.get("phase") == "shutdown")
        ),
        error=str(error.get("kind", "")),
        message=str(error.get("message", "")),
    )


def order_dependence(
    program: Path,
    *,
    entry: str = "main",
    mode: str = "call",
    perturbations: dict[str, dict[str, Any]] | None = None,
    timeout_s: float = 60.0,
) -> OrderCheck:
    """Run `program` on the virtual loop as it is and under each perturbation; compare orders.

    This is the authoring-time check behind `check-kit`: a predict exercise whose `depends` is
    true has a truth that rests on an expected difference between the virtual and a real clock
    (see `PERTURBATIONS` and docs/loop.md), and must be changed before it can be graded.
    """
    chosen = PERTURBATIONS if perturbations is None else perturbations
    names = list(chosen)
    baseline, *others = _run_requests(
        program, entry, mode, [{}, *(chosen[name] for name in names)], timeout_s
    )
    changed = {
        name: outcome
        for name, outcome in zip(names, others, strict=True)
        if outcome.key() != baseline.key()
    }
    return OrderCheck(str(program), baseline, changed)
