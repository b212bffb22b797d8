"""Gradescope: an autograder bundle built from the kit, and the `results.json` it writes.

    nox -s gradescope -- OUT.zip [--visibility V] [--stdout-visibility V] [--python 3.13]
    python -m grader.classroom.gradescope run --submission DIR --results PATH   (in the bundle)

Gradescope runs one submission per container: `setup.sh` once per image (a Python with the
grader's dependencies), then `run_autograder` per submission, which grades
`/autograder/submission` and writes `/autograder/results/results.json`. The bundle is
instructor-side, so it holds the whole kit: grader, hidden tests, exercises and solutions.

`results.json` follows Gradescope's format: top-level `score`, `execution_time`, `output`,
`output_format`, `visibility`, `stdout_visibility` and `tests`, one test per exercise with
`score`, `max_score`, `status` (`passed` only at full marks), `name`, `number`, `output`
(Markdown feedback), `output_format`, `tags` (the topics and kind) and `visibility` - set per
exercise by an optional `visibility` key in `exercises/info.toml` (default `visible`). The file
is always written, even when the submission cannot be graded, with the reason.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grader.classroom import check_kit, intake, outputs
from grader.classroom.grading import GradingError, grade_one
from grader.classroom.release import ReleaseError, class_python, fill, requirements
from grader.feedback import markdown as feedback_md
from grader.model import curriculum as curriculum_module
from grader.model import kit_schema
from grader.model.curriculum import Exercise
from grader.model.kit import Kit, KitError
from grader.model.results import GradeReport

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
#: The bundle's settings, chosen when it was built.
CONFIG = "autograder.json"
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Stop grading in time to write results before Gradescope's own limit (10 minutes by default).
DEFAULT_TIMEOUT = 540.0
_SKIP = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def exercise_visibility(kit: Kit) -> dict[str, str]:
    """Each exercise's Gradescope visibility: `visibility` in info.toml, default `visible`."""
    curriculum_module.load(kit.curriculum_file)  # a TOML error is one KitError line, first
    data = tomllib.loads(kit.curriculum_file.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for raw in data.get("exercise", []):
        value = str(raw.get("visibility", "visible"))
        if value not in VISIBILITIES:
            msg = f"exercise {raw.get('id')!r}: visibility must be one of {VISIBILITIES}"
            raise KitError(msg)
        found[str(raw.get("id"))] = value
    return found


def _test_output(result_feedback: str, status_line: str) -> str:
    body = feedback_md.markdown_text(result_feedback)
    return f"**{status_line}**\n\n{body}".rstrip()


def results_json(
    report: GradeReport,
    curriculum: Sequence[Exercise],
    *,
    visibility: Mapping[str, str],
    top_visibility: str = "visible",
    stdout_visibility: str = "hidden",
    execution_time: float = 0.0,
    notes: Sequence[str] = (),
    class_python: str = "",
) -> dict[str, Any]:
    """The report in Gradescope's results format (skipped exercises are left out)."""
    by_id = curriculum_module.by_id(tuple(curriculum))
    numbers = {exercise.id: number for number, exercise in enumerate(curriculum, start=1)}
    tests: list[dict[str, Any]] = []
    skipped: list[str] = []
    for result in report.exercises:
        if result.status == "skipped":
            skipped.append(result.id)
            continue
        exercise = by_id.get(result.id)
        topics = list(exercise.topics) if exercise else []
        tests.append(
            {
                "score": round(result.score, 2),
                "max_score": round(result.max_score, 2),
                "status": "passed" if result.status == "passed" else "failed",
                "name": f"{result.id}: {result.title}",
                "number": str(numbers.get(result.id, len(tests) + 1)),
                "output": _test_output(result.feedback, feedback_md.score_line(result)),
                "output_format": "md",
                "tags": [*topics, result.kind],
                "visibility": visibility.get(result.id, "visible"),
            }
        )
    lines = [f"**Total: {report.score:g} / {report.max_score:g} points**", ""]
    lines += [f"- {note}" for note in notes]
    if skipped:
        lines.append(
            f"- not counted (they need a newer Python than {report.python}): {', '.join(skipped)}"
        )
    lines.append(f"- graded on Python {report.python} (isolation: {report.isolation})")
    if class_python:
        lines.append(f"- the class is graded on Python {class_python}")
    return {
        "score": round(report.score, 2),
        "execution_time": round(execution_time, 2),
        "output": "\n".join(lines),
        "output_format": "md",
        "visibility": top_visibility,
        "stdout_visibility": stdout_visibility,
        "tests": tests,
    }


def failure_json(
    reason: str,
    curriculum: Sequence[Exercise],
    *,
    visibility: Mapping[str, str],
    top_visibility: str = "visible",
    stdout_visibility: str = "hidden",
    execution_time: float = 0.0,
    course: curriculum_module.Course | None = None,
) -> dict[str, Any]:
    """results.json for a submission that could not be graded: every exercise 0, the reason.

    The exercises listed are those the class's declared Python runs, so the maximum is the
    class's even here.
    """
    version = course.python if course is not None else None
    text = reason.replace("<", "&lt;")
    tests = [
        {
            "score": 0.0,
            "max_score": float(exercise.points),
            "status": "failed",
            "name": f"{exercise.id}: {exercise.title}",
            "number": str(number),
            "output": f"**Not graded**: {text}",
            "output_format": "md",
            "tags": [*exercise.topics, exercise.kind],
            "visibility": visibility.get(exercise.id, "visible"),
        }
        for number, exercise in enumerate(curriculum, start=1)
        if exercise.supported(version)
    ]
    return {
        "score": 0.0,
        "execution_time": round(execution_time, 2),
        "output": f"**This submission could not be graded.**\n\n{text}",
        "output_format": "md",
        "visibility": top_visibility,
        "stdout_visibility": stdout_visibility,
        "tests": tests,
    }


def _write(path: Path, data: dict[str, Any]) -> None:
    outputs.atomic_write(path, json.dumps(data, indent=2) + "\n")


def _config(kit: Kit) -> dict[str, str]:
    path = kit.root / CONFIG
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    return {
        "visibility": str(data.get("visibility", "visible")),
        "stdout_visibility": str(data.get("stdout_visibility", "hidden")),
    }


def run(
    submission: Path, results: Path, kit: Kit, timeout: float = DEFAULT_TIMEOUT
) -> dict[str, Any]:
    """Grade one Gradescope submission folder and write results.json; return what was written."""
    started = time.monotonic()
    config = _config(kit)
    top, stdout = config["visibility"], config["stdout_visibility"]
    try:
        curriculum = kit_schema.check_schema(kit)
        course = curriculum_module.course(kit.curriculum_file)
        visibility = exercise_visibility(kit)
    except KitError as exc:
        data = failure_json(
            f"the autograder itself is broken: {exc}",
            (),
            visibility={},
            top_visibility=top,
            stdout_visibility=stdout,
        )
        _write(results, data)
        return data
    with tempfile.TemporaryDirectory(prefix="asyncio-kit-gradescope-") as work:
        try:
            found = intake.materialize(
                submission, [e.file for e in curriculum], Path(work) / "submission"
            )
            report = grade_one(found.folder, timeout=timeout, kit=kit)
        except (intake.IntakeError, GradingError) as exc:
            data = failure_json(
                str(exc),
                curriculum,
                visibility=visibility,
                top_visibility=top,
                stdout_visibility=stdout,
                execution_time=time.monotonic() - started,
                course=course,
            )
        else:
            data = results_json(
                report,
                curriculum,
                visibility=visibility,
                top_visibility=top,
                stdout_visibility=stdout,
                execution_time=time.monotonic() - started,
                notes=found.notes,
                class_python=course.python_label if course.python else "",
            )
    _write(results, data)
    return data


def _bundle_files(kit: Kit) -> list[tuple[str, Path]]:
    """The kit's files that go into the bundle, as (name in the zip, path on disk)."""
    files: list[tuple[str, Path]] = [("pyproject.toml", kit.root / "pyproject.toml")]
    for folder in ("grader", "exercises", "solutions"):
        for path in sorted((kit.root / folder).rglob("*")):
            relative = path.relative_to(kit.root)
            if path.is_file() and not _SKIP & set(relative.parts) and path.suffix != ".pyc":
                files.append((relative.as_posix(), path))
    return files


def build_bundle(
    kit: Kit,
    out: Path,
    *,
    visibility: str = "visible",
    stdout_visibility: str = "hidden",
    python: str | None = None,
) -> Path:
    """Write the autograder zip (setup.sh and run_autograder at its top) and return its path.

    The bundle grades with the class's declared Python (`[course] python`); `python` may only
    repeat it (or choose one when the kit declares none).
    """
    kit_schema.check_schema(kit)  # a broken kit fails here, before anything is built
    for value in (visibility, stdout_visibility):
        if value not in VISIBILITIES:
            msg = f"visibility must be one of {VISIBILITIES}, not {value!r}"
            raise ReleaseError(msg)
    exercise_visibility(kit)  # a bad per-exercise setting fails now, not on Gradescope
    python = class_python(kit, python)
    generated = {
        "setup.sh": fill(
            (TEMPLATES / "gradescope_setup.sh").read_text("utf-8"), {"PYTHON": python}
        ),
        "run_autograder": (TEMPLATES / "gradescope_run_autograder").read_text("utf-8"),
        "requirements.txt": "\n".join(requirements(kit)) + "\n",
        CONFIG: json.dumps(
            {"visibility": visibility, "stdout_visibility": stdout_visibility, "python": python},
            indent=2,
        )
        + "\n",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, text in generated.items():
            executable = name in {"setup.sh", "run_autograder"}
            bundle.writestr(_info(name, executable=executable), text)
        for name, path in _bundle_files(kit):
            bundle.writestr(_info(name, executable=False), path.read_bytes())
    outputs.atomic_write(out, buffer.getvalue())
    return out


def _info(name: str, *, executable: bool) -> zipfile.ZipInfo:
    """A member with fixed time and Unix mode, so the bundle is the same for the same kit."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def main(argv: list[str] | None = None) -> int:
    """`build OUT.zip` (instructor) or `run` (inside the bundle); always 0 once `run` ran."""
    parser = argparse.ArgumentParser(prog="python -m grader.classroom.gradescope")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the autograder bundle")
    build.add_argument("out", type=Path, metavar="OUT.zip")
    build.add_argument("--visibility", default="visible", choices=VISIBILITIES)
    build.add_argument("--stdout-visibility", default="hidden", choices=VISIBILITIES)
    build.add_argument(
        "--python",
        default=None,
        help="Python the bundle grades with (default and only choice: the class's declared one)",
    )
    grade = commands.add_parser("run", help="grade one submission (what run_autograder does)")
    grade.add_argument("--submission", type=Path, default=Path("/autograder/submission"))
    grade.add_argument("--results", type=Path, default=Path("/autograder/results/results.json"))
    grade.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    kit = Kit.installed()
    if args.command == "build":
        try:
            check_kit.before_building(kit, log=lambda line: print(line, file=sys.stderr))  # noqa: T201
            out = build_bundle(
                kit,
                args.out,
                visibility=args.visibility,
                stdout_visibility=args.stdout_visibility,
                python=args.python,
            )
        except KitError as exc:
            print(f"gradescope: the kit is broken: {exc}", file=sys.stderr)  # noqa: T201
            return 3
        except (ReleaseError, OSError) as exc:
            print(f"gradescope: {exc}", file=sys.stderr)  # noqa: T201
            return 2
        print(f"Gradescope autograder bundle: {out} (upload it as the autograder zip)")  # noqa: T201
        return 0
    data = run(args.submission, args.results, kit, timeout=args.timeout)
    print(f"score {data['score']}; results written to {args.results}")  # noqa: T201
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
