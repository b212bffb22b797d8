"""Learner text at its edges: lone surrogates, Markdown-active names, messages at the caps.

Three attacks of the second adversarial suite (`tests/hostile2/`), each pinned down where the
fix lives, so a regression shows here in seconds rather than in the slow suite:

- lone UTF-16 surrogates (`"\\ud800"`) in a prediction, a printed line, an exception message or
  an upload's name become U+FFFD (names: `\\xff` escapes) where the text enters the grader, so
  every output can be written and shows where they were;
- a student name holding Markdown (`# Total`, `![img](x)`, `<img>`, a bare URL) is escaped, and
  no heading carries it;
- a failing check's message that quotes a huge returned value is capped once, with a
  "(truncated: ...)" note that every output (terminal, JSON feedback, Markdown, HTML, JUnit,
  GitHub Classroom, Gradescope) shows.

The learner-facing text is compared with golden files (`tests/golden/`, `UPDATE_GOLDEN=1`
rewrites them).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import run_grader

from grader.classroom import github_classroom, gradebook, gradescope, intake
from grader.classroom.grading import Outcome, report_from_json
from grader.commands.docs_samples import terminal_text
from grader.feedback import html as html_feedback
from grader.feedback import junit
from grader.feedback import markdown as feedback_md
from grader.feedback import text as feedback_text
from grader.feedback.compose import compose
from grader.feedback.terminal import print_parts, print_report
from grader.model.answers import read_prediction
from grader.model.curriculum import Exercise
from grader.model.kit import Kit
from grader.model.results import ExerciseResult, GradeReport, ItemResult
from grader.model.text import REPLACEMENT, clean, os_name, readable
from grader.sandbox import protocol

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
SURROGATES = HERE / "hostile2" / "edge-lone-surrogates" / "files"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} changed; if that is meant, rerun with UPDATE_GOLDEN=1 and review the diff"
    )


def _no_surrogate(text: str) -> None:
    text.encode("utf-8")  # raises on a lone surrogate
    assert not re.search("[\ud800-\udfff]", text)


# --- lone surrogates ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\ud800 lone", f"{REPLACEMENT} lone"),
        ("a\udfffb\udc80", f"a{REPLACEMENT}b{REPLACEMENT}"),
        ("pair \U0001f600 kept", "pair \U0001f600 kept"),
        ("plain", "plain"),
    ],
)
def test_readable_and_clean_replace_lone_surrogates_only(raw: str, shown: str) -> None:
    assert readable(raw) == shown
    assert clean(raw) == shown


def test_os_names_keep_bad_bytes_apart_and_visible() -> None:
    one, two = os.fsdecode(b"stu\xffa"), os.fsdecode(b"stu\xfea")
    assert os_name(one) == "stu\\xffa"
    assert os_name(one) != os_name(two)
    assert os_name("\ud800x") == f"{REPLACEMENT}x"
    assert os_name("Zoë") == "Zoë"


def _child_result(**extra: Any) -> bytes:
    data = {
        "protocol": 1,
        "status": "error",
        "error": {
            "kind": "raised",
            "type": "ValueError",
            "message": "\udfff in a message",
            "frames": [{"line": 3, "function": "ma\ud800in", "code": "raise \udc00"}],
        },
        "trace": {
            "lines": [{"text": "\ud800 printed", "t_ns": 0, "task": "T\udbff", "phase": "run"}],
            "tasks": [{"label": "T\udbff", "created_ns": 0, "done_ns": None, "outcome": "x"}],
            "events": [{"kind": "print", "t_ns": 0, "task": "T\udbff"}],
            "end_ns": 1,
        },
        "helpers": {"k\ud800ey": ["v\udfff"]},
        "warnings": ["w\ud800"],
        "flooded": False,
        "return": {"deep": [[["\udfff"]]], "k\udc00": 1, "pair": "\U0001f600"},
        **extra,
    }
    return json.dumps(data).encode("ascii")  # `\udXXX` escapes, as the child sends them


def test_protocol_leaves_no_lone_surrogate_anywhere_in_a_child_result() -> None:
    result = protocol.parse_result(_child_result(), max_bytes=1 << 20)
    _no_surrogate(json.dumps(result, ensure_ascii=False))
    assert result["trace"]["lines"][0]["text"] == f"{REPLACEMENT} printed"
    assert result["error"] is not None
    assert result["error"]["message"] == f"{REPLACEMENT} in a message"
    assert result["return"] == {
        "deep": [[[REPLACEMENT]]],
        f"k{REPLACEMENT}": 1,
        "pair": "\U0001f600",
    }
    # Labels are cleaned alike everywhere, so the same task still matches.
    assert result["trace"]["tasks"][0]["label"] == result["trace"]["lines"][0]["task"]


def test_prediction_lines_and_facts_lose_lone_surrogates() -> None:
    lines = read_prediction(b'PREDICTION = ["\\ud800 lone", "ok"]\n', "x.py")
    assert lines.lines == (f"{REPLACEMENT} lone", "ok")
    facts = read_prediction(b'PREDICTION = {"q\\udfff": "a\\ud800", "r": ...}\n', "x.py")
    assert facts.lines == (f"q{REPLACEMENT} -> a{REPLACEMENT}", "r -> ?")


@pytest.mark.skipif(sys.platform != "linux", reason="a file name that is not UTF-8 needs Linux")
def test_batch_intake_makes_a_non_utf8_folder_name_writable(tmp_path: Path) -> None:
    folder = tmp_path / os.fsdecode(b"stu\xff\xfedent")
    folder.mkdir()
    (uploads,) = [intake.discover(tmp_path)]
    assert [upload.student for upload in uploads] == ["stu\\xff\\xfedent"]
    assert uploads[0].path == folder  # still read from where it is


@pytest.fixture(scope="module")
def surrogate_report(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> GradeReport:
    """The hostile suite's surrogate submission, graded for real through the CLI."""
    where = tmp_path_factory.mktemp("surrogates")
    submission = where / "submission"
    shutil.copytree(kit.exercises, submission)
    shutil.copytree(SURROGATES, submission, dirs_exist_ok=True)
    out = where / "results.json"
    ids = ("tasks-await", "sleep0-take-turns")
    completed = run_grader("--submission", str(submission), "--json", str(out), "--only", *ids)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "Traceback" not in completed.stdout + completed.stderr
    raw = out.read_text(encoding="utf-8")
    _no_surrogate(raw)
    return report_from_json(json.loads(raw))


