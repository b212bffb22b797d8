"""A broken kit is found before anyone is graded, by every command, with exit 3 and one line.

Each test copies the kit (grader, exercises, solutions) into tmp_path, breaks its curriculum
the way an instructor might - a typo in a key or a path, a copied entry, an absolute path, an
`entry` the solution does not define, an empty or unparsable info.toml - and runs the real
commands in that copy: `python -m grader` (grade), `batch`, `release`, `gradescope build`,
the GitHub Classroom runner and `check-kit`. None may grade anyone, write anything or show a
traceback. The full `check-kit` runs once on the real kit and must find it sound.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import slow_classroom

from grader.classroom import check_kit
from grader.model.curriculum import load
from grader.model.kit import Kit

ROOT = Path(__file__).resolve().parent.parent
CURRICULUM = load(Kit(ROOT).curriculum_file)
FIRST, SECOND = CURRICULUM[0], CURRICULUM[1]


def copy_kit(dest: Path) -> Kit:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for folder in ("grader", "exercises", "solutions"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=ignore)
    shutil.copyfile(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return Kit(dest)


def _first_block(text: str) -> tuple[int, int]:
    start = text.index("\n[[exercise]]\n") + 1  # not the header comment's mention
    end = text.index("\n[[exercise]]\n", start) + 1
    return start, end


def _set(text: str, key: str, value: str) -> str:
    """Change `key` of the first exercise (add it if absent)."""
    start, end = _first_block(text)
    block = text[start:end]
    pattern = re.compile(rf"^{key} = .*$", re.MULTILINE)
    block = (
        pattern.sub(f"{key} = {value}", block, count=1)
        if pattern.search(block)
        else block.replace("[[exercise]]\n", f"[[exercise]]\n{key} = {value}\n", 1)
    )
    return text[:start] + block + text[end:]


def _duplicate_first(text: str, change: Callable[[str], str]) -> str:
    start, end = _first_block(text)
    return text + "\n" + change(text[start:end])


BREAKAGES: dict[str, Callable[[str, Path], str]] = {
    "unknown key": lambda text, _: _set(text, "pionts", "3"),
    "duplicate id": lambda text, _: _duplicate_first(
        text, lambda block: block.replace(f'file = "{FIRST.file}"', 'file = "99_x/copy.py"')
    ),
    "duplicate file": lambda text, _: _duplicate_first(
        text, lambda block: block.replace(f'id = "{FIRST.id}"', 'id = "a-copy"')
    ),
    "absolute file": lambda text, root: _set(text, "file", f'"{root / "escaped.py"}"'),
    "file outside the kit": lambda text, _: _set(text, "file", f'"../solutions/{FIRST.file}"'),
    "file that does not exist": lambda text, _: _set(
        text, "file", f'"{FIRST.file.replace(".py", "_typo.py")}"'
    ),
    "entry not in the solution": lambda text, _: _set(text, "entry", '"no_such_function"'),
    "empty info.toml": lambda text, _: "",
    "TOML syntax error": lambda text, _: text.replace("\n[[exercise]]\n", "\n[[exercise]\n", 1),
    "exercise newer than the class Python": lambda text, _: _set(text, "python", '"3.99"'),
}


def _run(kit: Kit, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH"}
    }
    environment.update(NO_COLOR="1", COLUMNS="200", ASYNCIO_KIT_ANY_PYTHON="1")
    return subprocess.run(
        [sys.executable, *args],
        cwd=kit.root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=environment,
    )


def _submissions(root: Path) -> Path:
    subs = root / "submissions"
    for exercise in (FIRST, SECOND):
        target = subs / "ada" / exercise.file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "solutions" / exercise.file, target)
    return subs


def _broken(tmp_path: Path, breakage: str) -> Kit:
    kit = copy_kit(tmp_path / "kit")
    text = kit.curriculum_file.read_text(encoding="utf-8")
    kit.curriculum_file.write_text(BREAKAGES[breakage](text, tmp_path), encoding="utf-8")
    return kit


def _one_clear_line(completed: subprocess.CompletedProcess[str]) -> str:
    output = (completed.stdout + completed.stderr).strip()
    assert "Traceback" not in output
    lines = output.splitlines()
    assert len(lines) == 1, output
    assert "the kit is broken" in lines[0]
    return lines[0]


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_batch_and_check_kit_stop_on_a_broken_kit(tmp_path: Path, breakage: str) -> None:
    kit = _broken(tmp_path, breakage)
    assert check_kit.schema_problems(kit), breakage
    checked = _run(kit, "-m", "grader", "check-kit", "--schema-only")
    assert checked.returncode == 3, checked.stdout + checked.stderr
    assert "Traceback" not in checked.stdout + checked.stderr
    subs = _submissions(tmp_path)
    csv_path = tmp_path / "out" / "grades.csv"
    graded = _run(kit, "-m", "grader", "batch", str(subs), "--csv", str(csv_path))
    assert graded.returncode == 3, graded.stdout + graded.stderr
    _one_clear_line(graded)
    assert not csv_path.parent.exists()  # nothing written, nobody graded
    assert not (tmp_path / "escaped.py").exists()


@slow_classroom
@pytest.mark.parametrize(
    "command",
    [
        ["-m", "grader"],
        ["-m", "grader", "batch", "{subs}"],
        ["-m", "grader.classroom.release", "{out}/handout"],
        ["-m", "grader.classroom.gradescope", "build", "{out}/autograder.zip"],
        ["-m", "grader.classroom.github_classroom", "--submission", "{subs}/ada"],
    ],
    ids=["grade", "batch", "release", "gradescope-build", "github-classroom"],
)
@pytest.mark.parametrize(
    "breakage", ["entry not in the solution", "TOML syntax error", "empty info.toml"]
)
def test_every_command_stops_on_a_broken_kit(
    tmp_path: Path, command: list[str], breakage: str
) -> None:
    kit = _broken(tmp_path, breakage)
    subs, out = _submissions(tmp_path), tmp_path / "out"
    args = [part.format(subs=subs, out=out) for part in command]
    completed = _run(kit, *args)
    assert completed.returncode == 3, completed.stdout + completed.stderr
    _one_clear_line(completed)
    assert not out.exists()


def test_the_schema_check_names_every_problem(tmp_path: Path) -> None:
    kit = copy_kit(tmp_path / "kit")
    text = kit.curriculum_file.read_text(encoding="utf-8")
    text = BREAKAGES["entry not in the solution"](text, tmp_path)
    (kit.exercises / SECOND.file).unlink()
    kit.curriculum_file.write_text(text, encoding="utf-8")
    problems = check_kit.schema_problems(kit)
    assert len(problems) == 2
    assert "no_such_function" in problems[0]
    assert SECOND.file in problems[1]
    assert "stub" in problems[1]


@slow_classroom
def test_the_real_kit_passes_the_full_check() -> None:
    completed = _run(Kit(ROOT), "-m", "grader", "check-kit")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "the kit is sound" in completed.stdout
    for part in ("schema: ok", "solutions full marks: ok", "timing perturbations: ok"):
        assert part in completed.stdout


@slow_classroom
@pytest.mark.parametrize(
    "command",
    [
        ["-m", "grader.classroom.release", "handout"],
        ["-m", "grader.classroom.gradescope", "build", "bundle.zip"],
    ],
    ids=["release", "gradescope-build"],
)
def test_release_and_gradescope_build_run_the_full_check_first(
    tmp_path: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stub that already scores would hand a class free points: nothing is built from it."""
    kit = copy_kit(tmp_path / "kit")
    solved = next(e for e in CURRICULUM if e.kind == "produce" and e.supported())
    shutil.copyfile(kit.solutions / solved.file, kit.exercises / solved.file)
    monkeypatch.delenv(check_kit.SCHEMA_ONLY_VAR, raising=False)
    completed = _run(kit, *command[:-1], str(tmp_path / command[-1]))
    assert completed.returncode == 3, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stdout + completed.stderr
    broken = [line for line in completed.stderr.splitlines() if "the kit is broken" in line]
    assert len(broken) == 1
    assert f"{solved.id!r}: the stub scores" in broken[0]
    assert not (tmp_path / command[-1]).exists()


def test_check_kit_refuses_an_exercise_whose_order_is_racy_on_a_real_clock(tmp_path: Path) -> None:
    """The loop's order check is one of check-kit's truth checks: a racy snippet is refused."""
    kit = copy_kit(tmp_path / "kit")
    predict = next(e for e in CURRICULUM if e.kind == "predict" and e.entry == "main")
    shutil.copyfile(ROOT / "tests" / "corner_cases" / "racy_chain.py", kit.solutions / predict.file)
    assert check_kit.loop_difference_hook in check_kit.TRUTH_CHECKS
    problems = check_kit.loop_difference_hook(kit, predict)
    assert len(problems) == 1
    assert predict.id in problems[0]
    assert "late wake-ups" in problems[0]
    # The kit's own snippet for it has no such dependence.
    assert check_kit.loop_difference_hook(Kit(ROOT), predict) == []
