"""The second adversarial suite: attacks written after reading the kit, through the real CLI.

`tests/test_hostile.py` holds the first round (one hostile file per case). This suite is the
second round (issue 11, `untrusted-code.md` "A second round of attacks"): each folder in
`tests/hostile2/` is one attack, its `case.toml` says how it is run and what must hold:

- `mode`: `single` (`python -m grader --submission DIR --json OUT`), `pty` (the same on a
  pseudo-terminal, as an instructor sees it), `batch` (`python -m grader batch` over the
  folders in `students/`, one job so that every student goes through the same warm worker and
  fork server, in name order) or `gradescope` (`python -m grader.classroom.gradescope run`).
- `[[expect]]`: per attacked exercise (and student), the most it may score and the reason.
  Exercises not named keep their honest grade: the two solved predict neighbours every
  submission carries keep full marks, the rest score nothing.
- `forbid`: patterns that must appear in no output at all (terminal, JSON, Markdown, HTML,
  CSV): the attacks print what they found behind a `LEAKED[` tag, so a leak shows up in the
  feedback the grader writes about the run that found it.
- `checks`: extra promises (escaped terminal / Markdown / HTML output, safe CSV cells,
  bounded feedback, keyrings untouched).

After every case the harness also looks for what an attack leaves behind: processes and files
carrying the case's marker, SysV IPC objects under the case's keys (`ipcs`), keys under the
case's marker in the session keyring and, for keyring cases, new keys of sandbox uids.

Templates in case files: the first suite's `@@KIT@@`, `@@MARKER@@`, `@@SOLUTION@@`, plus
`@@IPCKEY@@` (a SysV key only this case uses), `@@SECRET@@` (a string only this case knows),
`@@NEEDLES@@` (hashes of every distinctive line of the kit's solutions and hidden tests, which
a memory scan compares its findings with: the lines themselves never enter the attacking
process), and `@@INCLUDE:name@@` (the text of `tests/hostile2/_lib/name.py`).

Every case records the isolation layer it ran under (`record_property("isolation", ...)` and
each assertion message); cases that `needs` a defence the current layer does not have are
skipped with the reason, as in the first suite. Cases run three at a time.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import hashlib
import io
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import representative
from test_hostile import (
    BY_ID,
    CURRICULUM,
    ROOT,
    SUITE_LIMITS,
    WHY,
    _canary,
    _defends,
    _kit_marks,
    _neighbours,
    _strays,
    _survivors,
)

from grader.sandbox import forkserver
from grader.sandbox.isolation import layers, probe, procfs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10 only
    import tomli as tomllib

HOSTILE2 = Path(__file__).resolve().parent / "hostile2"
LIB = HOSTILE2 / "_lib"
WORKERS = 3
#: A student's whole feedback (one Markdown file, one HTML page, one results file) stays
#: below this, whatever the submission holds: hundreds of KiB, not tens of MiB.
FEEDBACK_CAP = 384 * 1024
#: Backstops, not timings: one grading process must not need more than these.
CPU_CEILING_S = 60.0
RSS_CEILING_KIB = 768 * 1024
#: A grading process still running after this long is killed (and the case fails on it).
GRADER_BACKSTOP_S = 300.0
RUN_UID_RANGE = range(procfs.UID_BASE, procfs.UID_BASE + procfs.UID_SPAN)
PRODUCE = [e for e in CURRICULUM if e.kind == "produce" and e.supported()]

#: What a layer must have for an attack in this suite to be stoppable at all.
NEEDS2 = {
    # Learner code reading the kit through the fork server's memory: only a run that is not
    # forked from a process that saw kit content, which no layer promises by itself; the
    # floor spawns a fresh interpreter per run, so it is tested everywhere.
    "strong": lambda layer: layer.name != layers.FLOOR,
    # IPC objects and files left for the next run: the floor shares the machine's.
    "ipcns": lambda layer: layer.has("pidns") or layer.has("bwrap") or layer.has("uid"),
    # Keys under the run's uid: as the grader's own uid (root at the floor), its user
    # keyring is the grader's.
    "uid": lambda layer: layer.has("uid"),
}
WHY2 = {
    "strong": "the cache case compares a grade under the floor with one under a stronger layer",
    "ipcns": "with the floor alone, runs share the machine's IPC namespace and temporary folders",
    "uid": "without a uid of its own a run's user keyring is the grader's",
}


# --- cases ----------------------------------------------------------------------------------------
@dataclass
class Expect:
    """The most one attacked exercise (of one student, in batch) may score."""

    target: str
    honest: float = 0.0
    reason: str = ""
    student: str = ""


@dataclass
class Case2:
    """One folder of `tests/hostile2/`."""

    name: str
    folder: Path
    family: str
    attack: str
    mode: str = "single"
    expect: list[Expect] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    forbid: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    limits: str = SUITE_LIMITS
    generate: str = ""
    env: dict[str, str] = field(default_factory=dict)
    solved: bool = True
    names: dict[str, str] = field(default_factory=dict)
    ungraded: list[str] = field(default_factory=list)
    refusal: str = ""

    @classmethod
    def load(cls, folder: Path) -> Case2:
        data = tomllib.loads((folder / "case.toml").read_text(encoding="utf-8"))
        data["expect"] = [Expect(**entry) for entry in data.get("expect", [])]
        return cls(name=folder.name, folder=folder, **data)

    @property
    def targets(self) -> set[str]:
        return {entry.target for entry in self.expect}

    def skip_reason(self, layer: layers.Layer) -> str | None:
        for need in self.needs:
            if need in NEEDS2:
                if not NEEDS2[need](layer):
                    return f"not run under isolation {layer.name!r}: {WHY2[need]}"
            elif not _defends(need, layer):
                return f"not run under isolation {layer.name!r}: {WHY[need]}"
        return None


def _cases() -> list[Case2]:
    return sorted(
        (Case2.load(f) for f in HOSTILE2.iterdir() if (f / "case.toml").is_file()),
        key=lambda case: case.name,
    )


CASES = _cases()
BY_NAME = {case.name: case for case in CASES}
#: The issue's "Must show" lines, each a test of its own over the cases that show it.
MUST_SHOW = {
    "test_memory_scans_find_no_kit_line_with_the_fork_server_on": (
        "memory-scan-raw-single",
        "memory-scan-python-objects",
        "memory-scan-batch",
    ),
    "test_unsolved_submission_rewriting_everything_scores_zero_on_every_produce_exercise": (
        "forge-everything-all-produce",
    ),
}


# --- templates ------------------------------------------------------------------------------------
def _distinctive(lines: list[str], public: str, minimum: int) -> set[str]:
    return {
        line.strip()
        for line in lines
        if len(line.strip()) >= minimum and line.strip() not in public and "TODO" not in line
    }


def _needles() -> list[str]:
    """sha256 of each solution / hidden-test line that no file the child legitimately holds has.

    A line of a solution that also appears in an exercise stub, the sandbox runtime or
    asyncio's own source is public; every other line is the kit's secret.
    """
    public = "\n".join(
        path.read_text(encoding="utf-8")
        for top in (ROOT / "exercises", ROOT / "grader" / "runtime")
        for path in top.rglob("*.py")
    )
    public += "\n".join(
        p.read_text(encoding="utf-8")
        for p in Path(__import__("asyncio").__file__).parent.glob("*.py")
    )
    secret: set[str] = set()
    for path in (ROOT / "solutions").rglob("*.py"):
        secret |= _distinctive(path.read_text(encoding="utf-8").splitlines(), public, 16)
    for path in (ROOT / "grader" / "hidden").glob("test_*.py"):
        secret |= _distinctive(path.read_text(encoding="utf-8").splitlines(), public, 24)
    return sorted(hashlib.sha256(line.encode()).hexdigest()[:24] for line in secret)


NEEDLES = _needles()


def _fill(text: str, values: dict[str, str]) -> str:
    def include(match: re.Match[str]) -> str:
        return (LIB / f"{match.group(1)}.py").read_text(encoding="utf-8")

    text = re.sub(r"^# @@INCLUDE:(\w+)@@$", include, text, flags=re.MULTILINE)
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    return text


def _copy_tree(source: Path, destination: Path, values: dict[str, str]) -> None:
    for path in sorted(source.rglob("*")):
        if path.is_dir():
            continue
        target = destination / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_fill(path.read_text(encoding="utf-8"), values), encoding="utf-8")


def _solve_neighbours(folder: Path, case: Case2) -> None:
    if not case.solved:
        return
    for neighbour in _neighbours(next(iter(case.targets), "")):
        destination = folder / neighbour.file
        destination.parent.mkdir(parents=True, exist_ok=True)
        if not destination.exists():
            shutil.copyfile(ROOT / "solutions" / neighbour.file, destination)


def _neighbour_ids(case: Case2) -> set[str]:
    if not case.solved:
        return set()
    return {e.id for e in _neighbours(next(iter(case.targets), ""))} - case.targets


# --- generated submissions (what is too big or too odd to keep as files) --------------------------
def _big_prediction(folder: Path, values: dict[str, str]) -> None:
    """Every predict exercise: a prediction list just under the 256 KiB file cap."""
    del values
    for exercise in CURRICULUM:
        if exercise.kind != "predict" or not exercise.supported():
            continue
        source = (ROOT / "exercises" / exercise.file).read_text(encoding="utf-8")
        # The kit takes at most 500 lines: 490 long ones fill the file cap instead.
        lines = [f"line {n} " + "x" * 480 for n in range(490)]
        body = "PREDICTION: list[str] = [\n" + "".join(f"    {line!r},\n" for line in lines) + "]\n"
        head, _, tail = source.partition("PREDICTION: list[str] = []")
        text = head + body + tail
        budget = 250 * 1024
        while len(text.encode()) > budget:
            lines = lines[: int(len(lines) * 0.9)]
            body = "PREDICTION: list[str] = [\n" + "".join(f"    {x!r},\n" for x in lines) + "]\n"
            text = head + body + tail
        path = folder / exercise.file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _huge_int_prediction(folder: Path, values: dict[str, str]) -> None:
    """A 5000-digit integer literal in a prediction (past `sys.int_info` default limits)."""
    del values
    exercise = BY_ID["tasks-await"]
    source = (ROOT / "exercises" / exercise.file).read_text(encoding="utf-8")
    text = source.replace("PREDICTION: list[str] = []", f"PREDICTION = [{'7' * 5000}, 'x']")
    path = folder / exercise.file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _zip_with_entries(path: Path, exercise_file: str, entries: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(exercise_file, (ROOT / "solutions" / exercise_file).read_bytes())
        for n in range(entries):
            archive.writestr(f"junk/{n}", b"")


def _zip_bombs(folder: Path, values: dict[str, str]) -> None:
    """Batch uploads: a zip of 100k entries, and a zip holding a zip of 100k entries."""
    del values
    exercise_file = BY_ID["tasks-await"].file
    _zip_with_entries(folder / "zz-many-entries.zip", exercise_file, 100_000)
    inner = folder.parent / "inner.zip"
    _zip_with_entries(inner, exercise_file, 100_000)
    with zipfile.ZipFile(folder / "zz-nested.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(inner, "upload/inner.zip")
    inner.unlink()


GENERATORS = {
    "big-prediction": _big_prediction,
    "huge-int-prediction": _huge_int_prediction,
    "zip-bombs": _zip_bombs,
}


# --- what is left behind --------------------------------------------------------------------------
def ipc_key(marker: str) -> int:
    """A SysV IPC key only this case uses (its attacks use it, +1 and +2)."""
    return int(hashlib.sha256(marker.encode()).hexdigest()[:7], 16) + 0x1000


def _ipc_objects(key: int) -> list[str]:
    """SysV IPC objects of the machine's namespace under the case's keys, and their owners."""
    try:
        listing = subprocess.run(
            ["ipcs", "-m", "-q", "-s"], capture_output=True, text=True, check=False, timeout=10
        ).stdout
    except (OSError, subprocess.TimeoutExpired):  # pragma: no cover - util-linux is everywhere
        return []
    wanted = {f"0x{k:08x}" for k in (key, key + 1, key + 2)}
    return [line for line in listing.splitlines() if line.split()[:1] and line.split()[0] in wanted]


def _run_uid_objects() -> list[str]:
    """SysV IPC objects owned by a sandbox uid (there should never be any after grading)."""
    found: list[str] = []
    for kind in ("shm", "msg", "sem"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]:
                cols = line.split()
                uid = int(cols[{"shm": 7, "msg": 7, "sem": 4}[kind]])
                if uid in RUN_UID_RANGE:
                    found.append(f"{kind}: {line.strip()}")
    return found


# Keyrings, through the raw system calls (keyutils may not be installed).
_SYS_ADD_KEY = {"x86_64": 248, "aarch64": 217}.get(os.uname().machine, 248)
_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine, 250)
_SESSION = -3
_USER = -4
_USER_SESSION = -5
_KEYCTL_DESCRIBE = 6
_KEYCTL_READ = 11
_KEYCTL_UNLINK = 9
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def add_session_key(description: str, payload: bytes) -> int:
    """Add a `user` key to this process's session keyring (what a grader's login session has)."""
    serial = _libc.syscall(
        _SYS_ADD_KEY, b"user", description.encode(), payload, len(payload), _SESSION
    )
    if serial < 0:
        pytest.skip(f"cannot add a key here (errno {ctypes.get_errno()})")
    return int(serial)


def session_keys(ring: int = _SESSION) -> dict[int, str]:
    """Serial -> description of every key linked into one of this process's keyrings."""
    buffer = ctypes.create_string_buffer(4096)
    size = _libc.syscall(_SYS_KEYCTL, _KEYCTL_READ, ring, buffer, 4096)
    if size < 0:
        return {}
    serials = [int.from_bytes(buffer.raw[i : i + 4], sys.byteorder) for i in range(0, size, 4)]
    found = {}
    for serial in serials:
        text = ctypes.create_string_buffer(512)
        if _libc.syscall(_SYS_KEYCTL, _KEYCTL_DESCRIBE, serial, text, 512) >= 0:
            found[serial] = text.value.decode(errors="replace")
    return found