def _outputs(report: GradeReport, curriculum: tuple[Exercise, ...]) -> dict[str, str]:
    outcome = Outcome(student="s\ud800", upload="up", report=report)
    outcome.student = os_name(outcome.student)
    junit_xml = junit.junit_tree(report)
    return {
        "terminal": terminal_text(lambda console: print_report(report, console, verbose=True)),
        "text": "\n".join(result.feedback for result in report.exercises),
        "markdown": feedback_md.student_markdown(outcome),
        "html": html_feedback.render_html(report, student=outcome.student),
        "junit": junit.ET.tostring(junit_xml.getroot(), encoding="unicode"),
        "github": json.dumps(github_classroom.detailed_json(report, 72), ensure_ascii=False),
        "gradescope": json.dumps(
            gradescope.results_json(report, curriculum, visibility={}), ensure_ascii=False
        ),
        "csv": _csv(outcome, curriculum),
        "summary": gradebook.summary_markdown([outcome], curriculum),
    }


def _csv(outcome: Outcome, curriculum: tuple[Exercise, ...]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(gradebook.csv_rows([outcome], curriculum))
    return out.getvalue()


def test_surrogates_reach_every_output_as_replacement_characters(
    surrogate_report: GradeReport, curriculum: tuple[Exercise, ...]
) -> None:
    outputs = _outputs(surrogate_report, curriculum)
    for name, text in outputs.items():
        _no_surrogate(text)
        if name not in {"csv", "summary"}:
            assert REPLACEMENT in text, name
    results = {result.id: result for result in surrogate_report.exercises}
    # The solved neighbour lines still count: 1 of 2 lines in order, not an internal error.
    assert results["tasks-await"].status == "partial"
    assert "ValueError: \ufffd in a message" in results["sleep0-take-turns"].feedback


def test_surrogate_feedback_matches_its_golden_file(surrogate_report: GradeReport) -> None:
    texts = [
        terminal_text(lambda console, r=result: print_parts(r.parts, console))
        for result in surrogate_report.exercises
        if result.id in {"tasks-await", "sleep0-take-turns"}
    ]
    _golden("lone-surrogates.txt", "\n---\n".join(texts) + "\n")


# --- Markdown-active names ------------------------------------------------------------------
HOSTILE_NAME = "<img src=x onerror=alert(1)> ![pwn](x.png) # Total `x` https://evil.example"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a # Total", "a \\# Total"),
        ("# Total", "\\# Total"),
        ("see https://evil.example/x", "see https\\://evil.example/x"),
        ("www.evil.example", "www\\.evil.example"),
        ("awww.fine", "awww.fine"),
        ("![i](x.png)", "!\\[i\\](x.png)"),
    ],
)
def test_escape_md_escapes_hash_and_bare_links(raw: str, escaped: str) -> None:
    assert feedback_md.escape_md(raw) == escaped


