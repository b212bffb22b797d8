"""The virtual loop's orders are real asyncio's: corner cases, and every predict exercise.

Two kinds of evidence, both from running asyncio:

- the corner-case programs in tests/corner_cases/ (equal deadlines, `call_at` ties, float
  deadlines, infinite delays, threads, process pools, eager tasks) print the same lines on a
  real clock (`python program.py`) and on the kit's loop, on this Python. A program that is
  racy on a real clock is excluded by the rule the exercises obey: its order changes under
  late wake-ups (and the program must say `# racy: yes`, so the rule is tested too);
- every predict exercise's pristine snippet passes `order_dependence`: no perturbation that
  stands for an expected difference of the virtual clock changes its order (the authoring-time
  check behind `check-kit`).

The real runs sleep milliseconds only and all start at once.
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.model.curriculum import Exercise, load
from grader.model.kit import Kit
from grader.runtime.order_check import (
    TIMING_PERTURBATIONS,
    OrderCheck,
    order_dependence,
)

ROOT = Path(__file__).resolve().parent.parent
CORNER_CASES = sorted((ROOT / "tests" / "corner_cases").glob("*.py"))
KIT = Kit(ROOT)
PREDICT = [e for e in load(KIT.curriculum_file) if e.kind == "predict"]


def _source(program: Path) -> str:
    return program.read_text(encoding="utf-8")


def _supported(program: Path) -> bool:
    """`# needs Python 3.12 or newer` in a program's header: older Pythons skip it."""
    found = re.search(r"^# needs Python (\d+)\.(\d+)", _source(program), re.MULTILINE)
    return found is None or sys.version_info[:2] >= (int(found[1]), int(found[2]))


def _declared_racy(program: Path) -> bool:
    return re.search(r"^# racy on a real clock$", _source(program), re.MULTILINE) is not None


def _real(program: Path) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-I", str(program)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.splitlines()


@pytest.fixture(scope="module")
def corner_runs() -> dict[str, tuple[list[str], OrderCheck]]:
    """Each supported corner case, on a real clock and on the virtual loop (checked for races)."""
    runnable = [p for p in CORNER_CASES if _supported(p)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        checks = {
            p.stem: pool.submit(
                order_dependence, p, mode="script", perturbations=TIMING_PERTURBATIONS
            )
            for p in runnable
        }
        virtual = {stem: future.result() for stem, future in checks.items()}
    with ThreadPoolExecutor(max_workers=len(runnable)) as pool:
        real = dict(zip([p.stem for p in runnable], pool.map(_real, runnable), strict=True))
    # A real run on a loaded machine can be late enough to reorder a close call: a program
    # whose real run disagreed runs again alone, up to twice, before the test judges it.
    for program in runnable:
        for _ in range(2):
            if tuple(real[program.stem]) == virtual[program.stem].baseline.lines:
                break
            real[program.stem] = _real(program)
    return {stem: (real[stem], virtual[stem]) for stem in real}


@pytest.mark.parametrize(
    "program",
    [
        pytest.param(
            p,
            id=p.stem,
            marks=pytest.mark.skipif(not _supported(p), reason="needs a newer Python"),
        )
        for p in CORNER_CASES
    ],
)
def test_corner_case_prints_what_a_real_clock_prints(
    program: Path, corner_runs: dict[str, tuple[list[str], OrderCheck]]
) -> None:
    real, check = corner_runs[program.stem]
    assert check.baseline.error == "", check.baseline.message
    racy = _declared_racy(program)
    assert check.depends == racy, check.explain() or f"{program.name} should be racy"
    if racy:
        pytest.skip("racy on a real clock (late wake-ups change its order): excluded, as intended")
    assert list(check.baseline.lines) == real


@pytest.fixture(scope="module")
def predict_checks() -> dict[str, OrderCheck]:
    """`order_dependence` of every supported predict exercise's pristine snippet."""
    runnable = [e for e in PREDICT if e.supported()]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            e.id: pool.submit(order_dependence, KIT.solutions / e.file, entry=e.entry)
            for e in runnable
        }
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize(
    "exercise",
    [
        pytest.param(
            e,
            id=e.id,
            marks=pytest.mark.skipif(not e.supported(), reason=f"needs Python {e.python_label}+"),
        )
        for e in PREDICT
    ],
)
def test_predict_truth_depends_on_no_expected_difference(
    exercise: Exercise, predict_checks: dict[str, OrderCheck]
) -> None:
    check = predict_checks[exercise.id]
    assert check.baseline.lines, f"{exercise.id}: the snippet printed nothing"
    assert not check.depends, check.explain()