def _unlink_key(serial: int) -> None:
    _libc.syscall(_SYS_KEYCTL, _KEYCTL_UNLINK, serial, _SESSION)


def run_uid_key_users() -> list[str]:
    """Sandbox uids that own keys (`/proc/key-users`: one line per uid with any key)."""
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/key-users").read_text().splitlines():
            uid = int(line.split(":")[0])
            if uid in RUN_UID_RANGE:
                found.append(line.strip())
    return found


# --- one run ---------------------------------------------------------------------------------
@dataclass
class Outcome2:
    """What one case's grading did and what the harness saw around it."""

    case: Case2
    returncode: int
    reports: dict[str, dict[str, Any]]
    texts: dict[str, str]
    terminal: bytes
    canary_changed: list[str]
    kit_changed: list[str]
    strays: list[str]
    survivors: list[str]
    ipc: list[str]
    run_uid_ipc: list[str]
    keys_planted: list[str]
    key_users: list[str]
    cpu_seconds: float
    max_rss_kib: int
    temp_left: list[str] = field(default_factory=list)
    isolation: str = "?"


def _wait(process: subprocess.Popen[bytes], timeout: float) -> tuple[int, Any]:
    """Wait for the grader with wait4, for its own CPU time and peak memory (not a timing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage
        time.sleep(0.02)
    process.kill()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = -9
    return -9, usage


def _command(case: Case2, base: Path) -> tuple[list[str], Path]:
    py = sys.executable
    if case.mode in {"single", "pty"}:
        return [
            py,
            "-m",
            "grader",
            "--submission",
            str(base / "submission"),
            "--json",
            str(base / "out" / "results.json"),
            "--verbose",
        ], ROOT
    if case.mode == "gradescope":
        return [
            py,
            "-m",
            "grader.classroom.gradescope",
            "run",
            "--submission",
            str(base / "submission"),
            "--results",
            str(base / "out" / "results.json"),
        ], ROOT
    return [
        py,
        "-m",
        "grader",
        "batch",
        str(base / "students"),
        "--csv",
        str(base / "out" / "grades.csv"),
        "--feedback",
        str(base / "out" / "feedback"),
        "--jobs",
        "1",
    ], ROOT


def _build(case: Case2, base: Path, values: dict[str, str]) -> None:
    if case.mode == "batch":
        students = base / "students"
        students.mkdir()
        source = case.folder / "students"
        for folder in sorted(source.iterdir()) if source.is_dir() else []:
            name = case.names.get(folder.name, folder.name)
            _copy_tree(folder, students / name, values)
            _solve_neighbours(students / name, case)
        if case.generate:
            GENERATORS[case.generate](students, values)
        return
    submission = base / "submission"
    submission.mkdir()
    if (case.folder / "files").is_dir():
        _copy_tree(case.folder / "files", submission, values)
    if case.generate:
        GENERATORS[case.generate](submission, values)
    _solve_neighbours(submission, case)


def _run(
    case: Case2, base: Path, command: list[str], cwd: Path, env: dict[str, str]
) -> tuple[int, bytes, Any]:
    if case.mode == "pty":
        master, slave = pty.openpty()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**env, "TERM": "xterm-256color", "COLUMNS": "100"},
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=slave,
            close_fds=True,
        )
        os.close(slave)
        chunks = []
        while True:
            ready, _, _ = select.select([master], [], [], 120)
            if not ready:
                break
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        code, usage = _wait(process, GRADER_BACKSTOP_S)
        return code, b"".join(chunks), usage
    with (base / "terminal.txt").open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        code, usage = _wait(process, GRADER_BACKSTOP_S)
    return code, (base / "terminal.txt").read_bytes(), usage


def _reports(case: Case2, base: Path) -> dict[str, dict[str, Any]]:
    out = base / "out"
    if case.mode in {"single", "pty"}:
        with contextlib.suppress(OSError, ValueError):
            return {"": json.loads((out / "results.json").read_text(encoding="utf-8"))}
        return {}
    if case.mode == "gradescope":
        with contextlib.suppress(OSError, ValueError):
            data = json.loads((out / "results.json").read_text(encoding="utf-8"))
            return {"": data}
        return {}
    reports = {}
    for path in (
        (out / "feedback" / ".cache").glob("*.json")
        if (out / "feedback" / ".cache").is_dir()
        else []
    ):
        with contextlib.suppress(OSError, ValueError, KeyError):
            data = json.loads(path.read_text(encoding="utf-8"))
            reports[data["student"]] = data["report"]
    return reports


def _values(marker: str, canary: Path) -> dict[str, str]:
    secret = f"SECRET{hashlib.sha256(marker.encode()).hexdigest()[:20]}"
    return {
        "KIT": str(ROOT),
        "MARKER": marker,
        "IPCKEY": str(ipc_key(marker)),
        "SECRET": secret,
        "NEEDLES": json.dumps(NEEDLES),
        "CANARY": str(canary),
        "SECRETNEEDLE": hashlib.sha256(f"# {secret}".encode()).hexdigest()[:24],
    }


def _planted_keys(marker: str, before: set[int], seeded: int | None) -> list[str]:
    """Keys that appeared in the harness's own keyrings while the case ran; then removes them."""
    # Cases run side by side in this one process and share its session keyring: another
    # case's own seed key (`asyncio-kit-test:<its marker>`) is not a plant by this one.
    planted = [
        f"{serial}: {description}"
        for serial, description in session_keys().items()
        if serial not in before
        and serial != seeded
        and not ("asyncio-kit-test:hk" in description and marker not in description)
    ]
    for ring in (_USER, _USER_SESSION):
        planted += [
            f"{serial}: {description}"
            for serial, description in session_keys(ring).items()
            if marker in description
        ]
    for serial, description in session_keys().items():
        if marker in description or serial == seeded:
            _unlink_key(serial)
    return planted


