"""The student handout: nothing that grades, everything a student needs, and it grades full.

Also the GitHub Classroom side of the handout: the workflow it can include and the reporter
JSON the grader emits for it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, grade_to_json

from grader.classroom import github_classroom, release
from grader.classroom.grading import report_from_json
from grader.model.answers import read_prediction
from grader.model.curriculum import Exercise
from grader.model.kit import Kit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture(scope="module")
def handout(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return release.build_release(
        kit, tmp_path_factory.mktemp("release") / "handout", github_classroom=True
    )


def _texts(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8", errors="replace")
        for path in folder.rglob("*")
        if path.is_file()
    }


def _first(curriculum: tuple[Exercise, ...], kind: str) -> Exercise:
    return next(e for e in curriculum if e.kind == kind and e.supported())


def _check(handout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "tools/check.py", *args],
        cwd=handout,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# --- what is in the handout ------------------------------------------------------------------
def test_handout_holds_exactly_the_student_files(
    handout: Path, curriculum: tuple[Exercise, ...]
) -> None:
    top = {path.name for path in handout.iterdir()}
    assert top == {
        ".asyncio-kit-release",
        ".github",
        ".gitignore",
        "README.md",
        "exercises",
        "noxfile.py",
        "tools",
    }
    exercise_files = {
        path.relative_to(handout / "exercises").as_posix()
        for path in (handout / "exercises").rglob("*")
        if path.is_file()
    }
    assert exercise_files == {e.file for e in curriculum} | {"info.toml"}
    assert {p.name for p in (handout / "tools").iterdir()} == {"check.py", "exercises.json"}
    assert not list(handout.rglob(".git")), "no git history in the handout"
    assert not list(handout.rglob("__pycache__"))


def test_stubs_are_copied_unchanged(
    handout: Path, kit: Kit, curriculum: tuple[Exercise, ...]
) -> None:
    for exercise in curriculum:
        assert (handout / "exercises" / exercise.file).read_bytes() == (
            kit.exercises / exercise.file
        ).read_bytes()


def test_no_solution_file_content_is_in_the_handout(handout: Path, kit: Kit) -> None:
    texts = _texts(handout)
    # The kit's own files: bytecode caches that a local run left beside them are never shipped.
    solutions = [
        path
        for path in kit.solutions.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert solutions
    for solution in solutions:
        content = solution.read_text(encoding="utf-8").strip()
        holders = [name for name, text in texts.items() if content and content in text]
        assert not holders, (solution, holders)


def test_no_hidden_test_content_is_in_the_handout(handout: Path, kit: Kit) -> None:
    texts = _texts(handout)
    hidden = [
        path
        for path in kit.hidden_tests.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert any(path.name.startswith("test_") for path in hidden)
    for path in hidden:
        content = path.read_text(encoding="utf-8", errors="replace")
        assert not [name for name, text in texts.items() if content.strip() in text], path
        # Not even a distinctive line of a hidden test (its variants, its checks).
        for line in content.splitlines():
            stripped = line.strip()
            if len(stripped) >= 40 and not stripped.startswith(("#", '"""')):
                holders = [name for name, text in texts.items() if stripped in text]
                assert not holders, (path.name, stripped, holders)


def test_no_solved_answer_is_in_the_handout(
    handout: Path, kit: Kit, curriculum: tuple[Exercise, ...]
) -> None:
    for exercise in curriculum:
        stub = (handout / "exercises" / exercise.file).read_text(encoding="utf-8")
        solution = (kit.solutions / exercise.file).read_text(encoding="utf-8")
        answer = release.solved_answer(solution, stub)
        assert answer, f"{exercise.id}: the solution adds nothing in its TODO region"
        assert answer not in "\n".join(line.strip() for line in stub.splitlines())
        if exercise.kind == "predict":
            given = read_prediction(stub.encode(), exercise.file)
            assert given.empty, f"{exercise.id}: the handout's PREDICTION is filled in"


def test_handout_curriculum_keeps_hints_but_not_what_gives_answers_away(
    handout: Path, curriculum: tuple[Exercise, ...]
) -> None:
    data = tomllib.loads((handout / "exercises" / "info.toml").read_text(encoding="utf-8"))
    entries = data["exercise"]
    assert [entry["id"] for entry in entries] == [e.id for e in curriculum]
    assert all(set(entry) <= set(release.STUDENT_KEYS) for entry in entries)
    texts = _texts(handout)
    for exercise, entry in zip(curriculum, entries, strict=True):
        assert entry["hint"] == exercise.hint
        for secret in (exercise.explanation, exercise.strong_hint):
            if secret:
                assert not [name for name, text in texts.items() if secret in text], exercise.id
    listed = json.loads((handout / "tools" / "exercises.json").read_text(encoding="utf-8"))
    assert [entry["id"] for entry in listed] == [e.id for e in curriculum]


