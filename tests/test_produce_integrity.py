"""Produce scores are not self-reported: unsolved programs that rewrite what records them earn 0.

Each submission here leaves every program to change exactly as handed out (the stub from
`exercises/`), then appends an attack written against the grader as it was before the fence
(`docs/produce-integrity.md`): it finds the trace recorder, the helpers' counters and the event
loop by every route the child's interpreter offers, and rewrites them to say what a solution
would have printed, when, from which task, how many times the helper ran and in which thread.
Against the unfenced child these attacks earned full marks on all five exercises; here each is
graded through the real CLI and must earn nothing, with a sentence that says why.
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

from grader.grading.produce import helpers_disagree
from grader.model.curriculum import Exercise, load
from grader.model.kit import Kit
from grader.sandbox.runs import Run

ROOT = Path(__file__).resolve().parent.parent
PRODUCE = [e for e in load(ROOT / "exercises" / "info.toml") if e.kind == "produce"]
PRODUCE_IDS = [e.id for e in PRODUCE]

#: What the attack claims each program printed: (text, task, virtual ns), the run's end, and
#: what the helpers should have counted. Written from each exercise's statement, as an attacker
#: who has read it would.
EXPECTED = {
    "sleep0-take-turns": """
def expected(labels=None, steps=3, **_):
    labels = labels or ["A", "B"]
    tasks = ["worker" if i == 0 else f"worker#{i + 1}" for i in range(len(labels))]
    lines = [(f"{label} step {s}", tasks[i], 0) for s in range(steps) for i, label in enumerate(labels)]
    return lines, 0, {}
""",
    "sleep0-target-order": """
def expected(names=None, steps=2, **_):
    names = names or ["a", "b"]
    tasks = ["job" if i == 0 else f"job#{i + 1}" for i in range(len(names))]
    lines = [("main: start", "main", 0)]
    lines += [(f"{n}: step 1", tasks[i], 0) for i, n in enumerate(names)]
    lines.append(("main: all started", "main", 0))
    for s in range(2, steps + 1):
        lines += [(f"{n}: step {s}", tasks[i], 0) for i, n in enumerate(names)]
    lines.append(("main: done", "main", 0))
    return lines, 0, {}
""",
    "tasks-fire-and-forget": """
def expected(saves=None, **_):
    saves = saves or {"report": 1.0}
    tasks = {label: "save" if i == 0 else f"save#{i + 1}" for i, label in enumerate(saves)}
    lines = [("main: request handled", "main", 0)]
    lines += [(f"{label}: saving", tasks[label], 0) for label in saves]
    for label in sorted(saves, key=lambda k: saves[k]):
        lines.append((f"{label}: saved", tasks[label], round(saves[label] * 1e9)))
    return lines, round(max(saves.values()) * 1e9), {}
""",
    "shared-result-once": """
def expected(compute=None, names=None, **_):
    names = names or ["w1", "w2", "w3"]
    settings = closure_values(compute) if compute is not None else {}
    value, delay = settings.get("value", 42), settings.get("delay", 2)
    label = settings.get("label", "fetch_answer")
    lines = [(f"{n}: waiting", f"waiter#{i + 1}" if i else "waiter", 0) for i, n in enumerate(names)]
    lines.insert(1, (f"{label}: computing..." if compute is None else f"{label} starts", "compute", 0))
    lines += [(f"{n}: got {value}", f"waiter#{i + 1}" if i else "waiter", round(delay * 1e9))
              for i, n in enumerate(names)]
    return lines, round(delay * 1e9), {"expensive": {"calls": 1}}
""",
    "blocking-to-thread": """
def expected(fetch=None, beats=None, **_):
    if fetch is None:
        texts = ["beat 0 at 0.0 s", "report: start", "beat 1 at 0.5 s", "beat 2 at 1.0 s",
                 "report: report ready", "beat 3 at 1.5 s"]
        return [(t, "main", 0) for t in texts], round(2.0 * 1e9), {}
    f, b = closure_values(fetch), closure_values(beats)
    every, count, seconds = b.get("every", 0.25), b.get("count", 4), f.get("seconds", 1.0)
    lines = [(f"beat {n}", "ticker", round(n * every * 1e9)) for n in range(count)]
    lines.insert(1, ("report: start", "make_report", 0))
    lines.append((f"report: {f.get('value')}", "make_report", round(seconds * 1e9)))
    end = max(count * every, seconds)
    stats = {"blocking": {"calls": 1, "in_loop_thread": [False]},
             "ticker": {"ticks_ns": [round(n * every * 1e9) for n in range(count)]}}
    return lines, round(end * 1e9), stats
