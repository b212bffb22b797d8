"""Sample output in the README and docs/, made by the grader itself so it cannot go stale.

A sample sits in a Markdown file between `<!-- sample: NAME -->` and `<!-- end sample -->`;
`python -m grader.commands.docs_samples` rewrites every such block from what the grader prints
now, and `--check` (run by the kit's tests) fails when one differs. The samples come from
`docs/demo.py`, a program that is not an exercise, so no sample shows an exercise's answer.

    python -m grader.commands.docs_samples [--check]
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from grader.feedback.compare import compare, order_summary
from grader.feedback.terminal import print_parts
from grader.model.answers import read_prediction
from grader.model.kit import Kit
from grader.model.ordering import score_order
from grader.model.parts import ExerciseFeedback, TimelineInput, learner
from grader.sandbox.runs import execute

WIDTH = 80
DEMO = "docs/demo.py"
_BLOCK = re.compile(
    r"(<!-- sample: (?P<name>[a-z0-9-]+) -->\n)```text\n(?:.*?\n)?```\n(<!-- end sample -->)",
    re.DOTALL,
)
DEMO_HINT = "When does a task's first step run: at `create_task`, or when `main` first gives way?"
DEMO_WHY = (
    "`create_task` puts the pasta's first step on the ready queue; it runs as soon as `main` "
    "gives way, here at the sauce's sleep - not when something awaits it."
)


def demo_parts(kit: Kit) -> ExerciseFeedback:
    """The demo program graded against its (wrong) `PREDICTION`, as feedback parts."""
    path = kit.root / DEMO
    source = path.read_bytes()
    prediction = list(read_prediction(source, DEMO).lines)
    run = execute(source, "demo.py")
    blocks = run.blocks
    score = score_order(prediction, blocks)
    return ExerciseFeedback(
        id="demo",
        title="The demo: pasta and sauce",
        file=DEMO,
        kind="predict",
        status="partial",
        score=round(3 * score.fraction, 2),
        max_score=3.0,
        summary=order_summary(score),
        attempted=True,
        comparison=compare(prediction, blocks, score),
        timeline=TimelineInput(tuple(learner(line) for line in prediction), run.trace),
        hint=DEMO_HINT,
        explanation=DEMO_WHY,
    )


def terminal_text(draw: Callable[[Console], None], width: int = WIDTH) -> str:
    """What `draw` prints on a terminal `width` columns wide, as plain text."""
    console = Console(
        width=width, file=io.StringIO(), record=True, color_system=None, highlight=False
    )
    draw(console)
    text = console.export_text(styles=False)
    return "\n".join(line.rstrip() for line in text.splitlines())


def samples(kit: Kit) -> dict[str, str]:
    """Every named sample, as the grader prints it now."""
    parts = demo_parts(kit)
    return {"demo-feedback": terminal_text(lambda console: print_parts(parts, console))}


def refresh(text: str, found: dict[str, str]) -> str:
    """`text` with every sample block replaced by its current output."""

    def block(match: re.Match[str]) -> str:
        body = found.get(match.group("name"))
        if body is None:
            return match.group(0)
        return f"{match.group(1)}```text\n{body}\n```\n{match.group(3)}"

    return _BLOCK.sub(block, text)


def documents(kit: Kit) -> list[Path]:
    """The Markdown files that may hold samples."""
    return [kit.root / "README.md", *sorted((kit.root / "docs").glob("*.md"))]


def names_in(text: str) -> list[str]:
    """The sample blocks a document holds, by name."""
    return [match.group("name") for match in _BLOCK.finditer(text)]


def stale(kit: Kit) -> list[Path]:
    """The documents whose samples differ from what the grader prints now."""
    found = samples(kit)
    return [
        path
        for path in documents(kit)
        if path.exists() and refresh(text := path.read_text(encoding="utf-8"), found) != text
    ]


def main(argv: list[str] | None = None) -> int:
    """Rewrite the samples (or, with `--check`, say which are stale and exit 1)."""
    parser = argparse.ArgumentParser(
        prog="python -m grader.commands.docs_samples", description=__doc__
    )
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    kit = Kit.installed()
    if args.check:
        old = stale(kit)
        for path in old:
            print(f"stale sample output in {path.relative_to(kit.root)}")  # noqa: T201
        return 1 if old else 0
    found = samples(kit)
    for path in documents(kit):
        if path.exists():
            text = path.read_text(encoding="utf-8")
            new = refresh(text, found)
            if new != text:
                path.write_text(new, encoding="utf-8")
                print(f"updated {path.relative_to(kit.root)}")  # noqa: T201
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
