"""`python -m grader batch`: a class of mixed uploads, every CSV row and feedback file checked.

The uploads are built here from `solutions/` and `exercises/`: correct, partial, broken and
hostile code, folders and zips laid out in different ways, damaged and unsafe archives. Which
exercises they use is read from the curriculum, never hard-coded.
"""

from __future__ import annotations

import ast
import csv
import io
import os
import shutil
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest
from conftest import run_grader
from rich.console import Console

from grader.classroom import batch, intake
from grader.classroom.grading import GradingError
from grader.feedback.markdown import escape_md, safe_filename
from grader.model.answers import read_prediction
from grader.model.curriculum import Exercise, course
from grader.model.kit import Kit
from grader.model.results import GradeReport


@dataclass
class Expect:
    """What one upload's gradebook row must say."""

    status: str = "graded"
    error: str = ""
    #: exact score per exercise id; exercises not listed must score 0 (if graded)
    scores: dict[str, float] = field(default_factory=dict)
    #: feedback text an exercise's section must contain
    says: dict[str, str] = field(default_factory=dict)


@dataclass
class Picks:
    """Exercises chosen from the curriculum for the roles the uploads need."""

    supported: list[Exercise]
    predict: Exercise  # a prediction of at least two lines (for partial credit)
    predict2: Exercise  # another prediction
    produce: Exercise  # a produce exercise (for hostile code)
    produce2: Exercise  # another produce exercise, in another folder if there is one

    def full(self) -> dict[str, float]:
        return {e.id: float(e.points) for e in self.supported}


def _pick(kit: Kit, curriculum: tuple[Exercise, ...]) -> Picks:
    supported = [e for e in curriculum if e.supported()]
    predicts = [e for e in supported if e.kind == "predict"]
    produces = [e for e in supported if e.kind == "produce"]
    long = [
        e
        for e in predicts
        if len(read_prediction((kit.solutions / e.file).read_bytes(), e.file).lines) >= 2
    ]
    assert long, "no prediction of two lines or more in the curriculum"
    assert len(predicts) >= 2, "fewer than two predict exercises in the curriculum"
    assert produces, "no produce exercise in the curriculum"
    predict = long[0]
    predict2 = next(e for e in predicts if e is not predict)
    produce = produces[0]
    folder = PurePosixPath(produce.file).parent
    others = [e for e in produces if e is not produce]
    produce2 = next(
        (e for e in others if PurePosixPath(e.file).parent != folder),
        others[0] if others else produce,
    )
    return Picks(supported, predict, predict2, produce, produce2)


def _files(root: Path, exercises: list[Exercise]) -> dict[str, bytes]:
    return {e.file: (root / e.file).read_bytes() for e in exercises}


def _write_folder(folder: Path, files: dict[str, bytes], prefix: str = "") -> None:
    for name, data in files.items():
        path = folder / prefix / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    folder.mkdir(parents=True, exist_ok=True)


def _zip_bytes(files: dict[str, bytes], prefix: str = "", sep: str = "/") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr((prefix + name).replace("/", sep), data)
    return buffer.getvalue()


def _with_code(source: bytes, code: str) -> bytes:
    """The file with `code` at module level, before the `__main__` guard (or at the end)."""
    text = source.decode()
    guard = 'if __name__ == "__main__":'
    if guard in text:
        return text.replace(guard, f"{code}\n\n\n{guard}", 1).encode()
    return (text + f"\n{code}\n").encode()


def _without_last_line(source: bytes, exercise: Exercise) -> tuple[bytes, float]:
    """The solved file with the last line (or fact) of its PREDICTION left out."""
    node = None
    for statement in ast.parse(source).body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and "PREDICTION" in ast.dump(
            statement.targets[0] if isinstance(statement, ast.Assign) else statement.target
        ):
            node = statement.value
    assert node is not None
    assert node.end_lineno is not None
    assert node.end_col_offset is not None
    value = ast.literal_eval(node)
    shorter = value[:-1] if isinstance(value, list) else dict(list(value.items())[:-1])
    lines = source.splitlines(keepends=True)
    start = sum(len(line) for line in lines[: node.lineno - 1]) + node.col_offset
    end = sum(len(line) for line in lines[: node.end_lineno - 1]) + node.end_col_offset
    edited = source[:start] + repr(shorter).encode() + source[end:]
    count = len(read_prediction(source, exercise.file).lines)
    assert len(read_prediction(edited, exercise.file).lines) == count - 1
    return edited, round(exercise.points * (count - 1) / count, 2)


