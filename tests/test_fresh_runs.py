"""Nothing survives a run and nothing is inherited: memory, temporary folders, IPC, keyrings.

Rule 10 of the design: a run can observe nothing that an earlier run or the kit left behind.
Each test plays the attacker's half (a learner run that looks for what it should not find) and
checks the grader's half (nothing left on the machine afterwards). They run with the fork
server on, as the grader uses it, under the layer this machine gives; where a guarantee needs a
layer the machine lacks, the test is skipped with the reason.
"""

from __future__ import annotations

import csv
import ctypes
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from grader.runtime import jail
from grader.sandbox import forkserver, runs, spawn
from grader.sandbox.isolation import layers, probe, procfs
from grader.sandbox.limits import LIMITS_VAR, Limits
from grader.sandbox.runs import FENCE_VAR

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = layers.KIT_ROOT
# These runs test the sandbox beneath the fence around learner code (`runtime/guard.py` refuses
# `ctypes`, with which they probe memory and make IPC objects): without the fence, the sandbox
# alone must hold.
REQUEST: dict[str, Any] = {
    "mode": "call",
    "entry": "main",
    "args": [],
    "kwargs": {},
    "clock": "virtual",
    "loop": {},
    "fence": False,
}
ROOMY = Limits(wall_seconds=60, cpu_seconds=30)

# The attacker: find every readable page around what the interpreter holds (no /proc needed:
# a page is readable if write(2) from it into a pipe succeeds), then look for the targets, whole
# lines, in all of it. Targets arrive as short hashes, so that this run holds no copy of them,
# and so that its request is small (a big one would overwrite freed memory in a server that
# parses requests, and hide the very leak this looks for).
SCAN = """
import ctypes, gc, hashlib, os


def scan(targets):
    page = os.sysconf("SC_PAGE_SIZE")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.write.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t)
    libc.write.restype = ctypes.c_ssize_t
    libc.sbrk.argtypes = (ctypes.c_ssize_t,)
    libc.sbrk.restype = ctypes.c_void_p
    read_end, write_end = os.pipe()

    def peek(address):
        if address <= 0 or libc.write(write_end, address, page) != page:
            return None
        return os.read(read_end, page)

    objects = gc.get_objects()
    seeds = {id(item) for item in objects} | {id(item) for item in gc.get_referents(*objects)}
    seeds.add((libc.sbrk(0) or page) - 1)
    del objects
    seen, found = set(), set()
    for seed in sorted(seeds):
        address = seed - seed % page
        if address in seen or peek(address) is None:
            continue
        while address - page not in seen and peek(address - page) is not None:
            address -= page
        carry = b""
        while address not in seen and len(seen) < (1 << 18):
            data = peek(address)
            if data is None:
                break
            seen.add(address)
            head, _, carry = (carry + data).rpartition(b"\\n")
            for line in head.split(b"\\n"):
                if len(line) >= 8:
                    digest = hashlib.blake2b(line, digest_size=6).hexdigest()
                    if digest in targets:
                        found.add(digest)
            carry = carry[-page:]
            address += page
    os.close(read_end)
    os.close(write_end)
    return found, len(seen) * page
"""
SCANNER = (
    SCAN
    + """

def main(targets_hex, control_hex):
    # The positive control: a line made here (never whole in this file), kept alive.
    control = b"\\n" + bytes.fromhex(control_hex)[::-1] + b"\\n"
    found, scanned = scan(set(targets_hex.split(",")))
    return {"found": sorted(found), "scanned": scanned, "kept": len(control)}
"""
)
CONTROL = b"fresh-run-scan: the positive control, a line made by the scanning run"


def _digest(line: bytes) -> str:
    return hashlib.blake2b(line, digest_size=6).hexdigest()


def _solution_lines() -> set[bytes]:
    lines: set[bytes] = set()
    for path in sorted((ROOT / "solutions").rglob("*.py")):
        for line in path.read_bytes().splitlines():
            if len(line.strip()) >= 8 and line not in SCANNER.encode():
                lines.add(line)
    return lines


def _scan(targets: set[bytes]) -> tuple[set[bytes], int]:
    by_digest = {_digest(line): line for line in targets}
    request = {**REQUEST, "args": [",".join(sorted(by_digest)), CONTROL[::-1].hex()]}
    outcome = runs.run_child(request, SCANNER.encode(), limits=ROOMY)
    assert outcome.result is not None, (outcome.problem, outcome.stderr[-2000:])
    assert outcome.result["status"] == "ok", outcome.result["error"]
    report = outcome.result["return"]
    return {by_digest[item] for item in report["found"]}, int(report["scanned"])


