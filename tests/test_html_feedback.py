"""The HTML feedback page: self-contained, escaped, with SVG timelines a person can see."""

from __future__ import annotations

import ast
import json
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.classroom.grading import report_from_json
from grader.feedback import html as html_feedback
from grader.feedback import timeline
from grader.feedback.svg import to_svg
from grader.model.curriculum import Exercise
from grader.model.kit import Kit
from grader.model.results import GradeReport

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "<script>alert('x')</script> & <b>bold</b>"


F1_THEN_F2 = [
    "Running f1",
    "Running from f1: 0",
    "Running from f1: 1",
    "Running from f1: 2",
    "Running f2",
    "Running from f2: 0",
    "Running from f2: 1",
    "Running from f2: 2",
]


def _interleave(kit: Kit, curriculum: tuple[Exercise, ...]) -> Exercise:
    """The article's count_numbers exercise (found by its program: ids may change)."""
    for exercise in curriculum:
        source = (kit.solutions / exercise.file).read_text(encoding="utf-8")
        if (
            exercise.kind == "predict"
            and 'asyncio.create_task(count_numbers("f2", 3))' in source
            and "await asyncio.sleep(0.5)" in source
            and "eager" not in source
        ):
            return exercise
    pytest.skip("the curriculum has no count_numbers exercise yet")


def _prediction_node(source: str) -> ast.AnnAssign | ast.Assign:
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            target: ast.expr = node.target
        elif isinstance(node, ast.Assign):
            target = node.targets[0]
        else:
            continue
        if ast.unparse(target) == "PREDICTION":
            return node
    raise AssertionError("no PREDICTION")


def _answer(kit: Kit, exercise: Exercise) -> object:
    node = _prediction_node((kit.solutions / exercise.file).read_text(encoding="utf-8"))
    assert node.value is not None
    return ast.literal_eval(node.value)


def _predict(path: Path, lines: list[str]) -> list[str]:
    """Write `lines` as the file's prediction; return the solved one it had."""
    source = path.read_text(encoding="utf-8")
    node = _prediction_node(source)
    assert node.value is not None
    before = ast.literal_eval(node.value)
    rows = source.splitlines(keepends=True)
    rows[node.lineno - 1 : node.end_lineno] = [f"PREDICTION = {lines!r}\n"]
    path.write_text("".join(rows), encoding="utf-8")
    return list(before)