def test_readme_says_the_public_checks_are_not_the_grade(
    handout: Path, curriculum: tuple[Exercise, ...]
) -> None:
    readme = (handout / "README.md").read_text(encoding="utf-8")
    assert "is not your grade" in readme
    assert "nox -s check" in readme
    assert "@@" not in readme
    for exercise in curriculum:
        assert f"`{exercise.id}`" in readme


# --- the handout, solved as a student would, grades full ----------------------------------------
def test_handout_filled_with_the_solutions_scores_full_marks(
    handout: Path, kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    student = tmp_path / "student"
    shutil.copytree(handout, student)
    shutil.copytree(kit.solutions, student / "exercises", dirs_exist_ok=True)
    report = grade_to_json(student / "exercises", tmp_path)
    assert report["score"] == report["max_score"] > 0
    assert [entry["id"] for entry in report["exercises"]] == [e.id for e in curriculum]
    for entry, exercise in zip(report["exercises"], curriculum, strict=True):
        assert entry["status"] == ("passed" if exercise.supported() else "skipped"), entry


# --- the public checks ---------------------------------------------------------------------------
def test_public_checks_on_the_untouched_handout_list_work_to_do(
    handout: Path, curriculum: tuple[Exercise, ...]
) -> None:
    predict, produce = _first(curriculum, "predict"), _first(curriculum, "produce")
    completed = _check(handout, "--only", predict.id, produce.id)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    (predict_line,) = [line for line in lines if f" {predict.id} " in line]
    (produce_line,) = [line for line in lines if f" {produce.id} " in line]
    assert predict_line.strip().startswith("to do")
    assert produce_line.strip().startswith("ok")
    assert "NOT your grade" in completed.stdout


def test_public_checks_pass_on_solutions_and_flag_broken_files(
    handout: Path, kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    student = tmp_path / "student"
    shutil.copytree(handout, student)
    shutil.copytree(kit.solutions, student / "exercises", dirs_exist_ok=True)
    predict, produce = _first(curriculum, "predict"), _first(curriculum, "produce")
    completed = _check(student, "--only", predict.id, produce.id)
    assert completed.returncode == 0, completed.stdout
    assert "2 ok, 0 to do, 0 with a problem" in completed.stdout

    (student / "exercises" / predict.file).write_text(
        "PREDICTION = [print('not data')]\n", encoding="utf-8"
    )
    source = (student / "exercises" / produce.file).read_text(encoding="utf-8")
    (student / "exercises" / produce.file).write_text(
        source.replace("# END TODO", "raise SystemExit(7)\n# END TODO", 1), encoding="utf-8"
    )
    completed = _check(student, "--only", predict.id, produce.id)
    assert completed.returncode == 1
    assert "must be plain data" in completed.stdout
    assert "exited with status" in completed.stdout
    assert "NOT your grade" in completed.stdout


def test_public_checks_never_run_a_prediction_file(
    handout: Path, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    student = tmp_path / "student"
    shutil.copytree(handout, student)
    predict = _first(curriculum, "predict")
    marker = tmp_path / "ran"
    (student / "exercises" / predict.file).write_text(
        f"open({str(marker)!r}, 'w').close()\nPREDICTION = ['a line']\n", encoding="utf-8"
    )
    completed = _check(student, "--only", predict.id)
    assert completed.returncode == 0, completed.stdout
    assert not marker.exists()


def test_public_checks_reject_unknown_ids(handout: Path) -> None:
    completed = _check(handout, "--only", "no-such-exercise")
    assert completed.returncode == 2
    assert "unknown exercise id" in completed.stdout


@pytest.mark.skipif(shutil.which("nox") is None, reason="nox is not installed")
def test_nox_check_session_runs_the_public_checks(
    handout: Path, curriculum: tuple[Exercise, ...]
) -> None:
    predict = _first(curriculum, "predict")
    completed = subprocess.run(
        ["nox", "-s", "check", "--", "--only", predict.id],
        cwd=handout,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "NOT your grade" in completed.stdout + completed.stderr


# --- building ------------------------------------------------------------------------------------
def test_rebuilding_replaces_a_handout_built_before(kit: Kit, tmp_path: Path) -> None:
    dest = tmp_path / "handout"
    release.build_release(kit, dest)
    (dest / "stale.txt").write_text("old", encoding="utf-8")
    release.build_release(kit, dest)
    assert not (dest / "stale.txt").exists()
    assert not (dest / ".github").exists(), "no workflow unless asked"


@pytest.mark.parametrize("where", ["foreign", "kit-root", "inside-solutions"])
def test_release_refuses_folders_it_must_not_overwrite(
    kit: Kit, tmp_path: Path, where: str
) -> None:
    if where == "foreign":
        dest = tmp_path / "mine"
        dest.mkdir()
        (dest / "thesis.tex").write_text("precious", encoding="utf-8")
    elif where == "kit-root":
        dest = kit.root
    else:
        dest = kit.solutions / "handout"
    with pytest.raises(release.ReleaseError):
        release.build_release(kit, dest)
    if where == "foreign":
        assert (dest / "thesis.tex").read_text(encoding="utf-8") == "precious"
    assert not (kit.solutions / "handout").exists()


def test_release_command_line(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "grader.classroom.release", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "out" / "tools" / "check.py").is_file()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x").write_text("x", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "grader.classroom.release", str(foreign)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
    assert "not empty" in completed.stderr


def test_leak_check_catches_a_stub_that_holds_its_answer(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    shutil.copytree(kit.exercises, tmp_path / "exercises")
    predict = _first(curriculum, "predict")
    # A careless author pastes the solved answer into the handout's copy of the stub.
    shutil.copyfile(kit.solutions / predict.file, tmp_path / "exercises" / predict.file)
    found = release.leaks(kit, curriculum, tmp_path)
    assert any(predict.id in problem or predict.file in problem for problem in found), found


# --- GitHub Classroom ----------------------------------------------------------------------------
def test_workflow_grades_with_the_private_kit_and_reports_points(handout: Path) -> None:
    workflow = (handout / ".github" / "workflows" / "classroom.yml").read_text(encoding="utf-8")
    assert "@@" not in workflow
    assert "classroom-resources/autograding-grading-reporter@v1" in workflow
    assert 'GRADER_RESULTS: "${{ steps.grader.outputs.result }}"' in workflow
    assert "runners: grader" in workflow
    assert "id: grader" in workflow
    assert "repository: ${{ vars.ASYNCIO_KIT_REPOSITORY }}" in workflow
    assert "python -m grader.classroom.github_classroom" in workflow
    for requirement in release.requirements(Kit(ROOT)):
        assert requirement in workflow


def test_runner_json_sums_to_the_report(solutions_report: dict[str, Any]) -> None:
    report = report_from_json(solutions_report)
    data = github_classroom.runner_json(report)
    assert set(data) == {"version", "status", "max_score", "tests", "python", "class_python"}
    assert data["status"] == "pass"
    assert data["max_score"] == report.max_score
    assert sum(test["score"] for test in data["tests"]) == pytest.approx(report.score)
    counted = [e for e in report.exercises if e.status != "skipped"]
    assert [test["name"] for test in data["tests"]] == [e.id for e in counted]
    for test in data["tests"]:
        # Points only: the feedback is in the job log and the artifact, not the variable.
        assert set(test) == {"name", "status", "score", "line_no"}
        assert test["status"] == "pass"
    decoded = json.loads(base64.b64decode(github_classroom.encode(data)))
    assert decoded == data


def test_runner_json_fails_an_unfinished_submission(stubs_report: dict[str, Any]) -> None:
    data = github_classroom.runner_json(report_from_json(stubs_report))
    assert data["status"] == "fail"
    assert sum(test["score"] for test in data["tests"]) == 0
    assert {test["status"] for test in data["tests"]} <= {"fail", "error"}


def test_classroom_runner_sets_the_step_output(tmp_path: Path, handout: Path) -> None:
    output = tmp_path / "github_output"
    result = tmp_path / "result.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.classroom.github_classroom",
            "--submission",
            str(handout),
            "--output",
            str(result),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "GITHUB_OUTPUT": str(output)},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    detailed = json.loads(result.read_text(encoding="utf-8"))
    (line,) = output.read_text(encoding="utf-8").splitlines()
    assert line.startswith("result=")
    data = json.loads(base64.b64decode(line.removeprefix("result=")))
    assert data["status"] == detailed["status"] == "fail"
    assert data["max_score"] == detailed["max_score"] > 0
    assert [t["score"] for t in data["tests"]] == [t["score"] for t in detailed["tests"]]
    assert all("message" in test for test in detailed["tests"])
