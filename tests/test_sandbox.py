"""The sandbox runner, its result channel, its messages, and the submission intake.

Children run under whatever layer this machine gives (`probe.current()`); the behaviours
tested here hold on every layer, the floor included (run with ASYNCIO_KIT_ISOLATION=rlimits to
see). Messages are tested both from real runs and from synthetic outcomes, so each failure mode
has its own sentence.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from grader.sandbox import intake, protocol, runs, spawn
from grader.sandbox.isolation import layers as isolation
from grader.sandbox.isolation import probe, procfs
from grader.sandbox.limits import LIMITS_VAR, Limits, default_limits
from grader.sandbox.runs import LearnerCodeError, describe_error, describe_problem, execute

FAST = Limits(wall_seconds=3, cpu_seconds=1)


def child(source: str, *args: Any, limits: Limits = FAST) -> spawn.ChildOutcome:
    request = {
        "mode": "call",
        "entry": "main",
        "args": list(args),
        "kwargs": {},
        "clock": "virtual",
        "loop": {},
    }
    return runs.run_child(request, source.encode(), limits=limits)


def failure(source: str, *args: Any, limits: Limits = FAST) -> LearnerCodeError:
    with pytest.raises(LearnerCodeError) as caught:
        execute(source.encode(), "ex.py", args=list(args), limits=limits)
    return caught.value


def live_with(marker: str) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
            text = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if marker.encode() in text and state not in {b"Z", b"X"}:
            found.append(int(entry.name))
    return found


# --- a run, and its result channel -----------------------------------------------------------
def test_a_run_reports_its_lines_and_layer() -> None:
    outcome = child("def main():\n    print('one')\n    print('two')\n    return [1, 'x']\n")
    assert outcome.problem is None
    assert outcome.result is not None
    assert [line["text"] for line in outcome.result["trace"]["lines"]] == ["one", "two"]
    assert outcome.result["return"] == [1, "x"]
    assert outcome.isolation == probe.current().name


def test_the_child_sees_no_token_no_request_and_no_arguments() -> None:
    source = """
import os, sys

def main():
    return [os.path.exists("request.json"), sys.argv[1:], sorted(os.environ)]
"""
    outcome = child(source)
    assert outcome.result is not None
    request_exists, argv, environment = outcome.result["return"]
    assert request_exists is False
    assert argv == []
    assert set(environment) <= {"PATH", "LANG", "LC_ALL", procfs.TOKEN_VAR}


FORGE = """
import json, os, stat

def main(then_exit):
    forged = {"protocol": 1, "status": "ok", "error": None, "return": "forged",
              "helpers": {}, "warnings": [], "flooded": False,
              "trace": {"lines": [], "tasks": [], "events": [], "end_ns": 0}}
    for fd in range(3, 64):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, json.dumps(forged).encode())
        except OSError:
            pass
    if then_exit:
        os._exit(0)
    return "real"
"""


@pytest.mark.parametrize("then_exit", [True, False], ids=["forged-then-exit", "forged-then-real"])
def test_a_forged_result_is_refused(then_exit: bool) -> None:
    outcome = child(FORGE, then_exit)
    assert outcome.result is None
    assert outcome.problem is not None
    assert outcome.problem.startswith("bad-result")


def test_forked_copies_never_answer() -> None:
    source = """
import os

def main():
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
    return "once"
"""
    outcome = child(source)
    assert outcome.problem is None, outcome.stderr
    assert outcome.result is not None
    assert outcome.result["return"] == "once"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"protocol": 1, "status": "ok", "nonce": "wrong"}',
        b'{"protocol": 2, "status": "ok", "nonce": "n"}',
        b'{"protocol": 1, "status": "ok", "nonce": "n", "x": NaN}',
        b"[" * 100 + b"]" * 100,
    ],
)
def test_protocol_refuses_anything_but_a_plain_stamped_result(raw: bytes) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_result(raw, max_bytes=10_000, nonce="n")


def _plain_result(**changes: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "protocol": 1,
        "status": "ok",
        "nonce": "n",
        "error": None,
        "trace": {
            "lines": [{"text": "a\x1b[2Jb\u202e", "t_ns": 0, "task": None, "phase": "main"}],
            "tasks": [],
            "events": [],
            "end_ns": 0,
        },
        "helpers": {},
        "warnings": [],
        "flooded": False,
        "confined": {"landlock": 7},
    }
    result.update(changes)
    return result


def test_protocol_cleans_text_and_checks_exact_types() -> None:
    data = protocol.parse_result(json.dumps(_plain_result()).encode(), max_bytes=10_000, nonce="n")
    assert data["trace"]["lines"][0]["text"] == "a?[2Jb?"
    raw = json.dumps(_plain_result(confined={"landlock": "7"})).encode()
    with pytest.raises(protocol.ProtocolError, match="confined"):
        protocol.parse_result(raw, max_bytes=10_000, nonce="n")
    raw = json.dumps(_plain_result(flooded=1)).encode()
    with pytest.raises(protocol.ProtocolError, match="flooded"):
        protocol.parse_result(raw, max_bytes=10_000, nonce="n")
    with pytest.raises(protocol.ProtocolError, match="larger"):
        protocol.parse_result(json.dumps(_plain_result()).encode(), max_bytes=10, nonce="n")


# --- limits and leftovers ----------------------------------------------------------------------
def test_the_wall_deadline_kills_the_whole_tree() -> None:
    marker = f"asyncio-kit-test-{uuid.uuid4().hex[:10]}"
    source = f"""