def _left_ipc(key: int) -> list[str]:
    """The case's IPC objects still in the machine's namespace (removed: they hold memory)."""
    found = _ipc_objects(key)
    if found:
        subprocess.run(
            ["ipcrm", "-M", str(key), "-Q", str(key + 1), "-S", str(key + 2)],
            capture_output=True,
            check=False,
        )
    return found


def _texts(base: Path, terminal: bytes) -> dict[str, str]:
    texts = {"terminal": terminal.decode("utf-8", "replace")}
    for path in sorted((base / "out").rglob("*")):
        if path.is_file():
            texts[str(path.relative_to(base / "out"))] = path.read_text("utf-8", "replace")
    return texts


def _layers(case: Case2, reports: dict[str, dict[str, Any]], texts: dict[str, str]) -> str:
    layers = {str(report.get("isolation", "?")) for report in reports.values()}
    if case.mode == "gradescope":
        found = re.finditer(r"isolation: ([\w+]+)", texts.get("results.json", ""))
        layers = {match.group(1) for match in found}
    return ",".join(sorted(layers)) or "?"


def _new_key_users(before: set[str]) -> list[str]:
    """Sandbox uids that own keys now and did not before the case.

    The kernel frees a dead process's keys in the background: give it a few seconds before
    calling what is left a leftover (a wait for the kernel, not a timing of the grader).
    """
    for _ in range(50):
        found = [line for line in run_uid_key_users() if line.split(":")[0] not in before]
        if not found:
            return []
        time.sleep(0.2)
    return found


