"""Real LMS exports give one gradebook row per student, keyed by the LMS's own student id.

Each test lays out a submissions folder the way the LMS's "download submissions" does and runs
the real `python -m grader batch` on it (two quick exercises, read from the curriculum):

- Gradescope: `submission_metadata.yml` (not a student) and `submission_<id>` folders; the
  metadata's `:sid:` is the id, a group submission gives a row per submitter;
- Canvas: loose `name_<user id>_<attachment id>_<file>` files, `name_LATE_...` for late work,
  and `file-1.py` for a resubmitted file: the latest is graded and the row says so;
- Moodle: `Full Name_<participant id>_assignsubmission_file_/` folders, with the online-text
  plugin's folder set aside. A symbolic link inside an upload is named in that student's
  feedback.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

from conftest import slow_classroom

from grader.model.curriculum import Exercise, load
from grader.model.kit import Kit

ROOT = Path(__file__).resolve().parent.parent
KIT = Kit(ROOT)
CURRICULUM = load(KIT.curriculum_file)
FAST: list[Exercise] = [e for e in CURRICULUM if e.kind == "predict" and e.python == (3, 10)][:2]
FULL = float(sum(e.points for e in FAST))
NAMES = [PurePosixPath(e.file).name for e in CURRICULUM]


def _batch(subs: Path, out: Path) -> tuple[dict[str, dict[str, str]], str]:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment.update(NO_COLOR="1", COLUMNS="200", ASYNCIO_KIT_ANY_PYTHON="1")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "batch",
            str(subs),
            "--only",
            *(e.id for e in FAST),
            "--csv",
            str(out / "grades.csv"),
            "--feedback",
            str(out / "feedback"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=environment,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    with (out / "grades.csv").open(encoding="utf-8", newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}, completed.stdout


def _files(kind: str) -> dict[str, bytes]:
    root = KIT.solutions if kind == "solved" else KIT.exercises
    return {e.file: (root / e.file).read_bytes() for e in FAST}


def _write(folder: Path, files: dict[str, bytes], prefix: str = "") -> None:
    for name, data in files.items():
        target = folder / prefix / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


@slow_classroom
def test_gradescope_export(tmp_path: Path) -> None:
    subs = tmp_path / "export"
    subs.mkdir()
    (subs / "submission_metadata.yml").write_text(
        "submission_111:\n"
        "  :submitters:\n"
        "  - :name: Ada Lovelace\n"
        "    :sid: 'S100'\n"
        "    :email: ada@example.edu\n"
        "  :created_at: 2026-11-30 10:00:00.000000000 -08:00\n"
        "  :score: 0.0\n"
        "submission_222:\n"
        "  :submitters:\n"
        "  - :name: Bo Bell\n"
        "    :sid: 'S200'\n"
        "    :email: bo@example.edu\n"
        "  - :name: Cy Chen\n"
        "    :sid: 'S201'\n"
        "    :email: cy@example.edu\n"
        "  :created_at: 2026-11-30 11:00:00.000000000 -08:00\n",
        encoding="utf-8",
    )
    _write(subs / "submission_111", _files("solved"))
    _write(subs / "submission_222", _files("stub"), "exercises/")
    rows, _ = _batch(subs, tmp_path / "out")
    assert set(rows) == {"S100", "S200", "S201"}  # the metadata file is not a student
    assert float(rows["S100"]["total"]) == FULL
    assert rows["S100"]["name"] == "Ada Lovelace"
    assert float(rows["S200"]["total"]) == float(rows["S201"]["total"]) == 0
    assert "S201" in rows["S200"]["notes"]  # a group submission says who else is in it
    assert all(row["status"] == "graded" for row in rows.values())


def test_canvas_export_with_late_work_and_resubmissions(tmp_path: Path) -> None:
    first, second = FAST
    one, two = PurePosixPath(first.file).name, PurePosixPath(second.file).name
    assert NAMES.count(one) == NAMES.count(two) == 1  # loose files are found by name
    solved, stubs = _files("solved"), _files("stub")
    subs = tmp_path / "export"
    subs.mkdir()
    # Ada handed the first file in twice: the stub, then the solution (Canvas adds "-1").
    (subs / f"lovelaceada_1001_5001_{one}").write_bytes(stubs[first.file])
    resubmitted = one.replace(".py", "-1.py")
    (subs / f"lovelaceada_1001_5007_{resubmitted}").write_bytes(solved[first.file])
    (subs / f"lovelaceada_1001_5002_{two}").write_bytes(solved[second.file])
    # Bo handed in a zip, late.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in solved.items():
            archive.writestr(f"exercises/{name}", data)
    (subs / "bellbo_LATE_1002_6001_submission.zip").write_bytes(buffer.getvalue())
    rows, _ = _batch(subs, tmp_path / "out")
    assert set(rows) == {"1001", "1002"}
    assert float(rows["1001"]["total"]) == FULL  # the resubmission, not the stub, was graded
    assert rows["1001"]["name"] == "lovelaceada"
    assert f"graded the latest, {resubmitted}" in rows["1001"]["notes"]
    assert float(rows["1002"]["total"]) == FULL
    assert "LATE" in rows["1002"]["notes"]


@slow_classroom
def test_moodle_export_and_a_link_named_in_the_feedback(tmp_path: Path) -> None:
    subs = tmp_path / "export"
    subs.mkdir()
    ada = subs / "Ada Lovelace_3001_assignsubmission_file_"
    _write(ada, _files("solved"), "exercises/")
    (ada / "exercises" / "notes.py").symlink_to(KIT.solutions / FAST[0].file)
    online = subs / "Ada Lovelace_3001_assignsubmission_onlinetext_"
    online.mkdir()
    (online / "onlinetext.html").write_text("<p>see my files</p>", encoding="utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in _files("stub").items():
            archive.writestr(name, data)
    bo = subs / "Bo Bell_3002_assignsubmission_file_"
    bo.mkdir()
    (bo / "work.zip").write_bytes(buffer.getvalue())
    out = tmp_path / "out"
    rows, _ = _batch(subs, out)
    assert set(rows) == {"3001", "3002"}
    assert rows["3001"]["name"] == "Ada Lovelace"
    assert float(rows["3001"]["total"]) == FULL
    assert float(rows["3002"]["total"]) == 0
    assert rows["3002"]["status"] == "graded"
    feedback = (out / "feedback" / "3001.md").read_text(encoding="utf-8")
    assert "exercises/notes.py (a symbolic link)" in feedback
    assert "onlinetext" in feedback


@slow_classroom
def test_plain_folders_and_zips_still_work_beside_each_other(tmp_path: Path) -> None:
    subs = tmp_path / "export"
    _write(subs / "ada", _files("solved"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in _files("solved").items():
            archive.writestr(f"bo/{name}", data)
    (subs / "bo.zip").write_bytes(buffer.getvalue())
    shutil.copytree(subs / "ada", subs / "cy")
    rows, _ = _batch(subs, tmp_path / "out")
    assert {student: float(row["total"]) for student, row in rows.items()} == {
        "ada": FULL,
        "bo": FULL,
        "cy": FULL,
    }