""",
}

#: Every route to the harness the child's interpreter offered before the fence, none of them
#: spelled with attribute syntax the grader reads for (strings and imports only), so it is the
#: child itself that must stop them.
REWRITE_BY_REFLECTION = '''
import asyncio


def closure_values(fn):
    """The helper's settings and counters, from its closure cells."""
    found = {}
    try:
        names = getattr(getattr(fn, "__code__"), "co_freevars")
        for name, cell in zip(names, getattr(fn, "__closure__") or ()):
            found[name] = getattr(cell, "cell_contents")
    except Exception:
        pass
    return found


def recorders():
    """The trace recorder, by every way there was to it."""
    found = []
    try:
        found.append(asyncio.get_running_loop().observer)
    except Exception:
        pass
    try:
        import sys
        found.append(getattr(sys.stdout, "_recorder"))
    except Exception:
        pass
    try:
        import gc
        found += [o for o in gc.get_objects() if type(o).__name__ == "TraceRecorder"]
    except Exception:
        pass
    try:
        import sys
        tracing = sys.modules["kitrt.tracing"]
        found.append(tracing)
    except Exception:
        pass
    return found


def forge(kwargs):
    lines, end_ns, stats = expected(**kwargs)
    trace = {
        "lines": [{"text": t, "t_ns": ns, "task": task, "phase": "main"} for t, task, ns in lines],
        "tasks": [], "events": [], "end_ns": end_ns,
    }
    for recorder in recorders():
        try:
            setattr(recorder, "to_json", lambda trace=trace: trace)
        except Exception:
            pass
        try:
            setattr(getattr(recorder, "TraceRecorder"), "to_json", lambda self, trace=trace: trace)
        except Exception:
            pass
    for fn in kwargs.values():
        counters = closure_values(fn).get("stats")
        if isinstance(counters, dict):
            for helper, values in stats.items():
                if "calls" in counters and ("in_loop_thread" in counters) == (helper == "blocking"):
                    counters.update(values)
                elif "ticks_ns" in counters and helper == "ticker":
                    counters.update(values)


async def main(*args, **kwargs):
    try:
        returned = await stub_main(*args, **kwargs)
    finally:
        forge(kwargs)
    return returned