def _kit_runs() -> None:
    """What a grading sends the sandbox besides learner code: every solution, as truth runs."""
    for path in sorted((ROOT / "solutions").rglob("*.py")):
        runs.run_child(REQUEST, path.read_bytes())


def _server_in_use() -> None:
    layer = probe.current()
    if not (forkserver.enabled() and forkserver.supports(layer)):
        pytest.skip(f"no fork server for {layer.name} here (the spawn path starts fresh anyway)")


def test_a_learner_run_finds_no_kit_content_in_its_memory() -> None:
    """After truth and reference runs of every solution, a scan of the run's memory finds none.

    The baseline (a scan by a run of a brand-new server, before any kit run) holds what every
    interpreter has anyway (the runtime's own text); after the kit's runs there must be no more.
    """
    _server_in_use()
    targets = _solution_lines() | {CONTROL}
    forkserver.POOL.close()
    baseline, _ = _scan(targets)
    _kit_runs()
    found, scanned = _scan(targets)
    assert CONTROL in found, "the scan itself does not work"
    assert scanned > 1 << 20
    leaked = found - baseline
    assert not leaked, f"{len(leaked)} solution lines in a learner run: {sorted(leaked)[:5]}"


# --- temporary folders ------------------------------------------------------------------------
LEAVE_AND_LOOK = """
import os

def main(mark):
    seen = {}
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        try:
            seen[folder] = sorted(name for name in os.listdir(folder) if name.startswith("mark-"))
        except OSError as exc:
            seen[folder] = type(exc).__name__
        try:
            with open(os.path.join(folder, mark), "w") as out:
                out.write("left by an earlier run")
        except OSError:
            pass
    return seen
"""


def test_no_run_sees_what_an_earlier_run_left_in_temporary_folders() -> None:
    layer = probe.current()
    served = forkserver.enabled() and forkserver.supports(layer)
    if not (served or layer.has("mntns") or layer.has("landlock")):
        pytest.skip(f"{layer.name} shares the machine's /tmp (documented as not defended)")
    for number in range(3):
        request = {**REQUEST, "args": [f"mark-{number}"]}
        outcome = runs.run_child(request, LEAVE_AND_LOOK.encode())
        assert outcome.result is not None, outcome.problem
        seen = outcome.result["return"]
        assert all(value in ([], "PermissionError") for value in seen.values()), seen
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        assert not list(Path(folder).glob("mark-*")) if Path(folder).is_dir() else True


@pytest.mark.skipif(os.geteuid() != 0, reason="a layer without Landlock but with mounts needs root")
def test_each_fork_server_run_gets_fresh_writable_temporary_folders() -> None:
    """Under a layer where /tmp is writable (no Landlock), it is fresh per run, not per server."""
    layer = layers.Layer(("uid", "mntns"), 0)
    assert forkserver.supports(layer)
    for number in range(3):
        request = {**REQUEST, "args": [f"mark-{number}"]}
        outcome = spawn.run_child_in(layer, request, LEAVE_AND_LOOK.encode())
        assert outcome.result is not None, (outcome.problem, outcome.stderr)
        assert outcome.notes == []  # served by the fork server
        assert outcome.result["return"] == {"/tmp": [], "/var/tmp": [], "/dev/shm": []}
    assert not list(Path("/tmp").glob("mark-*"))


# --- System V IPC and kernel keyrings ----------------------------------------------------------
IPC_AND_KEYS = """
import ctypes, platform

NUMBERS = {"x86_64": (29, 68, 64, 248, 250), "aarch64": (194, 186, 190, 217, 219)}


def main(secret_key_id):
    shmget, msgget, semget, add_key, keyctl = NUMBERS[platform.machine()]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    tried = {}

    def call(name, *args):
        result = libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
        tried[name] = "refused" if result < 0 else "made"
        return result

    call("shm", shmget, 0x4B17, 1 << 20, 0o1666)
    call("msg", msgget, 0x4B17, 0o1666)
    call("sem", semget, 0x4B17, 1, 0o1666)
    call("key", add_key, ctypes.c_char_p(b"user"), ctypes.c_char_p(b"planted"),
         ctypes.c_char_p(b"x"), 1, -3)  # into @s
    buffer = ctypes.create_string_buffer(64)
    # KEYCTL_READ (11) of a key in the grader's session keyring
    call("read-grader-key", keyctl, 11, secret_key_id, buffer, 64)
    return tried
"""


