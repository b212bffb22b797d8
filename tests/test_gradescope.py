"""The Gradescope bundle: built from the kit, run end to end, results.json in Gradescope's format."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from grader.classroom import gradescope
from grader.model.curriculum import Exercise, course
from grader.model.kit import Kit, KitError

TOP_FIELDS = {
    "score": float,
    "execution_time": float,
    "output": str,
    "output_format": str,
    "visibility": str,
    "stdout_visibility": str,
    "tests": list,
}
TEST_FIELDS = {
    "score": float,
    "max_score": float,
    "status": str,
    "name": str,
    "number": str,
    "output": str,
    "output_format": str,
    "tags": list,
    "visibility": str,
}


@pytest.fixture(scope="module")
def bundle(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    return gradescope.build_bundle(kit, out, visibility="after_published")


@pytest.fixture(scope="module")
def source(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle extracted as Gradescope does, into its /autograder/source."""
    folder = tmp_path_factory.mktemp("autograder") / "source"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder)
    for name in ("setup.sh", "run_autograder"):
        (folder / name).chmod(0o755)
    return folder


def run_autograder(source: Path, submission: Path, results: Path) -> dict[str, Any]:
    completed = subprocess.run(
        ["bash", str(source / "run_autograder")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={
            **os.environ,
            "ASYNCIO_KIT_SOURCE": str(source),
            "ASYNCIO_KIT_PYTHON": sys.executable,
            "ASYNCIO_KIT_SUBMISSION": str(submission),
            "ASYNCIO_KIT_RESULTS": str(results),
        },
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads(results.read_text(encoding="utf-8"))


def assert_gradescope_format(data: dict[str, Any]) -> None:
    assert set(data) == set(TOP_FIELDS)
    for field, kind in TOP_FIELDS.items():
        assert isinstance(data[field], kind), (field, data[field])
    assert data["output_format"] == "md"
    assert data["visibility"] in gradescope.VISIBILITIES
    assert data["stdout_visibility"] in gradescope.VISIBILITIES
    assert data["execution_time"] >= 0
    for test in data["tests"]:
        assert set(test) == set(TEST_FIELDS)
        for field, kind in TEST_FIELDS.items():
            assert isinstance(test[field], kind), (field, test)
        assert test["status"] in {"passed", "failed"}
        assert test["output_format"] == "md"
        assert test["visibility"] in gradescope.VISIBILITIES
        assert all(isinstance(tag, str) for tag in test["tags"])
        assert 0 <= test["score"] <= test["max_score"]
    assert data["score"] == pytest.approx(sum(test["score"] for test in data["tests"]))


def test_bundle_has_the_scripts_at_its_top_and_the_whole_kit(bundle: Path, kit: Kit) -> None:
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    for script in ("setup.sh", "run_autograder"):
        assert script in names
        assert modes[script] & stat.S_IXUSR
    assert {"requirements.txt", "autograder.json", "pyproject.toml", "exercises/info.toml"} <= names
    hidden = {
        path.relative_to(kit.root).as_posix()
        for path in kit.hidden_tests.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    solutions = {path.relative_to(kit.root).as_posix() for path in kit.solutions.rglob("*.py")}
    assert hidden <= names
    assert solutions <= names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_setup_script_is_valid_bash(source: Path) -> None:
    for script in ("setup.sh", "run_autograder"):
        completed = subprocess.run(
            ["bash", "-n", str(source / script)], capture_output=True, text=True, check=False
        )
        assert completed.returncode == 0, completed.stderr
    assert "@@" not in (source / "setup.sh").read_text(encoding="utf-8")


def test_solutions_run_end_to_end_to_full_marks(
    source: Path, kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    submission = tmp_path / "submission"
    shutil.copytree(kit.solutions, submission)
    data = run_autograder(source, submission, tmp_path / "results" / "results.json")
    assert_gradescope_format(data)
    supported = [e for e in curriculum if e.supported()]
    assert [test["name"].split(":")[0] for test in data["tests"]] == [e.id for e in supported]
    assert data["score"] == sum(e.points for e in supported)
    assert all(test["status"] == "passed" for test in data["tests"])
    assert all(test["score"] == test["max_score"] for test in data["tests"])
    assert data["visibility"] == "after_published"
    assert data["stdout_visibility"] == "hidden"
    numbers = [int(test["number"]) for test in data["tests"]]
    assert numbers == sorted(numbers)
    by_id = {e.id: e for e in curriculum}
    for test in data["tests"]:
        exercise = by_id[test["name"].split(":")[0]]
        assert test["tags"] == [*exercise.topics, exercise.kind]


def test_unfinished_zip_upload_scores_zero_with_feedback_and_per_exercise_visibility(
    source: Path, kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    # The instructor hides one exercise's result until grades are published.
    target = curriculum[0]
    info = source / "exercises" / "info.toml"
    text = info.read_text(encoding="utf-8")
    original = text
    line = f'id = "{target.id}"\n'
    info.write_text(text.replace(line, line + 'visibility = "hidden"\n', 1), encoding="utf-8")
    try:
        submission = tmp_path / "submission"
        submission.mkdir()
        # The student uploaded a zip of their folder, so the submission holds that zip.
        with zipfile.ZipFile(submission / "work.zip", "w") as archive:
            for path in kit.exercises.rglob("*.py"):
                archive.write(path, "exercises/" + path.relative_to(kit.exercises).as_posix())
        data = run_autograder(source, submission, tmp_path / "results.json")
    finally:
        info.write_text(original, encoding="utf-8")
    assert_gradescope_format(data)
    assert data["score"] == 0
    tests = {test["name"].split(":")[0]: test for test in data["tests"]}
    assert tests[target.id]["visibility"] == "hidden"
    assert all(t["visibility"] == "visible" for i, t in tests.items() if i != target.id)
    assert all(test["status"] == "failed" for test in data["tests"])
    assert all(test["output"].startswith("**0 / ") for test in data["tests"])


def test_an_empty_upload_still_writes_complete_results(
    source: Path, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    submission = tmp_path / "submission"
    submission.mkdir()
    data = run_autograder(source, submission, tmp_path / "results.json")
    assert_gradescope_format(data)
    assert data["score"] == 0
    assert "could not be graded" in data["output"]
    # The class's maximum (its declared Python's exercises), whatever Python graded.
    declared = course(ROOT / "exercises" / "info.toml").python
    assert len(data["tests"]) == sum(1 for e in curriculum if e.supported(declared))
    assert all("empty" in test["output"] for test in data["tests"])


def test_a_bad_visibility_setting_is_refused_when_building(kit: Kit, tmp_path: Path) -> None:
    fake = tmp_path / "kit"
    (fake / "exercises").mkdir(parents=True)
    text = kit.curriculum_file.read_text(encoding="utf-8")
    first = text.index('id = "')
    end = text.index("\n", first) + 1
    bad = text[:end] + 'visibility = "sometimes"\n' + text[end:]
    (fake / "exercises" / "info.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(KitError, match="visibility"):
        gradescope.exercise_visibility(Kit(fake))


def test_the_build_command_line_writes_the_zip(tmp_path: Path) -> None:
    out = tmp_path / "bundle.zip"
    completed = subprocess.run(
        [sys.executable, "-m", "grader.classroom.gradescope", "build", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert zipfile.is_zipfile(out)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.classroom.gradescope",
            "build",
            str(out),
            "--visibility",
            "x",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