def run_case(case: Case2, base: Path) -> Outcome2:
    """Build the case's submission(s), grade them with the real CLI, look around afterwards."""
    marker = "hk" + uuid.uuid4().hex[:12]
    canary = base / "canary"
    canary.mkdir()
    (canary / "canary.txt").write_text(f"canary {marker}\n", encoding="utf-8")
    (base / "out").mkdir()
    values = _values(marker, canary)
    _build(case, base, values)
    seeded = None
    if "keys" in case.checks:
        seeded = add_session_key(f"asyncio-kit-test:{marker}", values["SECRET"].encode())
    keys_before = set(session_keys())
    key_users_before = {line.split(":")[0] for line in run_uid_key_users()}
    before = _canary(canary)
    env = {**os.environ, "ASYNCIO_KIT_LIMITS": case.limits, **case.env}
    scratch = base / "tmpdir"
    if "tmpdir-clean" in case.checks:
        scratch.mkdir()
        env["TMPDIR"] = str(scratch)
    command, cwd = _command(case, base)
    code, terminal, usage = _run(case, base, command, cwd, env)
    if "cache-layer" in case.checks:
        # The same class again, under the machine's strongest layer, same feedback folder.
        strong = {name: value for name, value in env.items() if name not in case.env}
        code, again, usage = _run(case, base, command, cwd, strong)
        terminal += b"\n--- second batch, strongest layer ---\n" + again
    texts = _texts(base, terminal)
    reports = _reports(case, base)
    return Outcome2(
        case=case,
        returncode=code,
        reports=reports,
        texts=texts,
        terminal=terminal,
        canary_changed=sorted(set(before.items()) ^ set(_canary(canary).items())),
        kit_changed=_kit_marks(marker),
        strays=_strays(marker),
        survivors=_survivors(marker),
        ipc=_left_ipc(ipc_key(marker)),
        temp_left=sorted(p.name for p in scratch.iterdir()) if scratch.is_dir() else [],
        run_uid_ipc=_run_uid_objects(),
        keys_planted=_planted_keys(marker, keys_before, seeded),
        key_users=_new_key_users(key_users_before) if "key-users" in case.checks else [],
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_kib=usage.ru_maxrss,
        isolation=_layers(case, reports, texts),
    )


