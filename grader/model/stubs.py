"""The pristine stubs, kept apart from `exercises/`, which a self-study learner edits in place.

Two things need the stub as it was handed out: telling whether a program was really changed
(no explanation before a real attempt), and `reset ID`, which restores it. In a self-study kit
`exercises/` *is* the learner's work, so the grader carries a copy: `grader/model/stubs.json`, made
from `exercises/` by `python -m grader.model.stubs --update` and checked by the kit's tests, so it
cannot drift from the stubs it copies.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import cache
from pathlib import Path

from grader.model import curriculum
from grader.model.kit import Kit, KitError

FILE = Path(__file__).resolve().parent / "stubs.json"
SCHEMA = 1


def collect(kit: Kit) -> dict[str, str]:
    """Every exercise's stub as it is in `exercises/` now, keyed by its file."""
    exercises = curriculum.load(kit.curriculum_file)
    return {
        exercise.file: (kit.exercises / exercise.file).read_text(encoding="utf-8")
        for exercise in exercises
    }


@cache
def _load(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    stubs = data.get("stubs") if isinstance(data, dict) else None
    if not isinstance(stubs, dict):
        return {}
    return {str(key): str(value) for key, value in stubs.items()}


def stub(kit: Kit, file: str) -> bytes | None:
    """The pristine stub of `file`: the kit's copy, else `exercises/` (a kit without one)."""
    text = _load(FILE).get(file)
    if text is not None:
        return text.encode("utf-8")
    try:
        return (kit.exercises / file).read_bytes()
    except OSError:
        return None


def write(kit: Kit, path: Path = FILE) -> None:
    """Copy the stubs of `exercises/` into `path`."""
    data = {"schema": SCHEMA, "stubs": collect(kit)}
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    _load.cache_clear()


def main(argv: list[str] | None = None) -> int:
    """`python -m grader.model.stubs --update`: refresh the copy after editing a stub."""
    parser = argparse.ArgumentParser(prog="python -m grader.model.stubs", description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite grader/model/stubs.json")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    kit = Kit.installed()
    try:
        current = collect(kit)
    except (KitError, OSError) as exc:
        print(f"cannot read the stubs: {exc}", file=sys.stderr)  # noqa: T201
        return 3
    if args.update:
        write(kit)
        print(f"wrote {FILE} ({len(current)} stubs)")  # noqa: T201
        return 0
    same = _load(FILE) == current
    verdict = "matches exercises/" if same else "is stale"
    print(f"grader/model/stubs.json {verdict}")  # noqa: T201
    return 0 if same else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