def test_no_heading_carries_a_student_name(tmp_path: Path) -> None:
    outcome = Outcome(
        student=HOSTILE_NAME,
        upload=str(tmp_path / "# Total ![u](u.png).zip"),
        error="the upload `# Total ![u](u.png).zip` is not a zip",
        name="# 100 / 100 points",
    )
    text = feedback_md.student_markdown(outcome)
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == ["# Feedback"]
    body = text.replace("# Feedback\n", "", 1)
    # Every bracket, backtick and hash escaped, no raw tag, no URL GitHub would link.
    for pattern in (r"(?<!\\)[\[\]`#]", r"<img", r"https?://"):
        assert not re.search(pattern, body), (pattern, text)
    _golden("markdown-hostile-name.md", text)


def test_summary_escapes_ungraded_uploads(curriculum: tuple[Exercise, ...]) -> None:
    outcome = Outcome(student="`a` # Total ![p](x.png)", upload="u", error="bad <b>`zip`</b>")
    text = gradebook.summary_markdown([outcome], curriculum)
    line = next(
        line for line in text.splitlines() if "could not be" not in line and "Total" in line
    )
    assert line == "- \\`a\\` \\# Total !\\[p\\](x.png): bad &lt;b&gt;\\`zip\\`&lt;/b&gt;"


# --- messages at the caps -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "limit", "capped"),
    [
        ("x" * 20, 10, "x" * 10 + "\n(truncated: 10 more characters of this line)"),
        (
            "x" * 20 + "\na\nb",
            10,
            "x" * 10 + "\n(truncated: 10 more characters of this line and 2 more lines)",
        ),
        ("ab\n" + "x" * 20 + "\nc\nd", 10, "ab\n(truncated: 3 more lines)"),
        ("ab\n" + "x" * 20 + "\nc\nd\n", 10, "ab\n(truncated: 3 more lines)"),
        ("short", 10, "short"),
    ],
)
def test_cap_notes_what_it_left_out(text: str, limit: int, capped: str) -> None:
    assert feedback_text.cap(text, limit) == capped
    assert feedback_text.cap(capped, limit) == capped  # capping twice adds no second note


def _huge_failure(exercise: Exercise) -> ExerciseResult:
    value = "[" + ", ".join(["0"] * 90_000) + "]"
    message = f"main() should return [42, 42, 42], but it returned {value}"
    items = [ItemResult("test_x", 1.0, 0.0, "failed", message)]
    parts = compose(
        exercise, "failed", items, {}, score=0.0, max_score=exercise.points, attempted=True
    )
    return ExerciseResult(
        id=exercise.id,
        file=exercise.file,
        kind=exercise.kind,
        title=exercise.title,
        status="failed",
        score=0.0,
        max_score=float(exercise.points),
        items=items,
        feedback=feedback_text.render(parts),
        details={"feedback": parts.to_json()},
    )


def test_a_huge_message_is_capped_with_a_note_in_every_output(
    curriculum: tuple[Exercise, ...],
) -> None:
    exercise = next(e for e in curriculum if e.id == "shared-result-once")
    result = _huge_failure(exercise)
    assert result.parts.message is not None
    assert len(result.parts.message) < feedback_text.MESSAGE_LIMIT + 100
    report = GradeReport("submission", [result])
    for name, text in _outputs(report, curriculum).items():
        if name in {"csv", "summary"}:
            continue
        assert len(text.encode()) < 64 * 1024, name
        assert "truncated: " in text, name
        assert "Hint:" in text or "Hint" in text, name  # what follows the message survives
    # As the terminal draws it at 80 columns (golden lines fit 80 columns).
    shown = terminal_text(lambda console: print_parts(result.parts, console))
    _golden("capped-message.txt", shown + "\n")
