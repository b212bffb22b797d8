"""Sessions for the asyncio ordering kit.

`nox -s grade` grades your work (arguments after `--` go to the grader), `nox -s tests` runs the
kit's own tests on every CPython from 3.10 to 3.15 that is present (absent ones are skipped, on
CI too), `nox -s lint` runs ruff and mypy on the grader.
"""

from __future__ import annotations

import nox

nox.needs_version = ">=2024.10.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["grade"]
# nox turns a missing interpreter into a failure when CI is set: 3.14 and 3.15 are not on every
# machine (nor on this kit's CI machine), so a missing one is skipped there too.
nox.options.error_on_missing_interpreters = False
nox.options.download_python = "never"  # nor fetched behind your back (uv would download them)

PYTHONS = ["3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]
PYPROJECT = nox.project.load_toml("pyproject.toml")


@nox.session
def grade(session: nox.Session) -> None:
    """Grade exercises/ (or --submission DIR) and print a score table."""
    session.install(*PYPROJECT["project"]["dependencies"])
    session.run("python", "-m", "grader", *session.posargs)


@nox.session(default=False)
def hint(session: nox.Session) -> None:
    """A hint for an exercise, a stronger one on the next call: nox -s hint -- ID."""
    session.install(*PYPROJECT["project"]["dependencies"])
    session.run("python", "-m", "grader", "hint", *session.posargs)


@nox.session(default=False, name="list")
def list_progress(session: nox.Session) -> None:
    """Your progress from the last grading, at once (no regrade)."""
    session.install(*PYPROJECT["project"]["dependencies"])
    session.run("python", "-m", "grader", "list", *session.posargs)


@nox.session(default=False)
def reset(session: nox.Session) -> None:
    """Restore an exercise's stub, keeping your version: nox -s reset -- ID."""
    session.install(*PYPROJECT["project"]["dependencies"])
    session.run("python", "-m", "grader", "reset", *session.posargs)


@nox.session(default=False)
def watch(session: nox.Session) -> None:
    """Re-grade the exercise you are editing on every save (Ctrl-C stops)."""
    session.install(*PYPROJECT["project"]["dependencies"])
    session.run("python", "-m", "grader", "watch", *session.posargs)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the kit's own tests (the grader, the curriculum, the sandbox)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHONS, default=False)
def full(session: nox.Session) -> None:
    """The kit's tests with the slow suites whole on every Python (`tests`: on the class's)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    env = {"ASYNCIO_KIT_FULL_SUITES": "1", "ASYNCIO_KIT_SLOW_CLASSROOM": "1"}
    session.run("pytest", *session.posargs, env=env)


@nox.session(python=PYTHONS, default=False)
def conformance(session: nox.Session) -> None:
    """CPython's own test_asyncio, stock and on the kit's loop (-- --modules test_locks ...)."""
    session.run("python", "tests/conformance/run.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff on the project, mypy --strict on grader/."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", "grader", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "grader", "tests", "noxfile.py")
    session.run("mypy", "--strict", "grader")


@nox.session(default=False)
def release(session: nox.Session) -> None:
    """Build the student handout: nox -s release -- DIR [--github-classroom]."""
    session.install(*PYPROJECT["project"]["dependencies"])
    session.run("python", "-m", "grader.classroom.release", *session.posargs)


@nox.session(python=PYTHONS, default=False)
def classroom(session: nox.Session) -> None:
    """The classroom fault suite on every Python (`tests` runs it on the class's Python only)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    files = ["batch_faults", "kit_check", "lms_layouts", "class_python", "github_classroom_size"]
    paths = [f"tests/test_{name}.py" for name in files]
    session.run("pytest", *paths, *session.posargs, env={"ASYNCIO_KIT_SLOW_CLASSROOM": "1"})


@nox.session(name="check-kit", default=False)
def check_kit(session: nox.Session) -> None:
    """Check the kit itself: schema, stubs score zero, solutions full, truth stable."""
    session.install(*PYPROJECT["project"]["dependencies"])
    session.run("python", "-m", "grader", "check-kit", *session.posargs)


@nox.session(default=False)
def gradescope(session: nox.Session) -> None:
    """Build a Gradescope autograder bundle: nox -s gradescope -- OUT.zip."""
    session.install(*PYPROJECT["project"]["dependencies"])
    session.run("python", "-m", "grader.classroom.gradescope", "build", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Measure grading speed: one learner, a class of N, the naive baseline (-- --help)."""
    session.install(*PYPROJECT["project"]["dependencies"])
    session.run("python", "-m", "grader.bench", *session.posargs)
