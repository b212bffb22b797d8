"""Feedback as data: the parts grading produces, and what each renderer makes of them.

Whole-line comparisons that wrap and never cut, the differing characters marked, near misses
named; explanations only after a real attempt; Python's warnings named; learner text escaped
for every medium; feedback capped per exercise.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import run_grader

from grader.classroom.grading import report_from_json
from grader.commands.docs_samples import terminal_text
from grader.feedback import html as html_feedback
from grader.feedback import markdown as feedback_md
from grader.feedback import text as feedback_text
from grader.feedback.compare import compare, comparison_lines, near_miss_kinds, plain
from grader.feedback.compose import classify_warnings, skipped_summary, stderr_warnings
from grader.feedback.terminal import print_parts
from grader.grading.predict import is_facts_quiz
from grader.grading.truth import truth_of
from grader.model.curriculum import Exercise
from grader.model.kit import Kit
from grader.model.ordering import Block, score_order
from grader.model.parts import ExerciseFeedback, LearnerText, learner
from grader.model.results import ExerciseResult, GradeReport


def _blocks(lines: list[str]) -> list[Block]:
    return [Block((line,)) for line in lines]


def _layout(predicted: list[str], actual: list[str], width: int = 80) -> str:
    blocks = _blocks(actual)
    return plain(
        comparison_lines(compare(predicted, blocks, score_order(predicted, blocks)), width)
    )


# --- comparisons -------------------------------------------------------------------------------
def test_a_long_line_wraps_whole_and_the_difference_at_its_end_is_marked() -> None:
    right = "a fairly long line that asyncio printed, " * 3 + "the end!"
    wrong = right[:-1] + "?"
    text = _layout([wrong], [right], width=60)
    assert all(len(line) <= 60 for line in text.splitlines())
    joined = "".join(line.strip() for line in text.splitlines())
    for side in (wrong, right):
        assert "".join(side.split()) in "".join(joined.split())
    carets = [line for line in text.splitlines() if line.strip() == "^"]
    assert len(carets) == 2  # one under each side's last character


def test_lines_that_are_right_but_elsewhere_are_not_marked_character_by_character() -> None:
    text = _layout(["task 1", "task 0"], ["task 0", "task 1"])
    assert "^" not in text
    assert ">>" in text


@pytest.mark.parametrize(
    ("yours", "theirs", "kinds"),
    [
        ("goodbye, world", "Goodbye, World!", ("case", "punctuation")),
        ("a  b", "a b", ("spacing",)),
        ("Done", "done", ("case",)),
        ("x: 1", "x: 2", ()),
    ],
)
def test_near_misses_say_what_differs(yours: str, theirs: str, kinds: tuple[str, ...]) -> None:
    assert near_miss_kinds(yours, theirs) == kinds


def test_a_near_miss_gets_a_note_that_lines_must_match_exactly() -> None:
    parts = ExerciseFeedback(
        id="x",
        title="x",
        file="x.py",
        kind="predict",
        status="partial",
        score=1,
        max_score=2,
        summary="",
        attempted=True,
        comparison=compare(["Hello, World"], _blocks(["Hello, World!"]), score_order([], [])),
    )
    assert "lines must match exactly" in " ".join(feedback_text.render(parts).split())


# --- warnings ----------------------------------------------------------------------------------
def test_pythons_warnings_are_named_once_with_why() -> None:
    found = classify_warnings(
        [
            "RuntimeWarning: coroutine 'worker' was never awaited",
            "RuntimeWarning: coroutine 'worker' was never awaited",
            "Task was destroyed but it is pending!",
            "UserWarning: unrelated",
        ]
    )
    assert [warning.kind for warning in found] == ["never-awaited", "destroyed-pending"]
    assert all(warning.why.endswith(".") for warning in found)
    assert isinstance(found[0].text, LearnerText)


def test_asyncios_complaints_are_read_from_stderr_text() -> None:
    stderr = "noise\nTask was destroyed but it is pending!\ntask: <Task pending ...>\n"
    assert stderr_warnings(stderr) == ["Task was destroyed but it is pending!"]


def test_a_skipped_exercise_says_how_to_grade_it_on_a_newer_python() -> None:
    exercise = Exercise("e", "e.py", "E", "predict", 1, (), "h", "w", python=(3, 99))
    text = skipped_summary(exercise)
    assert "needs Python 3.99" in text
    assert "nox -s grade --force-python 3.99 -- --only e" in text


# --- escaping and caps -------------------------------------------------------------------------
HOSTILE = "\x1b[2J\x1b]0;owned\x07[bold red]# Heading ![img](http://x/y.png) <script>x</script>"


def _hostile_parts() -> ExerciseFeedback:
    blocks = _blocks(["fine"])
    return ExerciseFeedback(
        id="x",
        title="x",
        file="x.py",
        kind="produce",
        status="error",
        score=0,
        max_score=1,
        summary="",
        attempted=True,
        message=learner(HOSTILE),
        comparison=compare([HOSTILE], blocks, score_order([HOSTILE], blocks)),
    )


def test_learner_text_reaches_the_terminal_without_escapes_or_markup() -> None:
    text = terminal_text(lambda console: print_parts(_hostile_parts(), console))
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "[bold red]" in text  # shown as the characters it is, never as a style


def test_learner_text_in_markdown_cannot_become_a_heading_image_link_or_html() -> None:
    text = feedback_md.parts_markdown(_hostile_parts())
    # Learner text is either in a fenced block (shown as code, never parsed) or escaped.
    prose = [block for block in text.split("\n\n") if not block.startswith("```")]
    assert not any("<script>" in block or "![img](" in block for block in prose)
    assert all(
        block.rstrip().endswith("```") for block in text.split("\n\n") if "<script>" in block
    )
    assert "\n# Heading" not in text
    assert feedback_md.escape_md("# a\n1. b ![c](d) <e>") == "\\# a  \n1\\. b !\\[c\\](d) &lt;e&gt;"


def test_a_fence_cannot_be_closed_from_inside() -> None:
    block = feedback_md.fenced("```\n# not a heading\n````")
    fence = block.splitlines()[0].removesuffix("text")
    assert len(fence) == 5


def test_learner_text_in_html_is_escaped() -> None:
    result = ExerciseResult("x", "x.py", "produce", "x", 0, 1, "error", "")
    result.details["feedback"] = _hostile_parts().to_json()
    page = html_feedback.render_html(GradeReport("sub", [result]))
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;" in page


def test_feedback_is_capped_per_exercise_with_a_note() -> None:
    flood = learner("\n".join(f"line {n} " + "x" * 60 for n in range(5000)))
    parts = ExerciseFeedback("x", "x", "x.py", "produce", "error", 0, 1, "", message=flood)
    text = feedback_text.render(parts)
    assert len(text) <= feedback_text.LIMIT + 100
    assert re.search(r"\(truncated: \d+ more lines\)$", text)
    markdown = feedback_md.parts_markdown(parts)
    assert len(markdown) <= feedback_text.LIMIT + 200
    assert "truncated" in markdown


def test_parts_survive_the_results_json() -> None:
    parts = _hostile_parts()
    result = ExerciseResult("x", "x.py", "produce", "x", 0, 1, "error", "text")
    result.details["feedback"] = parts.to_json()
    again = json.loads(json.dumps(result.to_json()))
    rebuilt = report_from_json({"exercises": [again]}).exercises[0].parts
    assert rebuilt.comparison == parts.comparison
    assert rebuilt.message == parts.message
    assert isinstance(rebuilt.message, LearnerText)


# --- graded for real ---------------------------------------------------------------------------
def _one_character_off(line: str) -> str:
    return line[:-1] + ("#" if line[-1] != "#" else "%")


@pytest.fixture(scope="module")
def near_misses_graded(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path_factory: pytest.TempPathFactory
) -> tuple[GradeReport, dict[str, str], str]:
    """Every predict exercise answered right but for the last character of its longest line."""
    where = tmp_path_factory.mktemp("longest")
    submission = where / "submission"
    shutil.copytree(kit.solutions, submission)
    changed: dict[str, str] = {}
    for exercise in curriculum:
        if exercise.kind != "predict" or not exercise.supported():
            continue
        path = submission / exercise.file
        source = path.read_text(encoding="utf-8")
        truth = [line for block in truth_of(kit, exercise).blocks for line in block.lines]
        longest = max(truth, key=len)
        if is_facts_quiz(kit, exercise):
            question, _, answer = longest.rpartition(" -> ")
            new = f"    {question!r}: {_one_character_off(answer)!r},"
            pattern = rf"^\s*[\"']{re.escape(question)}[\"']: .*$"
            source = re.sub(pattern, new, source, flags=re.MULTILINE)
            changed[exercise.id] = _one_character_off(answer)
        else:
            head, answer = source.split("\nPREDICTION", 1)  # only the answer, not the docstring
            for quoted in (repr, json.dumps):
                answer = answer.replace(quoted(longest), quoted(_one_character_off(longest)), 1)
            source = head + "\nPREDICTION" + answer
            changed[exercise.id] = _one_character_off(longest)
        path.write_text(source, encoding="utf-8")
    out = where / "results.json"
    completed = run_grader("--submission", str(submission), "--json", str(out))
    assert completed.returncode == 0, completed.stderr
    report = report_from_json(json.loads(out.read_text(encoding="utf-8")))
    return report, changed, completed.stdout


def test_a_one_character_difference_at_the_end_of_the_longest_line_is_visible_in_full(
    near_misses_graded: tuple[GradeReport, dict[str, str], str],
) -> None:
    report, changed, _ = near_misses_graded
    for result in report.exercises:
        if result.id not in changed:
            continue
        assert result.status in {"partial", "failed"}, (result.id, result.feedback)
        wanted = changed[result.id]
        assert wanted in result.feedback, (result.id, result.feedback)  # JSON feedback text
        terminal = terminal_text(lambda console, r=result: print_parts(r.parts, console))
        assert wanted in terminal, (result.id, terminal)
        assert all(len(line) <= 80 for line in terminal.splitlines())
        assert all(len(line) <= 80 for line in result.feedback.splitlines() if "│" not in line)


def _secrets(curriculum: tuple[Exercise, ...]) -> list[tuple[str, str]]:
    found = []
    for exercise in curriculum:
        found.append((exercise.id, exercise.explanation))
        if exercise.strong_hint:
            found.append((exercise.id, exercise.strong_hint))
    return found


def test_untouched_stubs_show_no_explanation_or_strong_hint(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    out = tmp_path / "stubs.json"
    completed = run_grader("--submission", str(kit.exercises), "--json", str(out))
    assert completed.returncode == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    shown = completed.stdout + "".join(e["feedback"] for e in report["exercises"])
    for exercise_id, secret in _secrets(curriculum):
        assert secret not in shown, exercise_id
        assert secret[:60] not in " ".join(shown.split()), exercise_id


def test_syntax_errors_and_malformed_predictions_show_no_explanation(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    submission = tmp_path / "broken"
    shutil.copytree(kit.exercises, submission)
    for number, exercise in enumerate(curriculum):
        path = submission / exercise.file
        source = path.read_text(encoding="utf-8")
        if exercise.kind == "predict" and number % 2:
            source = re.sub(
                r"^PREDICTION(: [^=]+)? = ", "PREDICTION = len(", source, flags=re.MULTILINE
            )
            source = source.replace("PREDICTION = len(", "PREDICTION = sorted([]) or ", 1)
        else:
            source += "\ndef broken(:\n"
        path.write_text(source, encoding="utf-8")
    out = tmp_path / "broken.json"
    completed = run_grader("--submission", str(submission), "--json", str(out))
    assert completed.returncode == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    statuses = {e["status"] for e in report["exercises"]}
    assert statuses <= {"error", "skipped"}, statuses
    shown = completed.stdout + "".join(e["feedback"] for e in report["exercises"])
    for exercise_id, secret in _secrets(curriculum):
        assert secret[:60] not in " ".join(shown.split()), exercise_id


def test_a_pass_shows_the_explanation_briefly(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    first = curriculum[0]
    completed = run_grader(
        "--submission", str(kit.solutions), "--only", first.id, "--json", str(tmp_path / "r.json")
    )
    assert "why it works" in completed.stdout
    brief = first.explanation.split(". ")[0]
    assert " ".join(brief.split()[:6]) in " ".join(completed.stdout.split())
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert first.explanation in " ".join(data["exercises"][0]["feedback"].split())


def test_misconception_texts_are_true_of_eager_programs(curriculum: tuple[Exercise, ...]) -> None:
    from grader.grading.misconceptions import BY_ID, uses_eager_tasks  # noqa: PLC0415

    eager = [exercise for exercise in curriculum if uses_eager_tasks(exercise)]
    assert eager
    at_once = BY_ID["create-task-runs-at-once"]
    assert "only schedules" in at_once.why
    for exercise in eager:
        text = at_once.why_for(exercise)
        assert "only schedules" not in text
        assert "first step" in text or "at once" in text