@pytest.fixture(scope="session")
def layer2() -> layers.Layer:
    return probe.current()


@pytest.fixture(scope="session")
def hostile2_outcomes(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    layer2: layers.Layer,
) -> dict[str, Outcome2]:
    """Run every selected, runnable case once, three at a time, before the first check."""
    wanted: list[Case2] = []
    for item in request.session.items:
        if item.path != Path(__file__):
            continue
        params = getattr(item, "callspec", None)
        if params is not None and item.originalname == "test_hostile2_submission":
            chosen = [params.params["case"]]
        else:
            chosen = [BY_NAME[name] for name in MUST_SHOW.get(item.name, ())]
        wanted += [c for c in chosen if c.skip_reason(layer2) is None and c not in wanted]
    # The slowest first, so the pool is not left waiting on one straggler at the end.
    wanted.sort(key=lambda c: (c.mode != "batch", c.generate == ""))
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {
            case.name: pool.submit(run_case, case, tmp_path_factory.mktemp(case.name))
            for case in wanted
        }
        return {name: future.result() for name, future in futures.items()}


# --- the promises -----------------------------------------------------------------------------
_FENCE = re.compile(r"^(`{3,}).*?^\1\s*$", re.MULTILINE | re.DOTALL)
_SGR = re.compile(rb"\x1b\[[0-9;]*m")


