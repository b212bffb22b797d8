"""`nox -s release -- DIR`: build the student handout from the instructor's kit.

    python -m grader.classroom.release DIR [--github-classroom] [--python 3.13]

The handout holds what a student needs and nothing that grades them:

- `exercises/`: the stubs of the curriculum's exercises, and an `info.toml` with ids, titles,
  kinds, points and the first hint (not the stronger hint nor the explanation, which give
  answers away);
- `tools/check.py` and `noxfile.py`: `nox -s check` runs the public checks only (an answer is
  filled in and well-formed, parsed and never run; a program runs its visible example), and
  says plainly that passing them is not the grade;
- `README.md` for the student, a `.gitignore`, and with `--github-classroom` the workflow that
  grades each push through GitHub Classroom (the grader itself stays in a private repository).

No solution, no hidden test, no grader code and no git history go in: the files are written
fresh, and the build checks that no solution file, no solved answer and no hidden test is in
any file it wrote before it puts the handout in place.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from grader.classroom import check_kit
from grader.model import curriculum as curriculum_module
from grader.model import kit_schema
from grader.model.curriculum import Course, Exercise
from grader.model.kit import Kit, KitError

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: A file that marks a folder as a handout built here, so a rebuild may replace it.
MARKER = ".asyncio-kit-release"
#: Curriculum keys a student may see; the rest (strong hints, explanations) give answers away.
STUDENT_KEYS = ("id", "file", "title", "kind", "points", "topics", "python", "entry", "hint")
DEFAULT_PYTHON = "3.13"


class ReleaseError(RuntimeError):
    """The handout cannot be built; the message says why."""


def fill(template: str, values: dict[str, str]) -> str:
    """Replace `@@NAME@@` placeholders; a placeholder left unfilled is a bug in the kit."""
    for name, value in values.items():
        template = template.replace(f"@@{name}@@", value)
    if "@@" in template:
        start = template.index("@@")
        msg = f"template placeholder left unfilled: {template[start : start + 40]!r}"
        raise ReleaseError(msg)
    return template


def requirements(kit: Kit) -> list[str]:
    """The grader's runtime dependencies, from the kit's pyproject.toml."""
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415 - only where it exists
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib  # noqa: PLC0415
    data = tomllib.loads((kit.root / "pyproject.toml").read_text(encoding="utf-8"))
    return [str(item) for item in data["project"]["dependencies"]]


def _toml_value(value: object) -> str:
    """A TOML literal for the simple values the curriculum holds (JSON strings are TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def student_entry(exercise: Exercise) -> dict[str, object]:
    """What the handout's curriculum says about one exercise."""
    entry: dict[str, object] = {
        "id": exercise.id,
        "file": exercise.file,
        "title": exercise.title,
        "kind": exercise.kind,
        "points": exercise.points,
        "topics": list(exercise.topics),
        "python": exercise.python_label,
        "entry": exercise.entry,
        "hint": exercise.hint,
    }
    return {key: entry[key] for key in STUDENT_KEYS}


def student_info_toml(curriculum: Sequence[Exercise], course: Course | None = None) -> str:
    """The handout's `exercises/info.toml`: the curriculum without what gives answers away."""
    lines = [
        "# The exercises, in order: easiest first. Work them top to bottom.",
        "#   kind    predict: write PREDICTION; produce: change the code between the TODO markers",
        "#   python  the oldest Python the exercise needs",
        "#   hint    a question to think about when you are stuck",
    ]
    if course is not None and course.python is not None:
        lines += ["", "# Your work is graded on this Python.", "[course]"]
        lines.append(f"python = {_toml_value(course.python_label)}")
    for exercise in curriculum:
        lines += ["", "[[exercise]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in student_entry(exercise).items()]
    return "\n".join(lines) + "\n"


def _hand_in(github_classroom: bool) -> str:
    zip_it = (
        "Zip your `exercises` folder and upload the zip where your instructor asks (an LMS "
        "assignment, Gradescope):\n\n```sh\npython -m zipfile -c submission.zip exercises\n```"
    )
    if github_classroom:
        return (
            "Commit and push: every push is graded by GitHub Classroom and the points show on "
            "the *Autograding Tests* check of your repository. Push as often as you like.\n\n"
            "If your instructor asks for an upload instead: " + zip_it[0].lower() + zip_it[1:]
        )
    return zip_it


def student_readme(
    curriculum: Sequence[Exercise], github_classroom: bool, course: Course | None = None
) -> str:
    """The handout's README, with the exercise table."""
    table = "\n".join(
        f"| {number} | `{e.id}` | `exercises/{e.file}` | {e.kind} | {e.points} | "
        f"{e.title.replace('|', '/')}"
        + (f" (Python {e.python_label}+)" if e.python > (3, 10) and "Python" not in e.title else "")
        + " |"
        for number, e in enumerate(curriculum, start=1)
    )
    template = (TEMPLATES / "student_README.md").read_text(encoding="utf-8")
    return fill(
        template,
        {
            "TITLE": "asyncio ordering exercises",
            "COUNT": str(len(curriculum)),
            "POINTS": str(sum(e.points for e in curriculum)),
            "PYTHON_MIN": "3.10",
            "CLASS_PYTHON": course.python_label
            if course is not None and course.python is not None
            else "the newest Python your instructor names",
            "HAND_IN": _hand_in(github_classroom),
            "FIRST": f"exercises/{curriculum[0].file}" if curriculum else "exercises/...",
            "TABLE": table,
        },
    )


def class_python(kit: Kit, asked: str | None) -> str:
    """The Python to grade with: the class's declared one; `asked` must agree with it.

    One setting, `[course] python` in exercises/info.toml, decides the Python of the batch, the
    Gradescope bundle and the GitHub Classroom workflow, so their maxima agree. `asked` (a
    `--python` option) only chooses one when the kit declares none.
    """
    declared = curriculum_module.course(kit.curriculum_file)
    if declared.python is None:
        return asked or DEFAULT_PYTHON
    if asked is not None and asked != declared.python_label:
        msg = (
            f"--python {asked} differs from the class's Python {declared.python_label} "
            "([course] python in exercises/info.toml); change it there so every output agrees"
        )
        raise ReleaseError(msg)
    return declared.python_label


def classroom_workflow(kit: Kit, python: str) -> str:
    """The GitHub Classroom workflow that grades each push with the private kit."""
    template = (TEMPLATES / "classroom.yml").read_text(encoding="utf-8")
    quoted = " ".join(f'"{requirement}"' for requirement in requirements(kit))
    return fill(template, {"PYTHON": python, "REQUIREMENTS": quoted})


def _check_destination(kit: Kit, dest: Path) -> None:
    target = dest.resolve()
    root = kit.root.resolve()
    if target == root or root.is_relative_to(target):
        msg = f"{dest} holds the kit itself; choose a folder outside it"
        raise ReleaseError(msg)
    for inside in ("grader", "exercises", "solutions", "tests", ".git"):
        if target.is_relative_to(root / inside):
            msg = f"{dest} is inside the kit's {inside}/; choose another folder"
            raise ReleaseError(msg)
    if target.exists() and not target.is_dir():
        msg = f"{dest} exists and is not a folder"
        raise ReleaseError(msg)
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        msg = f"{dest} is not empty and is not a handout built before; choose an empty folder"
        raise ReleaseError(msg)


def _todo_region(source: str) -> list[str]:
    """The stripped code lines between `# TODO` and `# END TODO` (comments left out)."""
    region: list[str] = []
    inside = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("# END TODO"):
            inside = False
        elif stripped.startswith("# TODO"):
            inside = True
        elif inside and stripped and not stripped.startswith("#"):
            region.append(stripped)
    return region


def solved_answer(solution: str, stub: str) -> str:
    """The lines a solution adds in its TODO region: the answer that must not be handed out."""
    stub_lines = set(_todo_region(stub))
    return "\n".join(line for line in _todo_region(solution) if line not in stub_lines)


def _normalized(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines())


def leaks(kit: Kit, curriculum: Sequence[Exercise], folder: Path) -> list[str]:
    """What of the solutions or the hidden tests can be found in the files under `folder`."""
    texts = {
        path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    found: list[str] = []
    secrets = [kit.solutions / e.file for e in curriculum]
    secrets += sorted(path for path in kit.hidden_tests.rglob("*.py") if path.stat().st_size)
    for secret in secrets:
        if not secret.is_file():
            continue
        content = secret.read_text(encoding="utf-8").strip()
        found += [
            f"{name} contains {secret.relative_to(kit.root)}"
            for name, text in texts.items()
            if content and content in text
        ]
    for exercise in curriculum:
        solution, stub = kit.solutions / exercise.file, kit.exercises / exercise.file
        if not (solution.is_file() and stub.is_file()):
            continue
        answer = solved_answer(solution.read_text(encoding="utf-8"), stub.read_text("utf-8"))
        own = f"exercises/{exercise.file}"
        for name in (own, "README.md", "exercises/info.toml"):
            if answer and name in texts and answer in _normalized(texts[name]):
                found.append(f"{name} contains the solved answer of {exercise.id}")
    return found


def build_release(
    kit: Kit, dest: Path, *, github_classroom: bool = False, python: str | None = None
) -> Path:
    """Build the handout in `dest` (empty, new, or a handout built before) and return it."""
    curriculum = kit_schema.check_schema(kit)  # a broken kit stops here, before anything is built
    python = class_python(kit, python)
    _check_destination(kit, dest)
    dest = dest.resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        _write_handout(kit, curriculum, staging, github_classroom=github_classroom, python=python)
        problems = leaks(kit, curriculum, staging)
        if problems:
            msg = "the handout would give answers away: " + "; ".join(problems)
            raise ReleaseError(msg)
        if dest.exists():
            shutil.rmtree(dest)
        staging.replace(dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return dest


def _write_handout(
    kit: Kit,
    curriculum: Sequence[Exercise],
    out: Path,
    *,
    github_classroom: bool,
    python: str,
) -> None:
    for exercise in curriculum:
        stub = kit.exercises / exercise.file
        if not stub.is_file():
            msg = f"the stub of {exercise.id} is missing: {stub}"
            raise ReleaseError(msg)
        solution = kit.solutions / exercise.file
        if solution.is_file() and solution.read_bytes() == stub.read_bytes():
            msg = f"the stub of {exercise.id} is identical to its solution ({exercise.file})"
            raise ReleaseError(msg)
        target = out / "exercises" / exercise.file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stub, target)
    course = curriculum_module.course(kit.curriculum_file)
    (out / "exercises" / "info.toml").write_text(
        student_info_toml(curriculum, course), encoding="utf-8"
    )
    tools = out / "tools"
    tools.mkdir()
    shutil.copyfile(TEMPLATES / "check.py", tools / "check.py")
    entries = [student_entry(exercise) for exercise in curriculum]
    (tools / "exercises.json").write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(TEMPLATES / "student_noxfile.py.tmpl", out / "noxfile.py")
    (out / "README.md").write_text(
        student_readme(curriculum, github_classroom, course), encoding="utf-8"
    )
    shutil.copyfile(TEMPLATES / "gitignore", out / ".gitignore")
    if github_classroom:
        workflows = out / ".github" / "workflows"
        workflows.mkdir(parents=True)
        (workflows / "classroom.yml").write_text(classroom_workflow(kit, python), encoding="utf-8")
    (out / MARKER).write_text(
        json.dumps({"exercises": [e.id for e in curriculum]}) + "\n", encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point; 0 when the handout was built, 2 for a usage error, 3 for a broken kit."""
    parser = argparse.ArgumentParser(
        prog="nox -s release --",
        description="Build the student handout: stubs and public checks, no solutions.",
    )
    parser.add_argument("dest", type=Path, metavar="DIR", help="where to build the handout")
    parser.add_argument(
        "--github-classroom",
        action="store_true",
        help="add .github/workflows/classroom.yml (grades each push via GitHub Classroom)",
    )
    parser.add_argument(
        "--python",
        default=None,
        help="Python the workflow grades with (default and only choice: the class's declared one)",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    kit = Kit.installed()
    try:
        check_kit.before_building(kit, log=lambda line: print(line, file=sys.stderr))  # noqa: T201
        dest = build_release(
            kit, args.dest, github_classroom=args.github_classroom, python=args.python
        )
    except (ReleaseError, OSError) as exc:
        print(f"release: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except KitError as exc:
        print(f"release: the kit is broken: {exc}", file=sys.stderr)  # noqa: T201
        return 3
    count = len(curriculum_module.load(kit.curriculum_file))
    print(f"handout with {count} exercise(s) built in {dest}")  # noqa: T201
    print(f"check it: cd {dest} && nox -s check")  # noqa: T201
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