@dataclass
class ClassBatch:
    """The built class, the batch's outputs, and what each row must say."""

    submissions: Path
    out: Path
    expect: dict[str, Expect]
    picks: Picks
    curriculum: tuple[Exercise, ...]
    stdout: str
    rows: dict[str, dict[str, str]]
    header: list[str]


def build_class(  # noqa: PLR0915 - the whole class in one place, upload by upload
    kit: Kit, curriculum: tuple[Exercise, ...], root: Path
) -> tuple[Path, dict[str, Expect], Picks]:
    picks = _pick(kit, curriculum)
    p, p2, q, q2 = picks.predict, picks.predict2, picks.produce, picks.produce2
    subs = root / "submissions"
    subs.mkdir()
    solved = _files(kit.solutions, list(curriculum))
    stubs = _files(kit.exercises, list(curriculum))
    full = picks.full()
    expect: dict[str, Expect] = {}

    # Correct work, laid out every way students and exports lay it out. One upload is the
    # whole curriculum; the others hold a few exercises (grading all of them again would only
    # cost time), so every other exercise must come out as not submitted, scoring 0.
    few = picks.supported[:3]
    some = {e.file: solved[e.file] for e in few}
    some_scores = {e.id: float(e.points) for e in few}
    _write_folder(subs / "ada", solved)
    expect["ada"] = Expect(scores=full)
    (subs / "babbage.zip").write_bytes(_zip_bytes(some, "babbage/exercises/"))
    expect["babbage"] = Expect(scores=some_scores)
    (subs / "curie.zip").write_bytes(_zip_bytes(some, "exercises/", sep="\\"))
    expect["curie"] = Expect(scores=some_scores)
    names = [PurePosixPath(e.file).name for e in curriculum]
    unique = [e for e in few if names.count(PurePosixPath(e.file).name) == 1]
    loose = {PurePosixPath(e.file).name: solved[e.file] for e in unique}
    (subs / "dijkstra.zip").write_bytes(_zip_bytes(loose))
    expect["dijkstra"] = Expect(scores={e.id: float(e.points) for e in unique})
    (subs / "euler.zip").write_bytes(_zip_bytes({"inner.zip": _zip_bytes(some, "work/")}))
    expect["euler"] = Expect(scores=some_scores)

    # Unfinished and partial work.
    _write_folder(subs / "fermi", stubs)
    expect["fermi"] = Expect(says={p.id: "Not submitted"})
    _write_folder(subs / "gauss", {**some, p.file: stubs[p.file], q.file: stubs[q.file]})
    expect["gauss"] = Expect(scores={i: s for i, s in some_scores.items() if i not in {p.id, q.id}})
    shorter, partial = _without_last_line(solved[p.file], p)
    _write_folder(subs / "hopper", {p.file: shorter})
    expect["hopper"] = Expect(scores={p.id: partial})

    # Broken and hostile code: it costs that exercise only.
    _write_folder(subs / "ito", {q.file: solved[q.file] + b"\ndef broken(:\n"})
    expect["ito"] = Expect(says={q.id: "syntax"})
    hostile_exit = _with_code(solved[q.file], "import os\nos._exit(0)")
    (subs / "jackson.zip").write_bytes(_zip_bytes({q.file: hostile_exit, p2.file: solved[p2.file]}))
    expect["jackson"] = Expect(scores={p2.id: float(p2.points)})
    _write_folder(
        subs / "kahan",
        {q.file: _with_code(solved[q.file], "while True:\n    pass"), p.file: solved[p.file]},
    )
    expect["kahan"] = Expect(scores={p.id: float(p.points)})
    marker = root / "pwned"
    attack = f"PREDICTION = __import__('os').system('touch {marker}')\n".encode()
    _write_folder(subs / "lovelace", {p2.file: attack, q.file: solved[q.file]})
    expect["lovelace"] = Expect(scores={q.id: float(q.points)}, says={p2.id: "plain data"})

    # Uploads that cannot be graded at all: a row with the reason, never a stopped batch.
    (subs / "mirzakhani.zip").write_bytes(os.urandom(2048))
    expect["mirzakhani"] = Expect("error", "not a readable .zip")
    whole = _zip_bytes(solved)
    (subs / "noether.zip").write_bytes(whole[: len(whole) // 2])
    expect["noether"] = Expect("error", "not a readable .zip")
    (subs / "ohm").mkdir()
    expect["ohm"] = Expect("error", "empty")
    (subs / "pascal.zip").write_bytes(_zip_bytes({}))
    expect["pascal"] = Expect("error", "empty")
    (subs / "quine.zip").write_bytes(_zip_bytes({**solved, "../../escaped.py": b"print('out')"}))
    expect["quine"] = Expect("error", "zip-slip")
    (subs / "ramanujan.zip").write_bytes(_zip_bytes({**solved, f"{root}/absolute.py": b"x = 1"}))
    expect["ramanujan"] = Expect("error", "unsafe path")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo(q.file)
        link.external_attr = 0o120777 << 16
        archive.writestr(link, str(kit.solutions / q.file))  # never followed: passed over
        archive.writestr(p2.file, solved[p2.file])
    (subs / "shannon.zip").write_bytes(buffer.getvalue())
    expect["shannon"] = Expect(scores={p2.id: float(p2.points)})

    # A folder whose links point at the instructor's solutions: links are never followed.
    linked = PurePosixPath(q.file).parent.as_posix()
    real = next(e for e in picks.supported if PurePosixPath(e.file).parent.as_posix() != linked)
    _write_folder(subs / "turing", {real.file: solved[real.file]})
    (subs / "turing" / linked).symlink_to(kit.solutions / linked, target_is_directory=True)
    other = next(
        (
            e
            for e in picks.supported
            if e is not real and PurePosixPath(e.file).parent == PurePosixPath(real.file).parent
        ),
        None,
    )
    if other is not None:
        (subs / "turing" / other.file).symlink_to(kit.solutions / other.file)
    expect["turing"] = Expect(scores={real.id: float(real.points)})

    # An archive bomb in an exercise file, and a nested archive too large to open.
    bomb = solved[q2.file] + b"#" + b" " * (20 * 1024 * 1024)
    (subs / "ulam.zip").write_bytes(_zip_bytes({q2.file: bomb, p.file: solved[p.file]}))
    expect["ulam"] = Expect(scores={p.id: float(p.points)}, says={q2.id: "larger than"})
    big = io.BytesIO()
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("padding.bin", b"\0" * (33 * 1024 * 1024))
    (subs / "volta.zip").write_bytes(_zip_bytes({"inner.zip": big.getvalue()}))
    expect["volta"] = Expect("error", "larger than 32 MiB")

    # Not an upload, a student who uploaded twice, and an LMS-style id.
    (subs / "watt.txt").write_text("notes", encoding="utf-8")
    expect["watt.txt"] = Expect("error", "neither a folder nor a .zip")
    _write_folder(subs / "xu", solved)
    (subs / "xu.zip").write_bytes(_zip_bytes(solved))
    expect["xu"] = Expect("error", "two uploads")
    # A Moodle folder: keyed by its participant id, the name beside it.
    lms = "Ye, Jun_12345_assignsubmission_file_"
    _write_folder(subs / lms, {p2.file: solved[p2.file]}, "exercises/")
    expect["12345"] = Expect(scores={p2.id: float(p2.points)})

    # What an export leaves around that is not an upload.
    (subs / ".DS_Store").write_bytes(b"\0\0")
    (subs / "__MACOSX").mkdir()
    return subs, expect, picks


@pytest.fixture(scope="module")
def graded_class(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path_factory: pytest.TempPathFactory
) -> ClassBatch:
    root = tmp_path_factory.mktemp("class")
    subs, expect, picks = build_class(kit, curriculum, root)
    out = root / "out"
    completed = run_grader(
        "batch",
        str(subs),
        "--csv",
        str(out / "grades.csv"),
        "--feedback",
        str(out / "feedback"),
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    with (out / "grades.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = {row["student"]: row for row in reader}
    return ClassBatch(subs, out, expect, picks, curriculum, completed.stdout, rows, header)


STUDENTS = [
    "ada", "babbage", "curie", "dijkstra", "euler", "fermi", "gauss", "hopper", "ito", "jackson",
    "kahan", "lovelace", "mirzakhani", "noether", "ohm", "pascal", "quine", "ramanujan",
    "shannon", "turing", "ulam", "volta", "watt.txt", "xu", "12345",
]  # fmt: skip


def test_every_upload_has_exactly_one_row(graded_class: ClassBatch) -> None:
    assert len(STUDENTS) >= 20
    assert sorted(graded_class.rows) == sorted(graded_class.expect) == sorted(STUDENTS)


def test_header_lists_every_exercise_in_curriculum_order(graded_class: ClassBatch) -> None:
    ids = [e.id for e in graded_class.curriculum]
    assert graded_class.header == [
        "student",
        "name",
        *ids,
        "total",
        "max",
        "status",
        "error",
        "notes",
        "python",
        "class_python",
        "run",
    ]
    assert graded_class.rows["12345"]["name"] == "Ye, Jun"
    assert len({row["run"] for row in graded_class.rows.values()}) == 1


@pytest.mark.parametrize("student", STUDENTS)
def test_row(graded_class: ClassBatch, student: str) -> None:
    expect = graded_class.expect[student]
    row = graded_class.rows[student]
    # The class's maximum from its declared Python; what this Python can grade when the kit's
    # tests run on another one (batch then warns).
    declared = course(Kit.installed().curriculum_file).python
    here = sys.version_info[:2] if declared != sys.version_info[:2] else declared
    maximum = sum(e.points for e in graded_class.curriculum if e.supported(here))
    assert row["status"] == expect.status, row
    assert float(row["max"]) == maximum
    if expect.status == "error":
        assert expect.error in row["error"], row["error"]
        assert row["total"] == "0"
        assert all(row[e.id] == "" for e in graded_class.curriculum)
        return
    assert row["error"] == ""
    for exercise in graded_class.curriculum:
        if not exercise.supported():
            assert row[exercise.id] == ""
            continue
        wanted = expect.scores.get(exercise.id, 0.0)
        assert float(row[exercise.id]) == pytest.approx(wanted), (exercise.id, row)
    assert float(row["total"]) == pytest.approx(sum(expect.scores.values()))


@pytest.mark.parametrize("student", STUDENTS)
def test_feedback_file(graded_class: ClassBatch, student: str) -> None:
    expect = graded_class.expect[student]
    row = graded_class.rows[student]
    path = graded_class.out / "feedback" / f"{safe_filename(student)}.md"
    marker, text = path.read_text(encoding="utf-8").split("\n", 1)
    assert marker == f"<!-- asyncio-kit run {row['run']} -->"
    who = f"{row['name']} ({student})" if row["name"] else student
    # The heading is kit text; the student's name and id come on their own line, escaped.
    assert text.startswith(f"# Feedback\n\nStudent: {escape_md(who)}\n")
    if expect.status == "error":
        assert "could not be graded" in text
        assert escape_md(row["error"]) in text
        return
    assert f"**Total: {float(row['total']):g} / {float(row['max']):g} points**" in text
    sections = text.split("\n## ")[1:]
    assert len(sections) == len(graded_class.curriculum)
    for section, exercise in zip(sections, graded_class.curriculum, strict=True):
        assert f"(`{exercise.id}`)" in section.splitlines()[0]
        if exercise.supported():
            assert f"**{float(row[exercise.id]):g} / " in section
    for exercise_id, phrase in expect.says.items():
        (section,) = [s for s in sections if f"(`{exercise_id}`)" in s.splitlines()[0]]
        assert phrase in section, (exercise_id, section)


def test_feedback_folder_holds_one_file_per_row_and_the_summary(graded_class: ClassBatch) -> None:
    files = {path.name for path in (graded_class.out / "feedback").glob("*.md")}
    assert files == {f"{safe_filename(s)}.md" for s in STUDENTS} | {"summary.md"}


def test_summary_reports_means_distribution_and_most_missed(graded_class: ClassBatch) -> None:
    text = (graded_class.out / "feedback" / "summary.md").read_text(encoding="utf-8")
    graded = sum(1 for e in graded_class.expect.values() if e.status == "graded")
    errors = len(STUDENTS) - graded
    assert f"- uploads: {len(STUDENTS)} ({graded} graded, {errors} could not be graded" in text
    for exercise in graded_class.curriculum:
        assert f"`{exercise.id}`" in text
    assert "## Most missed" in text
    most = text.split("## Most missed")[1].split("##")[0]
    assert "1. `" in most
    for student, expect in graded_class.expect.items():
        if expect.status == "error":
            # Escaped, not a code span: a backtick in a folder name would close one.
            assert f"- {escape_md(student)}:" in text
    picks = graded_class.picks
    line = next(line for line in text.splitlines() if f"| `{picks.predict.id}` |" in line)
    scores = line.rsplit("|", 2)[1]
    partial = graded_class.expect["hopper"].scores[picks.predict.id]
    assert f"{partial:g} x 1" in scores


def test_log_has_one_line_per_upload(graded_class: ClassBatch) -> None:
    lines = [line for line in graded_class.stdout.splitlines() if line.startswith("[")]
    assert len(lines) == len(STUDENTS)
    assert sorted(int(line[1:].split("/")[0]) for line in lines) == list(
        range(1, len(STUDENTS) + 1)
    )


def test_nothing_escaped_and_nothing_ran_in_the_grader(graded_class: ClassBatch) -> None:
    root = graded_class.submissions.parent
    assert not (root / "pwned").exists()
    assert not (root / "absolute.py").exists()
    assert not list(root.parent.rglob("escaped.py"))


def test_rerun_reuses_unchanged_uploads_and_regrades_changed_ones(
    kit: Kit, graded_class: ClassBatch, tmp_path: Path
) -> None:
    subs, out = tmp_path / "submissions", tmp_path / "out"
    keep = ["ada", "fermi", "hopper", "ohm"]
    for student in keep:
        shutil.copytree(graded_class.submissions / student, subs / student)
    p = graded_class.picks.predict
    args = ["batch", str(subs), "--csv", str(out / "grades.csv"), "--only", p.id]

    def run(*extra: str) -> dict[str, str]:
        completed = run_grader(*args, *extra)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        return {
            line.split("] ", 1)[1].split(":")[0]: line
            for line in completed.stdout.splitlines()
            if line.startswith("[")
        }

    first = run()
    assert set(first) == set(keep)
    assert not [line for line in first.values() if "reused" in line]

    def without_run_id() -> list[list[str]]:
        with (out / "grades.csv").open(encoding="utf-8", newline="") as handle:
            return [row[:-1] for row in csv.reader(handle)]  # `run` is the last column

    gradebook = without_run_id()
    second = run()
    assert all("unchanged, reused" in second[s] for s in ("ada", "fermi", "hopper"))
    assert "NOT GRADED" in second["ohm"]
    assert without_run_id() == gradebook
    # A student hands in again: only that upload is graded again.
    (subs / "ada" / p.file).write_bytes((kit.exercises / p.file).read_bytes())
    third = run()
    assert "reused" not in third["ada"]
    assert "unchanged, reused" in third["fermi"]
    with (out / "grades.csv").open(encoding="utf-8", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert rows["ada"]["total"] == "0"
    assert float(rows["hopper"][p.id]) == graded_class.expect["hopper"].scores[p.id]
    assert "reused" in (out / "grades-summary.md").read_text(encoding="utf-8")
    fourth = run("--regrade")
    assert not [line for line in fourth.values() if "reused" in line]


# --- intake on its own --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("paths", "expected_root"),
    [
        (["01_a/x.py", "02_b/y.py"], ""),
        (["exercises/01_a/x.py", "exercises/02_b/y.py", "solutions/01_a/x.py"], "exercises/"),
        (
            ["bob/hw/exercises/01_a/x.py", "bob/hw/exercises/02_b/y.py", "old/01_a/x.py"],
            "bob/hw/exercises/",
        ),
    ],
)
def test_locate_finds_the_exercise_root(paths: list[str], expected_root: str) -> None:
    assert intake.locate(paths, ["01_a/x.py", "02_b/y.py"]) == {
        "01_a/x.py": expected_root + "01_a/x.py",
        "02_b/y.py": expected_root + "02_b/y.py",
    }


def test_locate_falls_back_to_unique_file_names_only() -> None:
    files = ["01_a/x.py", "02_b/x.py", "03_c/z.py"]
    assert intake.locate(["x.py", "z.py"], files) == {"03_c/z.py": "z.py"}


def test_discover_skips_outputs_and_hidden_entries(tmp_path: Path) -> None:
    (tmp_path / "anna").mkdir()
    (tmp_path / "bo.zip").write_bytes(b"")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "feedback").mkdir()
    uploads = intake.discover(tmp_path, exclude=[tmp_path / "feedback"])
    assert [(u.student, u.problem) for u in uploads] == [("anna", None), ("bo", None)]


def test_a_grader_that_dies_costs_one_row(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    first = curriculum[0]
    solved = (kit.solutions / first.file).read_bytes()
    _write_folder(tmp_path / "subs" / "calm", {first.file: solved})
    _write_folder(tmp_path / "subs" / "doomed", {first.file: solved + b"\n# DOOMED\n"})
    graded: list[bytes] = []

    def fake_grader(folder: Path, only: Sequence[str] | None) -> GradeReport:
        source = (folder / first.file).read_bytes()
        graded.append(source)
        if b"DOOMED" in source:
            raise GradingError("the grading process was killed by SIGKILL")
        return GradeReport(submission=str(folder), exercises=[])

    outcomes = batch.run_batch(
        intake.discover(tmp_path / "subs"),
        curriculum,
        batch.Options(submissions=tmp_path / "subs", jobs=2),
        kit=kit,
        console=Console(file=io.StringIO()),
        grader=fake_grader,
    )
    assert [o.student for o in outcomes] == ["calm", "doomed"]
    assert outcomes[0].report is not None
    assert outcomes[0].error is None
    assert outcomes[1].report is None
    assert "SIGKILL" in (outcomes[1].error or "")
    assert len(graded) == 2


def test_usage_errors(tmp_path: Path) -> None:
    completed = run_grader("batch", str(tmp_path / "missing"))
    assert completed.returncode == 2
    assert "not found" in completed.stdout
    (tmp_path / "empty").mkdir()
    completed = run_grader("batch", str(tmp_path / "empty"))
    assert completed.returncode == 2
    assert "no uploads" in completed.stdout
    completed = run_grader("batch", str(tmp_path), "--only", "no-such-id")
    assert completed.returncode == 2
    assert "unknown exercise id" in completed.stdout


def test_a_link_in_a_zip_is_passed_over_and_named(graded_class: ClassBatch) -> None:
    """A zipped symbolic link is never followed; the rest of the upload is graded, the link named."""
    path = graded_class.out / "feedback" / f"{safe_filename('shannon')}.md"
    feedback = path.read_text(encoding="utf-8")
    assert "symbolic link" in feedback
    assert "not graded" in feedback