'''

#: The same rewrite spelled out in attribute syntax: refused before it runs.
REWRITE_BY_SYNTAX = """
import asyncio


async def main(*args, **kwargs):
    returned = await stub_main(*args, **kwargs)
    for fn in kwargs.values():
        for cell in fn.__closure__ or ():
            if isinstance(cell.cell_contents, dict):
                cell.cell_contents["calls"] = 1
    loop = asyncio.get_running_loop()
    loop.observer.lines[:] = []
    loop._now_ns = 0
    return returned
"""

#: Make the loop's clock lie instead: a blocking call in the loop's thread costs no time, so the
#: heartbeat stays on time without the fix; and a class of asyncio's own changed for good measure.
REWRITE_THE_LOOP = """
import asyncio


async def main(*args, **kwargs):
    loop = asyncio.get_running_loop()
    try:
        setattr(loop, "block_for", lambda seconds: None)
    except Exception:
        pass
    try:
        asyncio.BaseEventLoop.slow_callback_duration = 10.0
    except Exception:
        pass
    return await stub_main(*args, **kwargs)
"""

ATTACKS = {
    "reflection": REWRITE_BY_REFLECTION,
    "syntax": REWRITE_BY_SYNTAX,
    "loop": REWRITE_THE_LOOP,
}


def _stub_with(exercise: Exercise, attack: str, kit_root: Path) -> str:
    """The unsolved stub, its `main` renamed, followed by the attack (which calls it)."""
    stub = (kit_root / "exercises" / exercise.file).read_text(encoding="utf-8")
    stub = stub.replace("async def main(", "async def stub_main(")
    stub = stub.replace('if __name__ == "__main__":', "if False:")
    return stub + textwrap.dedent(EXPECTED[exercise.id]) + textwrap.dedent(attack)


def _submission(base: Path, attack: str, kit_root: Path) -> Path:
    folder = base / "submission"
    for exercise in PRODUCE:
        target = folder / exercise.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_stub_with(exercise, attack, kit_root), encoding="utf-8")
    return folder


def _produce_results(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in report["exercises"] if e["id"] in PRODUCE_IDS}


def _only() -> list[str]:
    return ["--only", *PRODUCE_IDS]


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_unsolved_program_that_rewrites_its_recording_scores_nothing(
    attack: str, kit: Kit, tmp_path: Path
) -> None:
    submission = _submission(tmp_path, ATTACKS[attack], kit.root)
    results = _produce_results(grade_to_json(submission, tmp_path, *_only()))
    assert sorted(results) == sorted(PRODUCE_IDS)
    for exercise_id, result in results.items():
        assert result["score"] == 0, f"{attack} earned {result['score']} on {exercise_id}"
        feedback = result["feedback"]
        assert "Traceback" not in feedback
        if attack == "syntax":
            assert "is not allowed in a program graded by its output" in feedback, feedback
            assert "the file was not run" in feedback
        else:
            assert "reached into the grader's own machinery" in feedback, feedback


COMBINED = """
import asyncio


async def main(*args, **kwargs):
    try:
        setattr(asyncio.get_running_loop(), "block_for", lambda seconds: None)
    except Exception:
        pass
    try:
        returned = await stub_main(*args, **kwargs)
    finally:
        forge(kwargs)
    return returned
"""


def test_one_submission_that_rewrites_everything_on_all_five_scores_zero_on_each(
    kit: Kit, tmp_path: Path
) -> None:
    """The must-show: every produce exercise unsolved, every reachable recorder rewritten."""
    attack = REWRITE_BY_REFLECTION.replace("async def main(", "async def unused_main(") + COMBINED
    submission = _submission(tmp_path, attack, kit.root)
    report = grade_to_json(submission, tmp_path)
    results = _produce_results(report)
    assert sorted(results) == sorted(PRODUCE_IDS)
    assert {exercise_id: r["score"] for exercise_id, r in results.items()} == dict.fromkeys(
        PRODUCE_IDS, 0
    )
    for result in results.values():
        assert "reached into the grader's own machinery" in result["feedback"]
        assert "`loop.block_for` cannot be replaced" in result["feedback"] or (
            "not allowed under the grader" in result["feedback"]
        )


def test_the_solutions_keep_full_marks_behind_the_fence(
    solutions_report: dict[str, Any],
) -> None:
    for exercise_id, result in _produce_results(solutions_report).items():
        assert result["score"] == result["max_score"], (exercise_id, result["feedback"])


# --- the second fence, alone: what if learner code got hold of `sys`, `gc` or a traceback? ------
SECOND_FENCE = r"""
import asyncio, json, os, sys
sys.path.insert(0, RUNTIME_PARENT)
from runtime import guard

learner = os.path.join(WORK, "exercise.py")
# Kit code (compiled under the runtime's file names before the fence goes up) reads tracebacks.
KIT_PROBE = compile(
    "import traceback\ntry:\n    1 / 0\nexcept ZeroDivisionError as exc:\n"
    "    found = bool(traceback.extract_tb(exc.__traceback__))\n",
    os.path.join(RUNTIME_PARENT, "runtime", "child.py"), "exec",
)
fence = guard.arm(learner, os.path.join(RUNTIME_PARENT, "runtime"))
ATTEMPTS = {
    "getframe": "sys._getframe(0)",
    "current_frames": "sys._current_frames()",
    "gc": "__import__('gc').get_objects()",
    "referrers": "__import__('gc').get_referrers(asyncio)",
    "settrace": "sys.settrace(lambda *a: None)",
    "setprofile": "sys.setprofile(lambda *a: None)",
    "ctypes": "__import__('ctypes')",
    "traceback": "(lambda: [e for e in [None] if 0] or (1/0))()",
    "audit_hook": "sys.addaudithook(lambda e, a: 1 / 0 if e == 'probe' else None) or "
    "sys.audit('probe')",
    "new_code": "(lambda: 0).__code__.replace(co_name='x')",
    "proc_mem": "open('/proc/self/mem', 'rb')",
    "proc_by_fd": "os.open('mem', os.O_RDONLY, dir_fd=os.open('/proc/self', os.O_RDONLY))",
    "running_frame": "RUNNING",
}
results = {}
for name, expression in ATTEMPTS.items():
    before = len(fence.refusals())
    if name == "traceback":
        source = "try:\n    1/0\nexcept ZeroDivisionError as e:\n    e.__traceback__.tb_frame\n"
    elif name == "running_frame":
        source = (
            "async def probe():\n"
            "    return asyncio.current_task().get_coro().cr_frame\n"
            "asyncio.run(probe())\n"
        )
    else:
        source = expression
    code = compile(source, learner, "exec")
    try:
        exec(code, {"asyncio": asyncio, "sys": sys, "os": os})
        outcome = "allowed"
    except guard.GuardRefusal:
        outcome = "refused"
    except ImportError as exc:
        outcome = "refused" if "not allowed" in str(exc) else f"ImportError {exc}"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    results[name] = [outcome, len(fence.refusals()) > before]
space = {}
exec(KIT_PROBE, space)
results["kit_traceback"] = [space["found"], False]
print(json.dumps(results))
"""


def test_the_audit_hook_refuses_what_the_namespace_would_never_hand_out(tmp_path: Path) -> None:
    """Defence in depth: learner code with the real `sys`, `os` and builtins still gets none of
    frames, the heap, tracing, ctypes, new code or /proc; each is noted."""
    program = SECOND_FENCE.replace("RUNTIME_PARENT", repr(str(ROOT / "grader"))).replace(
        "WORK", repr(str(tmp_path))
    )
    completed = subprocess.run(
        [sys.executable, "-I", "-c", program], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    quiet = {"proc_mem", "proc_by_fd"}  # refused, but stopped by the sandbox too: not fatal
    for name, (outcome, noted) in results.items():
        if name == "kit_traceback":
            assert outcome is True
            continue
        # A refused audit hook is swallowed by the interpreter itself (the call "works").
        assert outcome == ("allowed" if name == "audit_hook" else "refused"), f"{name}: {outcome}"
        assert noted is (name not in quiet), name


def _run(lines: list[str], helpers: dict[str, Any]) -> Run:
    trace = {"lines": [{"text": t, "t_ns": 0, "task": "main"} for t in lines], "end_ns": 0}
    return Run(trace=trace, helpers=helpers)


COMPUTE = {"$helper": "expensive", "value": 7, "delay": 1.0, "label": "compute"}
BEATS = {"$helper": "ticker", "label": "beat", "every": 0.5, "count": 2}


@pytest.mark.parametrize(
    ("lines", "helpers", "passed", "agrees"),
    [
        (["compute starts"], {"expensive": {"calls": 1, "started_ns": [0]}}, [COMPUTE], True),
        (["compute starts"] * 3, {"expensive": {"calls": 1, "started_ns": [0]}}, [COMPUTE], False),
        (["beat 0", "beat 1"], {"ticker": {"ticks_ns": [0, 5]}}, [BEATS], True),
        (["beat 0", "beat 1"], {"ticker": {"ticks_ns": [0]}}, [BEATS], False),
        (["x"], {"blocking": {"calls": 1, "in_loop_thread": []}}, [{"$helper": "blocking"}], False),
        (["x"], {}, [COMPUTE], False),
    ],
    ids=["one-run", "counter-rewritten", "beats", "beat-dropped", "thread-notes", "missing"],
)
def test_the_helpers_counters_must_agree_with_what_they_printed(
    lines: list[str], helpers: dict[str, Any], passed: list[Any], agrees: bool
) -> None:
    assert (helpers_disagree(_run(lines, helpers), passed) == "") is agrees