def _markdown_prose(text: str) -> str:
    """A Markdown file without its fenced blocks (what a renderer would interpret)."""
    return _FENCE.sub("", text)


def _markdown_problems(name: str, text: str, where: str) -> list[str]:
    """Images, links, raw HTML and headings that came from the submission, outside code fences."""
    prose = _markdown_prose(text)
    problems = []
    for pattern, what in [
        (r"!\[[^\]]*\]\(", "an image"),
        (r"\]\((?:https?:)?//", "a link"),
        (r"(?<![\\/(<])\b(?:https?://|www\.)", "a bare link (GitHub links it)"),
        (r"<(?:img|script|iframe|a|svg)\b", "raw HTML"),
        (r"^#{1,6} .*(?:Total|100 / 100|points|PASSED)", "a heading from learner text"),
        (
            # The kit's own headings, none of which holds learner text.
            (
                r"^#{1,6} (?!Feedback$|\d+\. |Batch grading summary$|Per exercise$"
                r"|Most missed$|Uploads that could not be graded$)"
            ),
            "a heading",
        ),
    ]:
        found = re.search(pattern, prose, re.MULTILINE | re.IGNORECASE)
        if found is not None:
            problems.append(f"{where}: {name} holds {what} from the submission: {found.group(0)!r}")
    return problems


def _html_problems(name: str, text: str, where: str) -> list[str]:
    # Escaped text (`&lt;img ... onerror=...&gt;`) is harmless: only raw tags and links count.
    problems = []
    for pattern in (r"<script", r"<img", r"<iframe", r"href=[\"']?(?:https?:)?//evil"):
        found = re.search(pattern, text, re.IGNORECASE)
        if found is not None:
            problems.append(
                f"{where}: {name} holds raw HTML from the submission: {found.group(0)!r}"
            )
    return problems


def _terminal_problems(data: bytes, where: str, *, pty_mode: bool) -> list[str]:
    stripped = _SGR.sub(b"", data) if pty_mode else data
    if pty_mode:
        stripped = stripped.replace(b"\r\n", b"\n")
        # rich's own cursor show/hide and line erase (its live display) are not learner text.
        stripped = re.sub(rb"\x1b\[\?25[lh]|\x1b\[2K|\x1b\[1A|\x1b\[1G", b"", stripped)
    problems = []
    for byte, what in [
        (b"\x1b", "an escape sequence"),
        (b"\x07", "a bell / OSC end"),
        (b"\x08", "a backspace"),
        (b"\r", "a carriage return"),
        (b"\xc2\x9b", "a C1 CSI"),
    ]:
        index = stripped.find(byte)
        if index >= 0:
            excerpt = stripped[max(0, index - 40) : index + 40]
            problems.append(f"{where}: the terminal got {what}: {excerpt!r}")
    return problems


def _check_gradescope(outcome: Outcome2, where: str) -> list[str]:
    data = outcome.reports.get("")
    assert data is not None, f"{where}: no results.json"
    problems = []
    honest = {entry.target: entry.honest for entry in outcome.case.expect}
    for test in data["tests"]:
        exercise_id = test["name"].split(":")[0]
        if exercise_id in honest and test["score"] > honest[exercise_id]:
            problems.append(f"{where}: {exercise_id} scored {test['score']}")
    outputs = {"output": data["output"]}
    outputs |= {f"tests[{test['name']}].output": test["output"] for test in data["tests"]}
    outputs |= {f"tests[{test['name']}].name": test["name"] for test in data["tests"]}
    for name, text in outputs.items():
        problems += _markdown_problems(name, text, where)
    return problems


