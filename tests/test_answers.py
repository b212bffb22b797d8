"""Reading predictions as data: what is accepted, what is refused, and that nothing runs."""

from __future__ import annotations

import pytest

from grader.model.answers import AnswerError, read_prediction


def test_a_list_of_lines_is_read_without_running_the_file(tmp_path) -> None:
    canary = tmp_path / "ran"
    source = f"""
import pathlib
pathlib.Path({str(canary)!r}).write_text("the file ran")
PREDICTION = ["one", "two  "]
""".encode()
    prediction = read_prediction(source, "ex.py")
    assert prediction.lines == ("one", "two")
    assert not canary.exists()


def test_the_last_top_level_assignment_wins_and_annotations_work() -> None:
    source = b'PREDICTION = ["old"]\nPREDICTION: list[str] = ["new"]\n'
    assert read_prediction(source, "ex.py").lines == ("new",)


def test_a_dict_of_facts_reads_as_question_arrow_answer_lines() -> None:
    source = b'PREDICTION = {"is it": True, "count": None, "blank": ...}\n'
    prediction = read_prediction(source, "ex.py")
    assert prediction.lines == ("is it -> True", "count -> None", "blank -> ?")
    assert prediction.unanswered == 1
    assert not prediction.empty


@pytest.mark.parametrize("source", [b"PREDICTION = []\n", b'PREDICTION = {"q": ...}\n'])
def test_blank_answers_count_as_not_started(source: bytes) -> None:
    assert read_prediction(source, "ex.py").empty


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (b"PREDICTION = [\n", "syntax error on line 1"),
        (b"x = 1\n", "no `PREDICTION = ...`"),
        (b"PREDICTION = expected_lines()\n", "must be plain data"),
        (b"PREDICTION = [1, 2]\n", "must be a string"),
        (b"PREDICTION = 'one line'\n", "list of lines or a dict"),
        (b"PREDICTION = [" + b'"x",' * 600 + b"]\n", "more than 500 lines"),
        (b"PREDICTION = " + b"[" * 1000 + b"]" * 1000 + b"\n", "ex.py"),
        (b"# " + b"x" * 300_000, "larger than"),
    ],
    ids=[
        "syntax",
        "missing",
        "code-not-data",
        "not-strings",
        "not-a-list",
        "too-long",
        "too-deep",
        "too-big",
    ],
)
def test_bad_answers_get_a_clear_message(source: bytes, message: str) -> None:
    with pytest.raises(AnswerError, match=message.replace("(", "\\(").replace(")", "\\)")):
        read_prediction(source, "ex.py")


def test_a_prediction_inside_a_function_does_not_count() -> None:
    source = b"def f():\n    PREDICTION = ['hidden']\n"
    with pytest.raises(AnswerError, match="top level"):
        read_prediction(source, "ex.py")