import os, subprocess, sys, threading

def main():
    subprocess.Popen([sys.executable, "-c", "import time\\nwhile True: time.sleep(1)", "{marker}"],
                     start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    threading.Event().wait()
"""
    outcome = child(source, limits=Limits(wall_seconds=1.5, cpu_seconds=1))
    assert outcome.timed_out
    assert outcome.problem == "timeout"
    assert "Timeout" in outcome.stderr  # the fault handler's dump came back before the kill
    assert live_with(marker) == []


def test_a_daemon_does_not_hold_the_run_open() -> None:
    marker = f"asyncio-kit-test-{uuid.uuid4().hex[:10]}"
    source = f"""
import os, sys

def main():
    if os.fork() == 0:
        os.setsid()
        os.execv(sys.executable, [sys.executable, "-c", "import time\\ntime.sleep(60)", "{marker}"])
    return "done"
"""
    outcome = child(source, limits=Limits(wall_seconds=10))
    assert outcome.problem is None  # not a timeout: the run ended when its first process did
    assert not outcome.timed_out
    assert live_with(marker) == []


def test_output_is_capped() -> None:
    outcome = child("import os\ndef main():\n    while True:\n        os.write(1, b'x' * 4096)\n")
    assert outcome.problem == "output-flood"
    assert len(outcome.stdout) <= FAST.output_bytes


def test_the_folder_size_is_capped() -> None:
    source = """
def main():
    for number in range(1000):
        with open(f"f{number}", "wb") as out:
            out.write(b"x" * (512 << 10))
"""
    outcome = child(source, limits=Limits(wall_seconds=5, disk_bytes=4 << 20))
    if outcome.problem is None:  # a capped tmpfs: the learner's code got ENOSPC
        assert outcome.result is not None
        assert "No space left" in outcome.result["error"]["message"]
    else:  # no mount namespace: the parent saw the folder grow and stopped the run
        assert outcome.problem == "disk"


def test_cpu_time_is_limited() -> None:
    outcome = child("def main():\n    while True:\n        pass\n", limits=FAST)
    assert outcome.problem in {"cpu", "timeout"}
    assert outcome.cpu_seconds > 0.25


def test_limits_can_be_set_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LIMITS_VAR, "wall_seconds=2.5, cpu_seconds=1")
    limits = default_limits()
    assert (limits.wall_seconds, limits.cpu_seconds) == (2.5, 1)
    assert limits.memory_bytes == Limits().memory_bytes
    monkeypatch.setenv(LIMITS_VAR, "wall=1")
    with pytest.raises(ValueError, match="unknown limit"):
        default_limits()
    monkeypatch.delenv(LIMITS_VAR)
    assert default_limits() == Limits()


# --- messages, from real runs ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def main(:\n    pass\n", r"syntax error on line 1"),
        ("def start():\n    pass\n", r"no function named `main`"),
        ("import sys\ndef main():\n    sys.exit(2)\n", r"called sys\.exit\(2\)"),
        ("import os\ndef main():\n    os._exit(3)\n", r"ended the process \(exit status 3\)"),
        ("def main():\n    raise KeyboardInterrupt\n", r"KeyboardInterrupt"),
        ("def main():\n    x = [0] * 10**11\n", r"ran out of memory \(limit 768 MiB\)"),
        ("import os\ndef main():\n    while True:\n        os.pipe()\n", r"opened more files"),
        (
            "def main():\n    open('big', 'wb').write(b'x' * (2 << 20))\n",
            r"larger than 1024 KiB|filled its folder",
        ),
        ("def main():\n    while True:\n        print('x')\n", r"printed more than"),
        (
            "def helper():\n    raise ValueError('bad value')\n\ndef main():\n    helper()\n",
            (
                r"raised ValueError: bad value\n    line 5, in main: helper\(\)\n"
                r"    line 2, in helper: raise ValueError\('bad value'\)$"
            ),
        ),
    ],
    ids=[
        "syntax",
        "missing",
        "sys-exit",
        "os-exit",
        "interrupt",
        "memory",
        "fds",
        "file-size",
        "print-flood",
        "traceback",
    ],
)
def test_each_failure_has_its_own_message(source: str, expected: str) -> None:
    error = failure(source)
    assert re.search(expected, error.message), error.message


def test_a_forbidden_file_says_so() -> None:
    layer = probe.current()
    if not (layer.has("landlock") or layer.has("mntns")):
        pytest.skip(f"isolation {layer.name!r} does not hide the kit")
    kit_file = isolation.KIT_ROOT / "grader" / "grading" / "hidden" / "__init__.py"
    error = failure(f"def main():\n    open({str(kit_file)!r}).read()\n")
    assert "outside its sandbox" in error.message or "inside its sandbox" in error.message


@pytest.mark.parametrize(
    ("line", "busy", "expected"),
    [
        ("    threading.Event().wait()", False, "waiting on a blocking call"),
        ("    while True: n += 1", True, "kept the CPU busy"),
    ],
)
def test_a_timeout_says_where_and_why(line: str, busy: bool, expected: str) -> None:
    source = f"import threading\ndef main():\n    n = 0\n{line}\n".encode()
    stderr = (
        "Timeout (0:00:01.500000)!\nThread 0x1 (most recent call first):\n"
        '  File "/usr/lib/python3.11/threading.py", line 320 in wait\n'
        '  File "/tmp/run/exercise.py", line 4 in main\n'
        '  File "/tmp/rt/kitrt/child.py", line 99 in _execute\n'
    )
    outcome = spawn.ChildOutcome(
        result=None, stderr=stderr, timed_out=True, problem="timeout", cpu_seconds=2.0 * busy
    )
    message = describe_problem(outcome, "ex.py", Limits(wall_seconds=2), source)
    assert "still running after 2 s" in message
    assert f"line 4 of ex.py (in `main`): `{line.strip()}`" in message
    assert "inside `wait` of threading.py" in message
    assert expected in message


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (spawn.ChildOutcome(None, problem="output-flood"), "more than 64 KiB of output"),
        (spawn.ChildOutcome(None, problem="disk"), "more than 16 MiB"),
        (spawn.ChildOutcome(None, problem="cpu"), "more than 1 s of CPU time"),
        (spawn.ChildOutcome(None, problem="bad-result: not JSON"), "result channel (not JSON)"),
        (spawn.ChildOutcome(None, returncode=-signal.SIGKILL), "killed (SIGKILL)"),
        (spawn.ChildOutcome(None, returncode=-signal.SIGSEGV), "SIGSEGV"),
        (spawn.ChildOutcome(None, returncode=-signal.SIGABRT), "os.abort()"),
        (spawn.ChildOutcome(None, returncode=-signal.SIGTERM), "stopped by SIGTERM"),
        (spawn.ChildOutcome(None, returncode=0, problem="no-result"), "exit status 0"),
    ],
    ids=["flood", "disk", "cpu", "forged", "sigkill", "sigsegv", "abort", "sigterm", "exit"],
)
def test_every_problem_has_a_sentence(outcome: spawn.ChildOutcome, expected: str) -> None:
    assert expected in describe_problem(outcome, "ex.py", Limits())


@pytest.mark.parametrize(
    ("kind", "message", "expected"),
    [
        (
            "PermissionError",
            "[Errno 13] Permission denied: '/kit/solutions'",
            "outside its sandbox",
        ),
        ("OSError", f"[Errno {errno.EMFILE}] Too many open files", "opened more files"),
        (
            "FileNotFoundError",
            "[Errno 2] No such file or directory: '/kit/solutions/x.py'",
            "does not exist inside its sandbox",
        ),
        ("OSError", f"[Errno {errno.EFBIG}] File too large", "larger than 1024 KiB"),
        ("OSError", f"[Errno {errno.ENOSPC}] No space left on device", "filled its folder"),
        ("OSError", f"[Errno {errno.ENOMEM}] Cannot allocate memory", "ran out of memory"),
        ("OSError", f"[Errno {errno.ENETUNREACH}] Network is unreachable", "the network"),
        ("RecursionError", "maximum recursion depth exceeded", "recursed too deeply"),
        ("RuntimeError", "can't start new thread", "more processes or threads"),
    ],
)
def test_limits_behind_exceptions_are_named(kind: str, message: str, expected: str) -> None:
    error = {"kind": "exception", "type": kind, "message": message, "frames": []}
    assert expected in describe_error(error, "ex.py", Limits())


def test_a_fork_bomb_is_named_from_its_frame() -> None:
    error = {
        "kind": "exception",
        "type": "BlockingIOError",
        "message": "[Errno 11] Resource temporarily unavailable",
        "frames": [{"line": 3, "function": "main", "code": "os.fork()"}],
    }
    assert "more processes or threads" in describe_error(error, "ex.py", Limits())


def test_a_sandbox_failure_is_not_blamed_on_the_learner() -> None:
    error = {"kind": "sandbox", "type": "OSError", "message": "no Landlock", "frames": []}
    assert "not your code's fault" in describe_error(error, "ex.py", Limits())


def test_runs_use_the_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LIMITS_VAR, "wall_seconds=1.5")
    source = b"import threading\ndef main():\n    threading.Event().wait()\n"
    with pytest.raises(LearnerCodeError) as caught:
        execute(source, "ex.py")
    assert "after 1.5 s" in caught.value.message
    assert caught.value.kind == "timeout"


# --- intake ------------------------------------------------------------------------------------
@pytest.fixture
def submission(tmp_path: Path) -> Path:
    root = tmp_path / "submission"
    (root / "topic").mkdir(parents=True)
    (root / "topic" / "ex.py").write_text("PREDICTION = []\n", encoding="utf-8")
    return root


def test_intake_reads_a_plain_file(submission: Path) -> None:
    assert intake.read_submission_file(submission, "topic/ex.py") == b"PREDICTION = []\n"
    assert intake.read_submission_file(submission, "topic/missing.py") is None
    assert intake.read_submission_file(submission, "other/ex.py") is None


def _refused(submission: Path, relative: str = "topic/ex.py") -> str:
    with pytest.raises(LearnerCodeError) as caught:
        intake.read_submission_file(submission, relative)
    return caught.value.message


def test_intake_refuses_a_symbolic_link(submission: Path, tmp_path: Path) -> None:
    secret = tmp_path / "solution.py"
    secret.write_text("the answer", encoding="utf-8")
    (submission / "topic" / "ex.py").unlink()
    (submission / "topic" / "ex.py").symlink_to(secret)
    assert "is a symbolic link" in _refused(submission)


def test_intake_refuses_a_linked_folder(submission: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "solutions"
    elsewhere.mkdir()
    (elsewhere / "ex.py").write_text("the answer", encoding="utf-8")
    for path in (submission / "topic").iterdir():
        path.unlink()
    (submission / "topic").rmdir()
    (submission / "topic").symlink_to(elsewhere)
    assert "sits in `topic/`, which is a symbolic link" in _refused(submission)


def test_intake_refuses_a_hard_link(submission: Path, tmp_path: Path) -> None:
    os.link(submission / "topic" / "ex.py", tmp_path / "other-name.py")
    assert "hard link" in _refused(submission)


def test_intake_refuses_a_fifo_without_blocking(submission: Path) -> None:
    (submission / "topic" / "ex.py").unlink()
    os.mkfifo(submission / "topic" / "ex.py")
    assert "device, pipe or socket" in _refused(submission)


def test_intake_refuses_a_folder_and_path_tricks(submission: Path) -> None:
    (submission / "topic" / "dir.py").mkdir()
    assert "is a folder" in _refused(submission, "topic/dir.py")
    assert "leaves the submission" in _refused(submission, "../etc/passwd")
    assert "leaves the submission" in _refused(submission, "/etc/passwd")


def test_intake_caps_the_size(submission: Path) -> None:
    (submission / "topic" / "ex.py").write_bytes(b"#" * (intake.MAX_BYTES + 1))
    with pytest.raises(LearnerCodeError) as caught:
        intake.read_submission_file(submission, "topic/ex.py")
    assert caught.value.kind == "too-large"
    assert "larger than 256 KiB" in caught.value.message