def _check_exercises(case: Case2, student: str, report: dict[str, Any], where: str) -> list[str]:
    """At most the honest score where attacked; full marks kept where solved."""
    problems = []
    assert [e["id"] for e in report["exercises"]] == [e.id for e in CURRICULUM]
    results = {entry["id"]: entry for entry in report["exercises"]}
    mine = {entry.target: entry for entry in case.expect if entry.student == student}
    for exercise in CURRICULUM:
        entry = results[exercise.id]
        label = f"{where}: {student + ': ' if student else ''}{exercise.id}"
        feedback = entry["feedback"]
        if exercise.id in mine:
            expect = mine[exercise.id]
            print(f"  {label}: {entry['status']} {entry['score']}/{entry['max_score']}")
            if entry["score"] > expect.honest or (
                expect.honest == 0 and entry["status"] == "passed"
            ):
                problems.append(
                    f"{label} scored {entry['score']} (honest: {expect.honest:g}): {feedback[:300]!r}"
                )
            elif expect.reason and not re.search(expect.reason, feedback, re.DOTALL):
                problems.append(f"{label}: no {expect.reason!r} in {feedback[:600]!r}")
        elif exercise.id in _neighbour_ids(case) and entry["score"] != exercise.points:
            problems.append(f"{label} (solved, not attacked) lost marks: {feedback[:300]!r}")
    return problems


def _check_grades(outcome: Outcome2, where: str) -> list[str]:
    case = outcome.case
    if case.mode == "gradescope":
        return _check_gradescope(outcome, where)
    problems: list[str] = []
    students = {entry.student for entry in case.expect} or {""}
    if case.mode == "batch":
        students = set(outcome.reports) | {entry.student for entry in case.expect}
        grades = outcome.texts.get("grades.csv", "")
        table = [
            row for row in csv.reader(io.StringIO(grades)) if row and not row[0].startswith("#")
        ]
        header = table[0] if table else []
        rows = {row[0]: dict(zip(header, row, strict=False)) for row in table[1:]}
        for student in case.ungraded:
            row = rows.get(student, {})
            if row.get("status") != "error" or not re.search(case.refusal, row.get("error", "")):
                problems.append(f"{where}: {student} was not refused for {case.refusal!r}: {row}")
            students.discard(student)
    for student in sorted(students):
        report = outcome.reports.get(student)
        if report is None:
            problems.append(f"{where}: no report for {student or 'the submission'}")
            continue
        problems += _check_exercises(case, student, report, where)
    return problems


def _bounded_problems(outcome: Outcome2, where: str) -> list[str]:
    """Feedback per student under the cap; the grader's CPU and memory under their backstops."""
    problems = [
        f"{where}: {name} is {len(text.encode()) // 1024} KiB (cap {FEEDBACK_CAP // 1024})"
        for name, text in outcome.texts.items()
        if name != "terminal"
        and not name.startswith("feedback/.cache")
        and len(text.encode()) > FEEDBACK_CAP
    ]
    if len(outcome.terminal) > FEEDBACK_CAP * max(1, len(outcome.reports)):
        problems.append(f"{where}: {len(outcome.terminal) // 1024} KiB on the terminal")
    if outcome.cpu_seconds > CPU_CEILING_S:
        problems.append(f"{where}: the grader used {outcome.cpu_seconds:.1f} CPU s (backstop)")
    if outcome.max_rss_kib > RSS_CEILING_KIB:
        problems.append(f"{where}: the grader grew to {outcome.max_rss_kib // 1024} MiB")
    return problems


def _check_outputs(outcome: Outcome2, where: str) -> list[str]:
    """Escaped for each medium, and bounded."""
    case = outcome.case
    problems: list[str] = []
    for name, text in outcome.texts.items():
        if name.endswith(".md") and "md-clean" in case.checks:
            problems += _markdown_problems(name, text, where)
        if name.endswith(".html") and "html-clean" in case.checks:
            problems += _html_problems(name, text, where)
        if name.endswith(".csv") and "csv-safe" in case.checks:
            rows = list(csv.reader(io.StringIO(text)))[1:]
            problems += [
                f"{where}: CSV cell {cell!r} starts a spreadsheet formula"
                for row in rows
                for cell in row
                if re.match(r"[=+@\t\r]|-[^\d]", cell)
            ]
    if "term-clean" in case.checks:
        problems += _terminal_problems(outcome.terminal, where, pty_mode=case.mode == "pty")
    if "bounded" in case.checks:
        problems += _bounded_problems(outcome, where)
    everything = "\n".join(outcome.texts.values())
    if "truncated-note" in case.checks and not re.search(
        r"truncated|cut short|not shown", everything, re.IGNORECASE
    ):
        problems.append(f"{where}: no note that feedback was truncated")
    if "markup-literal" in case.checks:
        shown = outcome.terminal.decode("utf-8", "replace")
        problems += [
            f"{where}: {literal!r} was taken as rich markup, not shown"
            for literal in ("[bold red]", "[/bold red]", "[link=", "[/]", ":thumbs_up:")
            if literal not in shown
        ]
    return problems


def _check_left_behind(outcome: Outcome2, where: str) -> list[str]:
    found = {
        "the grader left in its TMPDIR": outcome.temp_left,
        "the canary folder changed": outcome.canary_changed,
        "the kit tree changed": outcome.kit_changed,
        "files left in /tmp, /var/tmp or /dev/shm": outcome.strays,
        "a learner process survived": outcome.survivors,
        "SysV IPC objects outlived the grading": outcome.ipc,
        "keys planted in the grader's keyrings": outcome.keys_planted,
        "sandbox uids still own keys": outcome.key_users,
    }
    return [f"{where}: {what}: {items}" for what, items in found.items() if items]