def _add_session_key() -> int:
    """A key in this (the grader's) session keyring, as a login session would have."""
    number = jail.keyctl_number()
    if number is None:
        pytest.skip(f"keyrings not known on {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    key = libc.syscall(
        ctypes.c_long({250: 248, 219: 217}[number]),
        ctypes.c_char_p(b"user"),
        ctypes.c_char_p(b"asyncio-kit-test-secret"),
        ctypes.c_char_p(b"the instructor's token"),
        ctypes.c_long(22),
        ctypes.c_long(-3),
    )
    if key < 0:
        pytest.skip(f"cannot add a key here (errno {ctypes.get_errno()})")
    return int(key)


def test_a_run_makes_no_ipc_objects_and_no_keys_and_reads_none() -> None:
    before_ipc = procfs.sysv_objects()
    secret = _add_session_key()
    try:
        outcome = runs.run_child({**REQUEST, "args": [secret]}, IPC_AND_KEYS.encode())
        assert outcome.result is not None, (outcome.problem, outcome.stderr)
        tried = outcome.result["return"]
        assert tried["read-grader-key"] == "refused"
        assert procfs.sysv_objects() == before_ipc
        if outcome.uid is not None:
            assert outcome.uid not in procfs.key_users()
        assert set(tried.values()) == {"refused"}, tried  # the syscall filter refuses them all
    finally:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall(
            ctypes.c_long(jail.keyctl_number() or 0), ctypes.c_long(3), ctypes.c_long(secret)
        )


def test_the_floor_refuses_keyrings_and_ipc_too() -> None:
    secret = _add_session_key()
    try:
        outcome = spawn.run_child_in(
            layers.Layer(), {**REQUEST, "args": [secret]}, IPC_AND_KEYS.encode()
        )
        assert outcome.result is not None, (outcome.problem, outcome.stderr)
        assert set(outcome.result["return"].values()) == {"refused"}
    finally:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall(
            ctypes.c_long(jail.keyctl_number() or 0), ctypes.c_long(3), ctypes.c_long(secret)
        )


@pytest.mark.skipif(os.geteuid() != 0, reason="making IPC objects under a fresh uid needs root")
def _as(uid: int, make: Callable[[], None]) -> None:
    """Run `make` in a child that has become `uid` (raises if `make` did)."""
    subprocess.run(
        [shutil.which("true") or "/bin/true"],
        user=uid, group=uid, extra_groups=[], preexec_fn=make, check=True,
    )  # fmt: skip


@pytest.mark.skipif(os.geteuid() != 0, reason="making IPC objects under a fresh uid needs root")
def test_ipc_objects_of_a_fresh_uid_are_removed() -> None:
    """Without the filter (a kernel lacking seccomp), the sweep removes what the uid made."""
    uid = procfs.UID_BASE + 4242

    def make() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.shmget(0x4B18, 4096, 0o1600) < 0 or libc.msgget(0x4B18, 0o1600) < 0:
            raise OSError(ctypes.get_errno(), "setup: the uid made no objects")

    _as(uid, make)
    assert {table for table, _, _ in procfs.sysv_objects(uid)} == {"shm", "msg"}
    procfs.remove_ipc_of(uid)
    assert procfs.sysv_objects(uid) == []


# --- the fork server as an ordinary user ---------------------------------------------------------
UNPRIVILEGED = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
from grader.sandbox import forkserver, runs, spawn
from grader.sandbox.isolation import layers, probe, procfs
from grader.sandbox.limits import LIMITS_VAR, Limits

LOOK = '''
import os, ctypes

def main(kit):
    libc = ctypes.CDLL(None, use_errno=True)
    return {
        "kit": os.path.exists(os.path.join(kit, "solutions")),
        "umount": libc.umount2(kit.encode(), 2) == 0,
        "mount": libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0,
        "uid": os.getuid(),
        "pid": os.getpid(),
    }
'''
request = {"mode": "call", "entry": "main", "args": [sys.argv[1]], "kwargs": {}, "clock": "virtual",
           "loop": {}, "fence": False}
