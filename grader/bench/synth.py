"""A synthetic class for the benchmark: N uploads, deterministic for a seed, as a class hands in.

A class is not N copies of the solutions: wrong predictions make the grader draw timelines and
run the program under each misbelief, broken files stop early, hostile code runs into the
sandbox's limits. So the mix is (for N uploads, rounded): 5 % hostile, 10 % broken, 20 % wrong,
30 % partial and the rest correct, in a seeded order.

- correct: the kit's `solutions/`, file for file;
- partial: the solutions with some exercises (about a third) handed in as the stub or, for a
  prediction, with its lines shuffled, reversed or cut short;
- wrong: every prediction wrong that way, every program to change still the stub;
- broken: about half the files with a syntax error, a program that raises, or a prediction
  written as code instead of data;
- hostile: the solutions, but one program to change calls `os._exit`, loops forever
  (`while True: pass`) or floods its output (each in turn).

Every variant edits the region between the exercise's `# TODO` and `# END TODO` lines (or the
`PREDICTION` literal), so the rest of each file stays the kit's own.
"""

from __future__ import annotations

import ast
import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.model.answers import prediction_node
from grader.model.curriculum import Exercise
from grader.model.kit import Kit

#: The kinds of upload, in the order the tables list them.
KINDS = ("correct", "partial", "wrong", "broken", "hostile")
#: Share of the class for each kind but `correct`, which takes the rest.
SHARES = {"hostile": 0.05, "broken": 0.10, "wrong": 0.20, "partial": 0.30}
#: What a hostile upload does, in turn: exit the interpreter, spin forever, flood stdout.
HOSTILE = ("exit", "loop", "flood")

_PARTIAL_BAD = 0.35
_BROKEN_BAD = 0.5
_STUB_INSTEAD_OF_WRONG = 0.3

_HOSTILE_CODE = {
    "exit": ["import os", "os._exit(3)"],
    "loop": ["while True:", "    pass"],
    "flood": ["for _ in range(10_000_000):", '    print("flood " * 20)'],
}


class SynthError(RuntimeError):
    """A kit file does not have the shape the generator edits (one TODO region, PREDICTION)."""


@dataclass(frozen=True)
class Synthetic:
    """One generated upload: its student id, kind, what was done to it, and its folder."""

    student: str
    kind: str
    detail: str
    path: Path

    def to_json(self) -> dict[str, str]:
        """For the manifest."""
        return {"student": self.student, "kind": self.kind, "detail": self.detail}


def class_mix(n: int) -> dict[str, int]:
    """How many uploads of each kind a class of `n` holds (rounded half up; correct: the rest)."""
    counts = {kind: int(n * share + 0.5) for kind, share in SHARES.items()}
    while sum(counts.values()) > n:  # tiny classes: give up the rarest kinds first
        kind = next(kind for kind in ("hostile", "broken", "wrong", "partial") if counts[kind])
        counts[kind] -= 1
    counts["correct"] = n - sum(counts.values())
    return {kind: counts[kind] for kind in KINDS}


def generate_class(
    kit: Kit, exercises: Sequence[Exercise], n: int, dest: Path, seed: int
) -> list[Synthetic]:
    """Write `n` uploads into `dest` (one folder per student) and describe them."""
    kinds = [kind for kind, count in class_mix(n).items() for _ in range(count)]
    # Seeded on purpose: the same class for the same seed, run after run (not for secrecy).
    random.Random(f"{seed}:{n}:order").shuffle(kinds)  # noqa: S311
    made: list[Synthetic] = []
    hostile_seen = 0
    width = max(3, len(str(n)))
    for index, kind in enumerate(kinds):
        rng = random.Random(f"{seed}:{n}:{index}")  # noqa: S311 - reproducible, as above
        hostility = HOSTILE[hostile_seen % len(HOSTILE)]
        if kind == "hostile":
            hostile_seen += 1
        student = f"s{index + 1:0{width}d}"
        made.append(
            generate_one(kit, exercises, kind, dest / student, rng=rng, hostility=hostility)
        )
    return made


def generate_one(
    kit: Kit,
    exercises: Sequence[Exercise],
    kind: str,
    folder: Path,
    *,
    rng: random.Random,
    hostility: str = "exit",
) -> Synthetic:
    """Write one upload of `kind` into `folder` (laid out like `exercises/`)."""
    if kind not in KINDS:
        msg = f"unknown kind {kind!r}; one of {', '.join(KINDS)}"
        raise ValueError(msg)
    if folder.exists():
        shutil.rmtree(folder)
    sources: dict[str, bytes] = {}
    notes: list[str] = []
    produce = [exercise for exercise in exercises if exercise.kind == "produce"]
    target = rng.choice(produce) if kind == "hostile" and produce else None
    bad = _pick(exercises, rng, kind)
    for exercise in exercises:
        solution = (kit.solutions / exercise.file).read_bytes()
        stub = (kit.exercises / exercise.file).read_bytes()
        source, note = solution, ""
        if exercise is target:
            source, note = hostile(solution, hostility), hostility
        elif exercise.id in bad:
            source, note = _spoil(kind, exercise, solution, stub, rng)
        if note:
            notes.append(f"{exercise.id}: {note}")
        sources[exercise.file] = source
    for relative, source in sources.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(source)
    return Synthetic(folder.name, kind, "; ".join(notes), folder)