def check2(outcome: Outcome2, record: Any) -> None:
    """Every promise the grader makes about a hostile submission; all broken ones at once."""
    case = outcome.case
    where = f"{case.name} [{case.family}] under isolation {outcome.isolation}"
    record("isolation", outcome.isolation)
    print(f"\n{where}: {case.attack}")
    print(f"  grader cpu {outcome.cpu_seconds:.1f} s, max rss {outcome.max_rss_kib // 1024} MiB")
    terminal = outcome.texts["terminal"]
    assert outcome.returncode == 0, (
        f"{where}: grader exit {outcome.returncode}:\n{terminal[-3000:]}"
    )
    problems = []
    everything = "\n".join(outcome.texts.values())
    for pattern in [r"LEAKED\[", "internal grader error", r"Traceback \(most recent", *case.forbid]:
        found = re.search(pattern, everything)
        if found is not None:
            context = everything[max(0, found.start() - 200) : found.end() + 300]
            problems.append(f"{where}: output shows {pattern!r}:\n{context}")
    problems += _check_grades(outcome, where)
    problems += _check_outputs(outcome, where)
    problems += _check_left_behind(outcome, where)
    assert problems == [], "\n".join(problems)


#: The first test to need the outcomes waits for every case: on a loaded machine that is
#: minutes, not the 300 s pytest-timeout gives one test.
SUITE_TIMEOUT = pytest.mark.timeout(1800)


#: Attacks the kit does not stop yet (case name: what still gets through), run as non-strict
#: expected failures. Empty: every attack of this suite is stopped; a new one found is listed
#: here with its reason until it is.
STILL_OPEN: dict[str, str] = {}


def _marked(param: Any) -> Any:
    """A case's param with its `full_suite` mark and, while it still gets through, an xfail."""
    case = param.values[0]
    reason = STILL_OPEN.get(case.name)
    if reason is None:
        return param
    xfail = pytest.mark.xfail(reason=reason, strict=False)
    return pytest.param(case, marks=(*param.marks, xfail), id=case.name)


@SUITE_TIMEOUT
@pytest.mark.parametrize(
    "case", [_marked(param) for param in representative(CASES, set().union(*MUST_SHOW.values()))]
)
def test_hostile2_submission(
    case: Case2,
    layer2: layers.Layer,
    hostile2_outcomes: dict[str, Outcome2],
    record_property: Any,
) -> None:
    reason = case.skip_reason(layer2)
    if reason is not None:
        pytest.skip(reason)
    check2(hostile2_outcomes[case.name], record_property)


@SUITE_TIMEOUT
def test_memory_scans_find_no_kit_line_with_the_fork_server_on(
    layer2: layers.Layer, hostile2_outcomes: dict[str, Outcome2], record_property: Any
) -> None:
    """A learner run that scans its own memory for any line of any solution file (or hidden
    test, or another student's upload) finds none, with the fork server on, in single grading
    and in batch."""
    server = forkserver.enabled() and forkserver.supports(layer2)
    record_property("fork_server", "on" if server else "off (this layer spawns every run)")
    names = MUST_SHOW["test_memory_scans_find_no_kit_line_with_the_fork_server_on"]
    assert {BY_NAME[name].mode for name in names} == {"single", "batch"}
    for name in names:
        check2(hostile2_outcomes[name], record_property)


@SUITE_TIMEOUT
def test_unsolved_submission_rewriting_everything_scores_zero_on_every_produce_exercise(
    hostile2_outcomes: dict[str, Outcome2], record_property: Any
) -> None:
    """All five programs left unsolved, every reachable record rewritten: 0 on each of them."""
    outcome = hostile2_outcomes["forge-everything-all-produce"]
    assert outcome.case.targets == {exercise.id for exercise in PRODUCE}
    assert all(entry.honest == 0 for entry in outcome.case.expect)
    check2(outcome, record_property)


@SUITE_TIMEOUT
def test_no_ipc_object_of_a_sandbox_uid_is_left(hostile2_outcomes: dict[str, Outcome2]) -> None:
    """After the whole suite, no SysV IPC object in the machine's namespace belongs to a run uid."""
    assert _run_uid_objects() == []


def test_suite_covers_every_family_with_25_cases() -> None:
    families = {case.family for case in CASES}
    assert len(CASES) >= 25
    assert {
        "inherited memory",
        "state outliving a run",
        "keyrings",
        "self-reported results",
        "cost outside the sandbox",
        "injection",
        "loose caches",
        "edge values",
    } <= families
    for case in CASES:
        for entry in case.expect:
            assert entry.target in BY_ID, case.name
