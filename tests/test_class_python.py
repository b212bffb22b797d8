"""The class's grading Python is one kit setting, used and reported everywhere.

`[course] python` in exercises/info.toml decides the Python of the Gradescope bundle and the
GitHub Classroom workflow, and the maximum in every output; a batch on another Python refuses
(or, with --any-python, warns loudly, in the terminal and in the summary).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from grader.classroom import gradebook, gradescope, release
from grader.model.curriculum import course, load
from grader.model.kit import Kit

ROOT = Path(__file__).resolve().parent.parent
KIT = Kit(ROOT)
CURRICULUM = load(KIT.curriculum_file)
COURSE = course(KIT.curriculum_file)
FAST = [e for e in CURRICULUM if e.kind == "predict" and e.python == (3, 10)][:1]


def _environment(*, any_python: bool) -> dict[str, str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "ASYNCIO_KIT_ANY_PYTHON"}
    }
    environment.update(NO_COLOR="1", COLUMNS="200")
    if any_python:
        environment["ASYNCIO_KIT_ANY_PYTHON"] = "1"
    return environment


def _kit_declaring(root: Path, python: str) -> Kit:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("grader", "exercises", "solutions"):
        shutil.copytree(ROOT / folder, root / folder, ignore=ignore)
    shutil.copyfile(ROOT / "pyproject.toml", root / "pyproject.toml")
    info = root / "exercises" / "info.toml"
    text = re.sub(r'(?m)^python = "[0-9.]+"$', f'python = "{python}"', info.read_text(), count=1)
    info.write_text(text, encoding="utf-8")
    return Kit(root)


def test_the_kit_declares_its_class_python() -> None:
    assert COURSE.python is not None
    assert all(exercise.python <= COURSE.python for exercise in CURRICULUM)


def test_batch_on_another_python_refuses_or_warns_with_the_class_maximum(tmp_path: Path) -> None:
    kit = _kit_declaring(tmp_path / "kit", "3.99")  # no machine runs it: always another Python
    subs = tmp_path / "subs"
    for exercise in FAST:
        target = subs / "ada" / exercise.file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "solutions" / exercise.file, target)
    command = [sys.executable, "-m", "grader", "batch", str(subs), "--only", FAST[0].id]
    csv_path = tmp_path / "grades.csv"
    refused = subprocess.run(
        [*command, "--csv", str(csv_path)],
        cwd=kit.root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=_environment(any_python=False),
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    here = ".".join(map(str, sys.version_info[:2]))
    assert f"runs on Python {here}, but the class is graded on Python 3.99" in refused.stdout
    assert "--any-python" in refused.stdout
    assert not csv_path.exists()
    warned = subprocess.run(
        [*command, "--csv", str(csv_path), "--any-python"],
        cwd=kit.root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=_environment(any_python=False),
    )
    assert warned.returncode == 0, warned.stdout + warned.stderr
    assert warned.stdout.count("WARNING: this batch runs on Python") == 2  # first and last
    with csv_path.open(encoding="utf-8", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["class_python"] == "3.99"
    assert float(row["max"]) == sum(e.points for e in FAST)
    summary = (tmp_path / "grades-summary.md").read_text(encoding="utf-8")
    assert "the class is graded on 3.99" in summary
    assert "WARNING" in summary


def test_one_setting_gives_one_maximum_and_one_python_everywhere(tmp_path: Path) -> None:
    declared = COURSE.python_label
    maximum = gradebook.max_points(CURRICULUM, COURSE)
    assert maximum == sum(e.points for e in CURRICULUM)  # no exercise needs a newer Python
    # Gradescope: the bundle installs the declared Python; an ungradable upload's maximum.
    bundle = gradescope.build_bundle(KIT, tmp_path / "autograder.zip")
    with zipfile.ZipFile(bundle) as archive:
        setup = archive.read("setup.sh").decode()
    assert f'uv venv --python "{declared}"' in setup
    failure = gradescope.failure_json("empty", CURRICULUM, visibility={}, course=COURSE)
    assert sum(test["max_score"] for test in failure["tests"]) == maximum
    # GitHub Classroom: the workflow's Python, and the handout's points and Python.
    handout = release.build_release(KIT, tmp_path / "handout", github_classroom=True)
    workflow = (handout / ".github" / "workflows" / "classroom.yml").read_text(encoding="utf-8")
    assert f'python-version: "{declared}"' in workflow
    readme = (handout / "README.md").read_text(encoding="utf-8")
    assert f"worth {maximum:g} points" in readme
    assert f"graded on Python {declared}" in readme
    assert f'python = "{declared}"' in (handout / "exercises" / "info.toml").read_text("utf-8")


def test_a_python_option_that_contradicts_the_setting_is_refused(tmp_path: Path) -> None:
    other = "3.10" if COURSE.python_label != "3.10" else "3.11"
    for command in (
        ["grader.classroom.gradescope", "build", str(tmp_path / "a.zip"), "--python", other],
        ["grader.classroom.release", str(tmp_path / "handout"), "--python", other],
    ):
        completed = subprocess.run(
            [sys.executable, "-m", *command],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env=_environment(any_python=True),
        )
        assert completed.returncode == 2, completed.stdout + completed.stderr
        assert f"differs from the class's Python {COURSE.python_label}" in completed.stderr
        assert "Traceback" not in completed.stderr
    assert not list(tmp_path.iterdir())