def _pick(exercises: Sequence[Exercise], rng: random.Random, kind: str) -> set[str]:
    """The exercises an upload of `kind` gets wrong (partial, broken: at least one, not all)."""
    ids = [exercise.id for exercise in exercises]
    if kind in {"correct", "hostile"} or not ids:
        return set()
    if kind == "wrong":
        return set(ids)
    share = _PARTIAL_BAD if kind == "partial" else _BROKEN_BAD
    bad = {exercise_id for exercise_id in ids if rng.random() < share}
    if not bad:
        bad.add(rng.choice(ids))
    if len(bad) == len(ids) and len(ids) > 1:
        bad.discard(rng.choice(ids))
    return bad


def _spoil(
    kind: str, exercise: Exercise, solution: bytes, stub: bytes, rng: random.Random
) -> tuple[bytes, str]:
    """The spoiled file for one exercise of a partial, wrong or broken upload, and a note."""
    predict = exercise.kind == "predict"
    if kind == "broken":
        how = rng.choice(("syntax", "code") if predict else ("syntax", "raises"))
        if how == "syntax":
            return replace_todo(solution, ["def broken(:  # a syntax error on purpose"]), how
        if how == "code":
            return replace_todo(solution, ['PREDICTION = sorted(["b", "a"])']), "prediction is code"
        return replace_todo(solution, ['raise RuntimeError("broken on purpose")']), how
    if predict and (kind == "wrong" or rng.random() >= _STUB_INSTEAD_OF_WRONG):
        return wrong_prediction(solution, rng)
    return stub, "stub"


def todo_region(source: bytes) -> tuple[int, int, bytes]:
    """The TODO region: index of the `# TODO` line, of the `# END TODO` line, and its indent."""
    lines = source.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.lstrip().startswith(b"# TODO")]
    ends = [i for i, line in enumerate(lines) if line.lstrip().startswith(b"# END TODO")]
    if len(starts) != 1 or len(ends) != 1 or ends[0] <= starts[0]:
        msg = "expected exactly one # TODO ... # END TODO region"
        raise SynthError(msg)
    line = lines[starts[0]]
    indent = line[: len(line) - len(line.lstrip())]
    return starts[0], ends[0], indent


def replace_todo(source: bytes, body: Sequence[str]) -> bytes:
    """`source` with the lines between its TODO markers replaced by `body` (at their indent)."""
    start, end, indent = todo_region(source)
    lines = source.splitlines(keepends=True)
    new = [indent + text.encode() + b"\n" for text in body]
    return b"".join([*lines[: start + 1], *new, *lines[end:]])


def hostile(source: bytes, how: str) -> bytes:
    """`source` whose TODO region exits, loops forever or floods stdout (see HOSTILE)."""
    return replace_todo(source, _HOSTILE_CODE[how])


def wrong_prediction(source: bytes, rng: random.Random) -> tuple[bytes, str]:
    """`source` with its PREDICTION literal made wrong in a seeded way, and what was done."""
    node = _prediction_node(source)
    value = ast.literal_eval(node)
    how, wrong = _wrong_value(value, rng)
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    assert node.end_lineno is not None  # ast sets it for parsed source
    assert node.end_col_offset is not None
    begin = offsets[node.lineno - 1] + node.col_offset
    end = offsets[node.end_lineno - 1] + node.end_col_offset
    return source[:begin] + repr(wrong).encode() + source[end:], how


def _prediction_node(source: bytes) -> ast.expr:
    node = prediction_node(ast.parse(source))
    if node is None:
        msg = "no PREDICTION assignment"
        raise SynthError(msg)
    return node


def _wrong_value(value: Any, rng: random.Random) -> tuple[str, Any]:
    """A wrong prediction close to `value`: the kind of mistake a learner makes."""
    if isinstance(value, dict):
        keys = list(value)
        flip = {key for key in keys if rng.random() < 0.5}  # noqa: PLR2004 - half of the facts
        if not flip and keys:
            flip = {rng.choice(keys)}
        facts = {key: _flipped(val) if key in flip else val for key, val in value.items()}
        return f"{len(flip)} facts flipped", facts
    lines = list(value)
    if len(lines) < 2:  # noqa: PLR2004 - nothing to reorder
        return "wrong line", [*lines, "a line asyncio never prints"]
    how = rng.choice(("shuffled", "reversed", "cut short", "two lines swapped"))
    if how == "shuffled":
        wrong = lines[:]
        rng.shuffle(wrong)
    elif how == "reversed":
        wrong = lines[::-1]
    elif how == "cut short":
        wrong = lines[: rng.randrange(1, len(lines))]
    else:
        at = rng.randrange(len(lines) - 1)
        wrong = [*lines[:at], lines[at + 1], lines[at], *lines[at + 2 :]]
    if wrong == lines:  # a shuffle (or a swap of equal lines) can give the same order back
        how, wrong = "cut short", lines[:-1]
    return how, wrong


def _flipped(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    return f"not {value}"
