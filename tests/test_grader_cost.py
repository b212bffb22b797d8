"""The grader's own cost per student is bounded, its caches are keyed tightly, it cleans up.

Rule 13 of the design: whatever a submission does, checking its results costs the grader a
bounded amount of CPU and memory, nothing it sent stays cached unless it is small and decided
by the file alone, and the folders a grading process makes in the temporary directory go away
with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader.sandbox import protocol, runs, spawn
from grader.sandbox.isolation import layers, probe
from grader.sandbox.limits import Limits

NONCE = "n" * 32
TRACE: dict[str, Any] = {"lines": [], "tasks": [], "events": [], "end_ns": 0}


def result(**changes: Any) -> dict[str, Any]:
    base = {
        "protocol": 1,
        "status": "ok",
        "error": None,
        "trace": TRACE,
        "return": None,
        "helpers": {},
        "warnings": [],
        "flooded": False,
        "nonce": NONCE,
    }
    return {**base, **changes}


def parse(raw: bytes) -> dict[str, Any]:
    return protocol.parse_result(raw, max_bytes=4 << 20, nonce=NONCE)


# --- parsing -------------------------------------------------------------------------------------
def test_too_many_elements_are_refused_before_any_is_built() -> None:
    raw = json.dumps(result(**{"return": [0] * (protocol.MAX_ELEMENTS + 1)})).encode()
    with pytest.raises(protocol.ProtocolError, match="more than 100,000 elements"):
        parse(raw)


def test_commas_and_brackets_inside_strings_are_not_elements() -> None:
    text = 'a, [b], {c}, \\" , ' * 40_000
    assert protocol.count_elements(json.dumps([text]).encode()) == 2
    assert parse(json.dumps(result(**{"return": text})).encode())["return"] == text


def test_an_integer_past_the_digit_limit_in_a_return_value_is_a_plain_marker() -> None:
    digits = "9" * (protocol.MAX_INT_DIGITS + 1)
    raw = (
        json.dumps(result())
        .encode()
        .replace(b'"return": null', b'"return": [' + digits.encode() + b"]")
    )
    assert parse(raw)["return"] == [protocol.UNSERIALIZABLE_INT]


def test_an_integer_past_the_digit_limit_where_an_int_is_required_is_a_bad_result() -> None:
    digits = "1" * (protocol.MAX_INT_DIGITS + 1)
    raw = json.dumps(result()).encode().replace(b'"end_ns": 0', b'"end_ns": ' + digits.encode())
    with pytest.raises(protocol.ProtocolError, match="end_ns"):
        parse(raw)


def test_a_learner_returning_a_huge_integer_gets_a_result_not_an_internal_error() -> None:
    source = b"def main():\n    return [10 ** 5000, 7]\n"
    run = runs.execute(source, "huge.py", clock="virtual")
    # 3.11+: the child cannot print it, and says so; 3.10 can, and the parent will not read it.
    assert run.returned in ({"$unserializable": "list"}, [protocol.UNSERIALIZABLE_INT, 7])


# --- the run cache -------------------------------------------------------------------------------
REQUEST: dict[str, Any] = {"mode": "call", "entry": "main", "args": [], "kwargs": {}, "loop": {}}


def test_the_cache_key_names_layer_limits_runtime_and_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limits = Limits()
    key = runs.cache_key(b"x", REQUEST, limits)
    assert runs.cache_key(b"x", REQUEST, Limits(cpu_seconds=2)) != key
    monkeypatch.setattr(spawn, "runtime_digest", lambda: "another runtime")
    assert runs.cache_key(b"x", REQUEST, limits) != key
    monkeypatch.undo()
    weaker = layers.Layer(("landlock",), 7)
    monkeypatch.setattr(probe, "current", lambda: weaker)
    assert runs.cache_key(b"x", REQUEST, limits) != key
    monkeypatch.undo()
    monkeypatch.setattr(sys, "version", "3.99.0")
    assert runs.cache_key(b"x", REQUEST, limits) != key


def _calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    made: list[int] = []
    real = runs.run_child

    def counting(*args: Any, **kwargs: Any) -> spawn.ChildOutcome:
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(runs, "run_child", counting)
    return made


@pytest.mark.parametrize(
    ("source", "kept"),
    [
        (b"def main():\n    print('small')\n", True),
        (b"def main():\n    raise ValueError('decided by the file')\n", True),
        (b"def main():\n    return 'x' * 200_000\n", False),  # a large result
        (b"import os\ndef main():\n    os._exit(3)\n", False),  # the sandbox had to stop it
        (b"def main():\n    while True:\n        pass\n", False),  # out of CPU time
    ],
    ids=["small", "learner-error", "large", "crash", "cpu"],
)
def test_only_small_answers_the_file_decided_are_cached(
    monkeypatch: pytest.MonkeyPatch, source: bytes, kept: bool
) -> None:
    made = _calls(monkeypatch)
    unique = source + f"\n# {os.getpid()} {id(made)}\n".encode()
    limits = Limits(wall_seconds=5, cpu_seconds=1)
    for _ in range(2):
        with contextlib.suppress(runs.LearnerCodeError):
            runs.execute(unique, "cached.py", limits=limits)
    assert len(made) == (1 if kept else 2)


# --- what a grading process leaves behind ---------------------------------------------------------
SHOW_FOLDERS = """
import sys
sys.path.insert(0, sys.argv[1])
from grader.sandbox import runs, spawn
request = {"mode": "call", "entry": "main", "args": [], "kwargs": {}, "clock": "virtual", "loop": {}}
outcome = runs.run_child(request, b"def main():\\n    return 1\\n")
assert outcome.result is not None, outcome.problem
print(spawn.runtime_dir(), flush=True)
if sys.argv[2] == "hang":
    import time
    time.sleep(60)
"""


def _owned(pid: int) -> list[Path]:
    top = Path(spawn.tempfile.gettempdir())
    return [p for prefix in spawn.OWNED_PREFIXES for p in top.glob(f"{prefix}{pid}-*")]


def test_runtime_and_server_folders_are_removed_at_exit() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SHOW_FOLDERS, str(layers.KIT_ROOT), "exit"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    runtime = Path(done.stdout.strip())
    assert runtime.name.startswith(spawn.OWNED_PREFIXES[0])
    assert not runtime.exists()


def test_folders_of_a_killed_grading_process_are_removed_by_the_next() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SHOW_FOLDERS, str(layers.KIT_ROOT), "hang"],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    runtime = Path(process.stdout.readline().strip())
    assert runtime.exists()
    os.killpg(process.pid, signal.SIGKILL)  # no exit handler runs
    process.wait()
    process.stdout.close()
    left = _owned(process.pid)
    assert runtime in left
    removed = spawn.remove_stale_folders()
    assert set(left) <= set(removed)
    assert _owned(process.pid) == []
