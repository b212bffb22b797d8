r"""Reads a learner's prediction from their file as data, without running a line of it.

A *predict* exercise's answer is the `PREDICTION` literal in the learner's module. Running the
module to read it would let the file rewrite the snippet, patch the grader or print the answer,
so the grader parses the file and evaluates only that one literal (`ast.literal_eval`): a list of
printed lines, or a mapping of facts (`{"question": answer}`) that reads as `question -> answer`
lines, where `...` marks a blank not yet filled in. A lone surrogate in a line (`"\ud800"`)
becomes U+FFFD here, where the prediction enters the grader (`model.text.readable`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from grader.model.text import readable

MAX_SOURCE_BYTES = 256 * 1024
MAX_LINES = 500
NAME = "PREDICTION"


class AnswerError(ValueError):
    """The file or its answer cannot be read; the message says why, for the learner."""


@dataclass(frozen=True)
class Prediction:
    """A learner's answer as lines, and whether they wrote anything at all."""

    lines: tuple[str, ...]
    unanswered: int = 0

    @property
    def empty(self) -> bool:
        """True if the learner has not started (no line, or every fact still `...`)."""
        return not self.lines or self.unanswered == len(self.lines)


def render_fact(question: str, answer: object) -> str:
    """How a fact reads as a line: the snippet prints the same `question -> answer`.

    `...` is the blank a stub leaves for the learner to fill in.
    """
    return f"{question} -> {'?' if answer is Ellipsis else answer}"


def parse_source(source: bytes, filename: str) -> ast.Module:
    """Parse learner source; raise AnswerError with the line for a syntax error."""
    if len(source) > MAX_SOURCE_BYTES:
        msg = f"{filename} is larger than {MAX_SOURCE_BYTES // 1024} KiB"
        raise AnswerError(msg)
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as exc:
        msg = f"{filename} has a syntax error on line {exc.lineno}: {exc.msg}"
        raise AnswerError(msg) from exc
    except (ValueError, RecursionError, MemoryError) as exc:
        msg = f"{filename} cannot be parsed: {type(exc).__name__}"
        raise AnswerError(msg) from exc


def _literal(node: ast.expr, filename: str) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as exc:
        msg = (
            f"{NAME} on line {node.lineno} of {filename} must be plain data (strings in a list, "
            "or a dict of answers); it cannot use names, calls or expressions"
        )
        raise AnswerError(msg) from exc


def prediction_node(tree: ast.Module) -> ast.expr | None:
    """The value of the last top-level `PREDICTION = ...` (or `PREDICTION: T = ...`), if any.

    The one place that decides which assignment is the answer: the grader reads it, and the
    benchmark's generator rewrites it.
    """
    value_node: ast.expr | None = None
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and any(
                isinstance(target, ast.Name) and target.id == NAME for target in statement.targets
            )
        ) or (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.target.id == NAME
            and statement.value is not None
        ):
            value_node = statement.value
    return value_node


def read_prediction(source: bytes, filename: str) -> Prediction:
    """Find the last top-level `PREDICTION = ...` and return it as lines."""
    value_node = prediction_node(parse_source(source, filename))
    if value_node is None:
        msg = f"{filename} has no `{NAME} = ...` at the top level"
        raise AnswerError(msg)
    value = _literal(value_node, filename)
    return _as_prediction(value, filename)


def _as_prediction(value: object, filename: str) -> Prediction:
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_LINES:
            msg = f"{NAME} in {filename} has more than {MAX_LINES} lines"
            raise AnswerError(msg)
        bad = [item for item in value if not isinstance(item, str)]
        if bad:
            msg = f"every line of {NAME} in {filename} must be a string; found {bad[0]!r}"
            raise AnswerError(msg)
        return Prediction(tuple(readable(str(item)).rstrip() for item in value))
    if isinstance(value, dict):
        if len(value) > MAX_LINES:
            msg = f"{NAME} in {filename} has more than {MAX_LINES} answers"
            raise AnswerError(msg)
        lines = tuple(readable(render_fact(str(key), answer)) for key, answer in value.items())
        unanswered = sum(1 for answer in value.values() if answer is Ellipsis)
        return Prediction(lines, unanswered)
    msg = f"{NAME} in {filename} must be a list of lines or a dict of answers"
    raise AnswerError(msg)
