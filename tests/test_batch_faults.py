"""Batch grading under faults and instructor mistakes: a grade is never lost or invented.

Every test drives the real command line (`python -m grader batch ...` in a fresh process) on a
small class built from `solutions/` and `exercises/`, graded on two quick exercises (read from
the curriculum, never hard-coded) so each batch costs seconds. Faults are real: a cache path
that is a file, a full disk (a tiny tmpfs, as root), real SIGINT and SIGKILL sent to a running
batch, two batch processes at once, cache entries edited on disk.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import slow_classroom

from grader.model.curriculum import Exercise, load
from grader.model.kit import Kit

ROOT = Path(__file__).resolve().parent.parent
KIT = Kit(ROOT)
CURRICULUM = load(KIT.curriculum_file)
#: Two predict exercises every Python runs: grading them is quick.
FAST: list[Exercise] = [e for e in CURRICULUM if e.kind == "predict" and e.python == (3, 10)][:2]
FULL = float(sum(e.points for e in FAST))


def _environment(**extra: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH"}
    }
    environment.update(NO_COLOR="1", COLUMNS="200", ASYNCIO_KIT_ANY_PYTHON="1")
    environment.update(extra)
    return environment


def batch_command(subs: Path, *args: str) -> list[str]:
    only = ["--only", *(e.id for e in FAST)]
    return [sys.executable, "-m", "grader", "batch", str(subs), *only, *args]


def run_batch(
    subs: Path, *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        batch_command(subs, *args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=env or _environment(),
    )


def make_class(root: Path, students: dict[str, str]) -> Path:
    """One folder per student: `solved` (full marks) or `stub` (zero) copies of FAST."""
    subs = root / "submissions"
    for student, kind in students.items():
        source = KIT.solutions if kind == "solved" else KIT.exercises
        for exercise in FAST:
            target = subs / student / exercise.file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / exercise.file, target)
    return subs


CLASS = {"ada": "solved", "bob": "stub", "cy": "solved", "dee": "stub"}


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def comparable(path: Path) -> list[dict[str, str]]:
    """The gradebook without the run id (which differs from run to run by design)."""
    return [{k: v for k, v in row.items() if k != "run"} for row in read_rows(path)]


def graded_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("[")]


def _no_traceback(completed: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in completed.stdout + completed.stderr


@pytest.fixture(scope="module")
def clean_gradebook(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    """The class graded once, without faults: what every faulty run must end up with."""
    root = tmp_path_factory.mktemp("clean")
    subs = make_class(root, CLASS)
    completed = run_batch(subs, "--csv", str(root / "grades.csv"))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    rows = comparable(root / "grades.csv")
    assert {row["student"]: float(row["total"]) for row in rows} == {
        "ada": FULL,
        "bob": 0.0,
        "cy": FULL,
        "dee": 0.0,
    }
    return rows


# --- the cache is an optimisation ------------------------------------------------------------
def test_a_cache_that_cannot_be_written_is_one_warning_and_no_lost_grade(
    tmp_path: Path, clean_gradebook: list[dict[str, str]]
) -> None:
    subs = make_class(tmp_path, CLASS)
    feedback = tmp_path / "feedback"
    feedback.mkdir()
    (feedback / ".cache").write_text("a file where the cache folder would go", encoding="utf-8")
    csv_path = tmp_path / "grades.csv"
    completed = run_batch(subs, "--csv", str(csv_path), "--feedback", str(feedback))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    _no_traceback(completed)
    assert comparable(csv_path) == clean_gradebook
    warnings = [line for line in completed.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, completed.stdout
    assert "cache" in warnings[0]


def _cache_file(cache: Path, student: str) -> Path:
    return cache / f"{hashlib.sha256(student.encode()).hexdigest()[:32]}.json"


def _rewrite(path: Path, change: str) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    report = data["report"]
    if change == "edited score":  # the checksum now disagrees
        report["exercises"][0]["score"] = 1068
    elif change == "score beyond points":  # consistent checksum, impossible score
        report["exercises"][0]["score"] = 1068
        data["checksum"] = hashlib.sha256(json.dumps(report, sort_keys=True).encode()).hexdigest()
    elif change == "partial entry":  # consistent checksum, too few exercises
        report["exercises"] = report["exercises"][:1]
        data["checksum"] = hashlib.sha256(json.dumps(report, sort_keys=True).encode()).hexdigest()
    path.write_text(json.dumps(data), encoding="utf-8")


@slow_classroom
def test_tampered_or_partial_cache_entries_are_graded_again(
    tmp_path: Path, clean_gradebook: list[dict[str, str]]
) -> None:
    subs = make_class(tmp_path, CLASS)
    csv_path = tmp_path / "grades.csv"
    first = run_batch(subs, "--csv", str(csv_path))
    assert first.returncode == 0, first.stdout + first.stderr
    cache = tmp_path / ".grades.csv.cache"
    changes = {"ada": "edited score", "bob": "score beyond points", "cy": "partial entry"}
    for student, change in changes.items():
        _rewrite(_cache_file(cache, student), change)
    (cache / "truncated").mkdir()
    _cache_file(cache, "dee").write_text('{"format": 2, "stud', encoding="utf-8")
    second = run_batch(subs, "--csv", str(csv_path))
    assert second.returncode == 0, second.stdout + second.stderr
    lines = {line.split("] ", 1)[1].split(":")[0]: line for line in graded_lines(second.stdout)}
    assert not [line for line in lines.values() if "reused" in line], second.stdout
    assert comparable(csv_path) == clean_gradebook
    third = run_batch(subs, "--csv", str(csv_path))
    assert all("unchanged, reused" in line for line in graded_lines(third.stdout))


# --- outputs ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case", ["csv is a folder", "csv parent is a file", "feedback is a file", "summary is a folder"]
)
def test_a_bad_output_path_is_refused_before_anyone_is_graded(tmp_path: Path, case: str) -> None:
    subs = make_class(tmp_path, {"ada": "solved"})
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    args = {
        "csv is a folder": ["--csv", str(tmp_path)],
        "csv parent is a file": ["--csv", str(blocker / "grades.csv")],
        "feedback is a file": ["--feedback", str(blocker)],
        "summary is a folder": ["--csv", str(tmp_path / "g.csv"), "--summary", str(tmp_path)],
    }[case]
    completed = run_batch(subs, *args)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    _no_traceback(completed)
    assert not graded_lines(completed.stdout)
    lines = completed.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("usage error:")
    assert not list(tmp_path.glob(".*.cache"))


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 KiB tmpfs: room for the write checks, not for a class's feedback (root only)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@slow_classroom
def test_a_full_disk_loses_no_grade_and_leaves_no_half_file(
    tmp_path: Path, tiny_disk: Path, clean_gradebook: list[dict[str, str]]
) -> None:
    subs = make_class(tmp_path, CLASS)
    feedback = tiny_disk / "feedback"
    csv_path = tmp_path / "grades.csv"
    completed = run_batch(subs, "--csv", str(csv_path), "--feedback", str(feedback))
    _no_traceback(completed)
    # The HTML pages do not fit: the batch says what it could not write, and exits 1 ...
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "NOT written:" in completed.stdout
    assert "No space left on device" in completed.stdout
    # ... but every grade is in the gradebook, which was written elsewhere.
    assert comparable(csv_path) == clean_gradebook
    # Whatever reached the small disk is whole: no temporary left, no truncated feedback file.
    assert not list(feedback.rglob("*.tmp"))
    for page in feedback.glob("*.md"):
        text = page.read_text(encoding="utf-8")
        assert text.startswith("<!-- asyncio-kit run ")
        assert text.endswith("\n")
    record = feedback / "run.json"
    if record.exists():  # when even that did not fit, the NOT written lines said it all
        assert json.loads(record.read_text(encoding="utf-8"))["state"] != "complete"


def _fill(disk: Path) -> None:
    """Use up every free block of `disk` (an empty file still fits: tmpfs counts inodes apart)."""
    handle = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(handle, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(handle)


@slow_classroom
def test_a_gradebook_that_cannot_be_replaced_is_said_to_be_from_another_run(
    tmp_path: Path, tiny_disk: Path
) -> None:
    subs = make_class(tmp_path, CLASS)
    csv_path, feedback = tiny_disk / "grades.csv", tmp_path / "feedback"
    first = run_batch(subs, "--csv", str(csv_path), "--feedback", str(feedback))
    assert first.returncode == 0, first.stdout + first.stderr
    old_run = read_rows(csv_path)[0]["run"]
    shutil.rmtree(subs / "bob")  # the class changed
    _fill(tiny_disk)
    second = run_batch(subs, "--csv", str(csv_path), "--feedback", str(feedback))
    _no_traceback(second)
    assert second.returncode == 1, second.stdout + second.stderr
    assert f"NOT written: gradebook: {csv_path}" in second.stdout
    # The old gradebook is whole and still names its own run ...
    assert {row["run"] for row in read_rows(csv_path)} == {old_run}
    assert "bob" in {row["student"] for row in read_rows(csv_path)}
    # ... and the feedback folder says it is from another run, and that the gradebook is stale.
    record = json.loads((feedback / "run.json").read_text(encoding="utf-8"))
    assert record["run"] != old_run
    assert record["state"] == "incomplete"
    assert any(str(csv_path) in line for line in record["failed"])
    assert record["run"] in (feedback / "ada.md").read_text(encoding="utf-8")


@slow_classroom
def test_every_output_carries_the_run_id_and_the_python(tmp_path: Path) -> None:
    subs = make_class(tmp_path, {"ada": "solved", "bob": "stub"})
    csv_path, feedback = tmp_path / "grades.csv", tmp_path / "feedback"
    completed = run_batch(subs, "--csv", str(csv_path), "--feedback", str(feedback))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    rows = read_rows(csv_path)
    run_ids = {row["run"] for row in rows}
    assert len(run_ids) == 1
    (run_id,) = run_ids
    record = json.loads((feedback / "run.json").read_text(encoding="utf-8"))
    assert record["run"] == run_id
    assert record["state"] == "complete"
    for row in rows:
        assert row["python"] == ".".join(map(str, sys.version_info[:3]))
        assert row["class_python"] == record["class_python"]
    for student in ("ada", "bob"):
        assert run_id in (feedback / f"{student}.md").read_text(encoding="utf-8")
        assert run_id in (feedback / f"{student}.html").read_text(encoding="utf-8")
    assert run_id in (feedback / "summary.md").read_text(encoding="utf-8")
    # A later run without bob: bob's old feedback does not sit beside the new gradebook.
    shutil.rmtree(subs / "bob")
    again = run_batch(subs, "--csv", str(csv_path), "--feedback", str(feedback))
    assert again.returncode == 0, again.stdout + again.stderr
    assert not (feedback / "bob.md").exists()
    assert not (feedback / "bob.html").exists()
    new_id = read_rows(csv_path)[0]["run"]
    assert new_id != run_id
    assert new_id in (feedback / "ada.md").read_text(encoding="utf-8")


# --- interruptions --------------------------------------------------------------------------
def _start(subs: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*batch_command(subs, *args), "--jobs", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
    )


def _until_first_graded(process: subprocess.Popen[str]) -> list[str]:
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("[1/"):
            return seen
    pytest.fail("the batch ended before grading anyone: " + "".join(seen))


@slow_classroom
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_an_interrupted_batch_resumes_to_the_clean_gradebook(
    tmp_path: Path, how: signal.Signals, clean_gradebook: list[dict[str, str]]
) -> None:
    subs = make_class(tmp_path, CLASS)
    csv_path = tmp_path / "grades.csv"
    process = _start(subs, "--csv", str(csv_path))
    _until_first_graded(process)
    process.send_signal(how)
    stdout, stderr = process.communicate(timeout=300)
    if how == signal.SIGINT:
        assert process.returncode == 130, stdout + stderr
        assert "Traceback" not in stdout + stderr
        assert "interrupted:" in stdout
        assert "run the same command again to resume" in stdout.lower()
    else:
        assert process.returncode == -signal.SIGKILL
    assert not csv_path.exists()  # nothing half-written: no gradebook from a partial run
    resumed = run_batch(subs, "--csv", str(csv_path))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert [line for line in graded_lines(resumed.stdout) if "unchanged, reused" in line]
    assert comparable(csv_path) == clean_gradebook


# --- two batches at once -------------------------------------------------------------------------
@slow_classroom
def test_a_second_batch_on_the_same_gradebook_is_refused(tmp_path: Path) -> None:
    subs = make_class(tmp_path, CLASS)
    csv_path = tmp_path / "grades.csv"
    first = _start(subs, "--csv", str(csv_path))
    _until_first_graded(first)  # it holds the lock by now
    # Frozen while it holds the lock, so the second batch surely starts during the first.
    first.send_signal(signal.SIGSTOP)
    try:
        second = run_batch(subs, "--csv", str(csv_path))
    finally:
        first.send_signal(signal.SIGCONT)
    stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stdout + stderr
    assert second.returncode == 2, second.stdout + second.stderr
    _no_traceback(second)
    assert "another batch" in second.stdout
    assert str(first.pid) in second.stdout
    assert [row["student"] for row in read_rows(csv_path)] == sorted(CLASS)


@slow_classroom
def test_concurrent_batches_in_one_folder_never_garble_a_gradebook(tmp_path: Path) -> None:
    subs = make_class(tmp_path, CLASS)
    out = tmp_path / "out"
    processes = [_start(subs, "--csv", str(out / f"grades-{n}.csv")) for n in range(2)]
    for process in processes:
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stdout + stderr
    books = [comparable(out / f"grades-{n}.csv") for n in range(2)]
    assert books[0] == books[1]
    assert [row["student"] for row in books[0]] == sorted(CLASS)
    assert not list(out.glob("*.tmp"))