BOMB = '''
import os, signal

def main():
    children = 0
    try:
        while children < 200:
            if os.fork() == 0:
                signal.pause()
            children += 1
    except OSError as exc:
        return [children, type(exc).__name__]
    return [children, "unlimited"]
'''
layer = probe.current()
outcomes = [runs.run_child(request, LOOK.encode()) for _ in range(3)]
bomb = runs.run_child({**request, "args": []}, BOMB.encode())
with open(sys.argv[2]) as handle:
    scan = json.load(handle)
roomy = Limits(wall_seconds=60, cpu_seconds=30)
scans = []
for number in range(2):
    if number:  # the kit's runs between the two scans: every solution, as truth runs
        for path in sorted(scan["solutions"]):
            with open(path, "rb") as handle:
                runs.run_child({**request, "args": []}, handle.read())
    found = runs.run_child({**request, "args": scan["args"]}, scan["source"].encode(), limits=roomy)
    scans.append(found.result and found.result["return"])
print(json.dumps({
    "bomb": bomb.result and bomb.result["return"],
    "scans": scans,
    "layer": layer.name,
    "server": forkserver.supports(layer),
    "notes": [note for outcome in outcomes for note in outcome.notes],
    "results": [outcome.result and outcome.result["return"] for outcome in outcomes],
    "problems": [outcome.problem for outcome in outcomes],
    "servers": len(forkserver.POOL._all),
}))
"""


def _unprivileged_python() -> tuple[str, str]:
    """A user without privileges and a Python it can run (creating the user when root)."""
    if os.geteuid() != 0:
        pytest.skip("run as root to create an unprivileged user (here the suite itself is one)")
    python = "/usr/bin/python3"
    if not Path(python).exists() or not shutil.which("useradd") or not shutil.which("setpriv"):
        pytest.skip("needs /usr/bin/python3, useradd and setpriv to test as an ordinary user")
    name = "asyncio-kit-learner"
    if subprocess.run(["id", name], capture_output=True, check=False).returncode != 0:
        subprocess.run(["useradd", "--no-create-home", name], check=True)
    return name, python


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder an unprivileged user can read (pytest's own are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="asyncio-kit-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_an_ordinary_user_gets_the_fork_server_with_its_guarantees(shared_folder: Path) -> None:
    name, python = _unprivileged_python()
    tmp_path = shared_folder
    kit = tmp_path / "kit"
    shutil.copytree(ROOT / "grader", kit / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "solutions", kit / "solutions")
    (kit / "probe.py").write_text(UNPRIVILEGED)
    targets = _solution_lines() | {CONTROL}
    by_digest = {_digest(line): line for line in targets}
    scan = {
        "source": SCANNER,
        "args": [",".join(sorted(by_digest)), CONTROL[::-1].hex()],
        "solutions": [str(p) for p in sorted((kit / "solutions").rglob("*.py"))],
    }
    (kit / "scan.json").write_text(json.dumps(scan))
    for folder in (tmp_path, *tmp_path.rglob("*")):
        folder.chmod(0o755 if folder.is_dir() else 0o644)
    done = subprocess.run(
        ["setpriv", f"--reuid={name}", f"--regid={name}", "--init-groups", "--reset-env",
         python, "-I", str(kit / "probe.py"), str(kit), str(kit / "scan.json")],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if not report["server"]:
        pytest.skip(f"no fork server for {report['layer']} as an ordinary user here")
    assert report["notes"] == [], report["notes"]  # served by the server, not spawned
    assert report["problems"] == [None, None, None]
    for seen in report["results"]:
        # The kit hidden; no capability left to unmount that or mount anything; own PID space.
        assert seen["kit"] is False
        assert seen["umount"] is False
        assert seen["mount"] is False
        assert seen["pid"] == 1  # the first process of a PID namespace of its own
    children, stopped_by = report["bomb"]
    assert stopped_by == "BlockingIOError"  # the process limit binds in the user namespace
    assert children < Limits().processes
    baseline, after = (set(scan["found"]) for scan in report["scans"])
    assert _digest(CONTROL) in after, "the scan itself does not work"
    leaked = {by_digest[item] for item in after - baseline}
    assert not leaked, f"solution lines in an ordinary user's run: {sorted(leaked)[:5]}"


@pytest.mark.skipif(os.geteuid() != 0, reason="making keys under a fresh uid needs root")
def test_keys_of_a_fresh_uid_are_removed() -> None:
    """Without the filter (a kernel lacking seccomp), the sweep removes the uid's keys."""
    number = jail.keyctl_number()
    if number is None:
        pytest.skip(f"keyrings not known on {platform.machine()}")
    uid = procfs.UID_BASE + 4243

    def make() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        for ring in (-4, -5):  # the user keyring and the user session keyring
            made = libc.syscall(
                ctypes.c_long({250: 248, 219: 217}[number]),  # add_key
                ctypes.c_char_p(b"user"),
                ctypes.c_char_p(b"planted"),
                ctypes.c_char_p(b"for the next run"),
                ctypes.c_long(16),
                ctypes.c_long(ring),
            )
            if made < 0:
                raise OSError(ctypes.get_errno(), "setup: the uid made no keys")

    _as(uid, make)
    assert uid in procfs.key_users()
    procfs.clear_keys_of(uid)
    for _ in range(200):  # the kernel's key collector runs on its own, soon after
        if uid not in procfs.key_users():
            break
        time.sleep(0.01)
    assert uid not in procfs.key_users()