@pytest.fixture(scope="module")
def report(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path_factory: pytest.TempPathFactory
) -> GradeReport:
    """A submission graded for real: count_numbers predicted wrong, one hostile line elsewhere."""
    exercise = _interleave(kit, curriculum)
    where = tmp_path_factory.mktemp("html")
    submission = where / "submission"
    shutil.copytree(kit.solutions, submission)
    _predict(submission / exercise.file, F1_THEN_F2)
    other = next(
        e
        for e in curriculum
        if e.kind == "predict" and e.id != exercise.id and isinstance(_answer(kit, e), list)
    )
    right = _predict(submission / other.file, [])
    _predict(submission / other.file, [*right, HOSTILE])
    out = where / "results.json"
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "grader", "--submission", str(submission)),
            *("--json", str(out), "--only", exercise.id, other.id, curriculum[0].id),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return report_from_json(json.loads(out.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def page(report: GradeReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("page") / "student.html"
    return html_feedback.write_html(report, path, student="alice <img src=x onerror=alert(1)>")


class _Tags(HTMLParser):
    """Every tag and attribute of a page, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_page_needs_no_network_and_runs_no_script(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    parser = _Tags()
    parser.feed(text)
    names = {tag for tag, _ in parser.tags}
    assert {"style", "svg", "table"} <= names
    assert not names & {"script", "link", "img", "iframe", "object", "embed"}
    for tag, attrs in parser.tags:
        assert "src" not in attrs, tag
        assert not any(name.startswith("on") for name in attrs), tag
        assert (attrs.get("href") or "#").startswith("#"), tag
    style = text.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "url(" not in style
    assert "@import" not in style


def test_everything_from_the_submission_is_escaped(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert "alice &lt;img src=x onerror=alert(1)&gt;" in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "<b>bold</b>" not in text


def test_a_wrong_prediction_gets_both_timelines_as_svg(page: Path, report: GradeReport) -> None:
    text = page.read_text(encoding="utf-8")
    wrong = next(e for e in report.exercises if e.status != "passed")
    assert f'id="{wrong.id}"' in text
    wrong_count = sum(e.status != "passed" for e in report.exercises)
    assert wrong_count == 2
    assert text.count("<svg") == 2 * wrong_count  # a passed exercise gets none
    assert ">count_numbers</text>" in text  # the lane of f2's task
    assert "Your prediction" in text
    assert "What asyncio ran" in text
    assert wrong.details.get("timeline_text")
    # The text pictures are not repeated in the feedback text under the SVG ones.
    section = text.split(f'id="{wrong.id}"', 1)[1].split("</section>")[0]
    feedback = section.split('<pre class="feedback">', 1)[1]
    assert "What asyncio ran" not in feedback
    assert "lines in the right order" in feedback


def test_svg_escapes_lane_labels_and_lines() -> None:
    row = timeline.Row(0, "print", "<tag> & more", 0, 1, timeline.MOVED, ())
    picture = timeline.Timeline("t <x>", ("<lane>",), (row,), timed=True)
    svg = to_svg(picture)
    assert "<tag>" not in svg
    assert "<lane>" not in svg
    assert "&lt;tag&gt; &amp; more" in svg
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")


def test_a_student_without_a_grade_gets_a_page_saying_why(tmp_path: Path) -> None:
    @dataclass
    class Outcome:
        student: str
        report: GradeReport | None
        error: str | None

    path = html_feedback.write_student_html(
        Outcome("bob", None, "the upload is an empty zip <oops>"), tmp_path / "bob.html"
    )
    text = path.read_text(encoding="utf-8")
    assert "Not graded: the upload is an empty zip &lt;oops&gt;" in text


# --- what a person sees in a browser -------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG into rows of pixels (enough for a screenshot)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8
    assert color in {2, 6}
    step = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * step
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - step] if x >= step else 0
            up = previous[x]
            corner = previous[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                nearest = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[x] = (line[x] + nearest) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, step, rows


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt install chromium)")
def test_chromium_shows_the_score_the_lanes_and_a_picture(
    page: Path, report: GradeReport, tmp_path: Path
) -> None:
    assert CHROMIUM is not None
    url = page.resolve().as_uri()
    dom = subprocess.run(
        [CHROMIUM, *_FLAGS, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    assert f"{report.score:g} / {report.max_score:g}" in dom
    assert "count_numbers" in dom
    assert "main" in dom
    assert "Misconception" in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        [CHROMIUM, *_FLAGS, f"--screenshot={shot}", "--window-size=800,600", url],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file(), "Chromium wrote no screenshot"
    width, step, rows = _png_pixels(shot.read_bytes())
    pixels = {row[x : x + 3] for row in rows[::4] for x in range(0, width * step, step * 4)}
    dark = sum(
        1
        for row in rows[::4]
        for x in range(0, width * step, step * 4)
        if max(row[x : x + 3]) < 100
    )
    assert len(pixels) > 10  # text, badges and tints, not one flat colour
    assert dark > 200  # enough dark pixels to be text a person can read


def test_batch_grading_writes_a_page_per_student(kit: Kit, tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    shutil.copytree(kit.solutions, uploads / "alice")
    feedback = tmp_path / "feedback"
    completed = subprocess.run(
        [sys.executable, "-m", "grader", "batch", str(uploads), "--feedback", str(feedback)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    page = (feedback / "alice.html").read_text(encoding="utf-8")
    assert "feedback for alice" in page
    assert (feedback / "alice.md").is_file()