# --- in batch, after another student ------------------------------------------------------------
DETECTOR = (
    SCAN
    + """
import asyncio

CONTROL_LINE = bytes.fromhex(CONTROL_HEX)[::-1]
# The positive control: a line made here (never whole in this file), kept alive.
KEPT = b"\\n" + CONTROL_LINE + b"\\n"
CONTROL_DIGEST = hashlib.blake2b(CONTROL_LINE, digest_size=6).hexdigest()
# Scanned at import, before the event loop runs: what the run process holds when it starts.
FOUND = scan(set(TARGETS_HEX.split(",")) | {CONTROL_DIGEST})[0]
HIT = CONTROL_DIGEST in FOUND if WANT == "control" else bool(FOUND - {CONTROL_DIGEST})


async def worker(label, steps):
    for step in range(steps):
        print(f"{label} step {step}")
        await asyncio.sleep(0)


async def main(labels=None, steps=3):
    if HIT:  # the solved exercise only if the scan found what it looks for
        await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
"""
)


def test_in_batch_a_learner_run_finds_nothing_of_the_kit_or_another_student(
    tmp_path: Path,
) -> None:
    """The real `batch`, one worker: a student, then one whose take-turns file scans memory.

    It solves the exercise only if it finds a solution line (it must score 0); a control
    student's copy solves it if it finds its own control line (it must score full marks).
    """
    _server_in_use()
    targets = _solution_lines() | {CONTROL}
    forkserver.POOL.close()
    baseline, _ = _scan(targets)  # what any run holds anyway (a brand-new server's run)
    own = set(DETECTOR.encode().splitlines())  # what the scanning file holds of its own
    hunted = sorted(_digest(line) for line in targets - baseline - own - {CONTROL})
    subs = tmp_path / "subs"
    shutil.copytree(ROOT / "solutions", subs / "a_first")
    for student, want in (("b_scanner", "leak"), ("c_control", "control")):
        shutil.copytree(ROOT / "solutions", subs / student)
        header = (
            f"TARGETS_HEX = {','.join(hunted)!r}\nCONTROL_HEX = {CONTROL[::-1].hex()!r}\n"
            f"WANT = {want!r}\n"
        )
        (subs / student / "03_sleep" / "04_take_turns.py").write_text(header + DETECTOR)
    only = ["sleep0-take-turns", "tasks-await", "sleep0-target-order", "shared-result-once"]
    environment = {**os.environ, LIMITS_VAR: "cpu_seconds=20,wall_seconds=60", FENCE_VAR: "0"}
    done = subprocess.run(
        [sys.executable, "-m", "grader", "batch", str(subs), "--csv", str(tmp_path / "g.csv"),
         "--jobs", "1", "--only", *only],
        capture_output=True, text=True, timeout=600, check=False, cwd=ROOT, env=environment,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with (tmp_path / "g.csv").open(encoding="utf-8", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert float(rows["c_control"]["sleep0-take-turns"]) > 0, "the detector does not work"
    assert float(rows["b_scanner"]["sleep0-take-turns"]) == 0, "a solution line leaked"
    assert float(rows["a_first"]["sleep0-take-turns"]) > 0
