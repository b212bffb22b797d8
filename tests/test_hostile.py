"""The adversarial suite: hostile submissions against the real CLI, one per folder in tests/hostile/.

Each folder is laid out like `exercises/` and attacks one exercise (its `case.toml` says which,
how, the most that exercise may score, and the reason its feedback must give). The harness
builds a submission from it in a temporary folder, with two other predict exercises solved and
everything else left out, grades it with `python -m grader --submission DIR --json OUT` exactly
as a user would, and checks:

- the grader exits 0 and the results file is complete, in curriculum order;
- the attacked exercise scores at most its honest score, with that specific reason;
- the solved exercises keep full marks, the missing ones score zero;
- nothing outside the temporary folder changed: the canary folder, the kit tree, /tmp;
- no process the hostile code started survives (each carries the case's marker).

Hostile files are templates: `@@KIT@@` (the kit's absolute path), `@@SOLUTION@@` (the kit's
solution of the attacked exercise), `@@CANARY@@` (a folder the code must not change),
`@@RESULTS@@` (where the grader writes the results), `@@MARKER@@` (a unique word that every
process and file the attack creates carries) are filled in per run. Attacks that would be
dangerous on a machine whose isolation layer cannot stop them (`kill(-1)` as root) are skipped
there, with the reason, instead of run.

Runs go three at a time (each is mostly waiting on its children); limits are lowered for the
suite through ASYNCIO_KIT_LIMITS so hangs cost seconds, not the default ten.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import representative

from grader.model.curriculum import Exercise, load
from grader.sandbox.isolation import layers as isolation
from grader.sandbox.isolation import probe

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = Path(__file__).resolve().parent / "hostile"
SUITE_LIMITS = "wall_seconds=3,cpu_seconds=1"
WORKERS = 3
#: The suite grades every case once, up front (a shared fixture): on a loaded machine that takes
#: minutes, past pytest-timeout's default, which is a backstop here, not the guard.
pytestmark = pytest.mark.timeout(1800)
CURRICULUM = load(ROOT / "exercises" / "info.toml")
BY_ID = {exercise.id: exercise for exercise in CURRICULUM}
#: Where a surviving process or a stray file would show up.
SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")


# --- what a layer defends -------------------------------------------------------------------------
def _defends(need: str, layer: isolation.Layer) -> bool:
    """Whether `layer` stops the attacks that need `need` (else they must not run here)."""
    root = os.geteuid() == 0
    signal_scope = layer.has("landlock") and layer.landlock_abi >= 6
    return {
        # kill(-1) / killing the grader: only a different uid, a PID namespace or Landlock's
        # signal scope keep those signals inside the sandbox.
        "signals": layer.has("uid") or layer.has("pidns") or layer.has("bwrap") or signal_scope,
        # RLIMIT_NPROC never binds root: a fork bomb as root is stopped by nothing.
        "nproc": layer.has("uid") or not root,
        # The kit's files are world-readable: only hiding them or Landlock keeps them unread.
        "hidden-files": layer.has("mntns") or layer.has("landlock"),
        # Writes outside the run folder: another uid, a private /tmp, or Landlock.
        "private-writes": layer.has("uid") or layer.has("mntns") or layer.has("landlock"),
        # The grader's /proc entries (memory, cwd, environment): another uid, a PID namespace,
        # or Landlock (which denies /proc altogether).
        "grader-process": any(layer.has(c) for c in ("uid", "pidns", "bwrap", "landlock")),
        # A daemon that leaves the process group and wipes its environment escapes the
        # sweep unless its uid or PID namespace gives it away.
        "daemons": layer.has("uid") or layer.has("pidns") or layer.has("bwrap"),
    }[need]


WHY = {
    "signals": "signals from a same-uid child without a PID namespace reach the grader",
    "nproc": "RLIMIT_NPROC does not bind root, so a fork bomb would hit the machine",
    "hidden-files": "the kit's files are readable without a mount namespace or Landlock",
    "private-writes": "a same-uid child without Landlock can write where the grader can",
    "grader-process": "a same-uid child can read the grader's memory and files through /proc",
    "daemons": "a setsid daemon with a clean environment is only found by uid or PID namespace",
}


# --- cases ----------------------------------------------------------------------------------------
@dataclass
class Case:
    """One hostile submission folder and what its grade must look like."""

    name: str
    folder: Path
    target: str
    attack: str
    family: str
    reason: str
    honest: float = 0.0
    file: str = ""
    needs: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    hardlinks: dict[str, str] = field(default_factory=dict)
    fifos: list[str] = field(default_factory=list)
    pad_bytes: int = 0
    cwd: str = "kit"

    @classmethod
    def load(cls, folder: Path) -> Case:
        data = tomllib.loads((folder / "case.toml").read_text(encoding="utf-8"))
        return cls(name=folder.name, folder=folder, **data)

    @property
    def exercise(self) -> Exercise:
        return BY_ID[self.target]

    @property
    def linked_folders(self) -> list[str]:
        """Folders of the submission that this case replaces with a symbolic link."""
        return [_dir(self) for link in self.links if link == "@@DIR@@"]

    def skip_reason(self, layer: isolation.Layer) -> str | None:
        for need in self.needs:
            if not _defends(need, layer):
                return f"not run under isolation {layer.name!r}: {WHY[need]}"
        return None


def _cases() -> list[Case]:
    return sorted(
        (Case.load(folder) for folder in HOSTILE.iterdir() if (folder / "case.toml").is_file()),
        key=lambda case: case.name,
    )


CASES = _cases()


def _neighbours(target: str) -> list[Exercise]:
    """Two predict exercises, solved in every hostile submission: they must keep full marks."""
    return [e for e in CURRICULUM if e.kind == "predict" and e.id != target and e.supported()][:2]


# --- one run ---------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one hostile run did: the report, and what the harness saw around it."""

    case: Case
    returncode: int
    report: dict[str, Any] | None
    output: str
    canary_changed: list[str]
    kit_changed: list[str]
    strays: list[str]
    survivors: list[str]
    seconds: float


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    return text


def _build(case: Case, base: Path, values: dict[str, str]) -> Path:
    """Lay out the submission: the case's files (filled in), links, FIFOs, solved neighbours."""
    submission = base / "submission"
    submission.mkdir()
    for neighbour in _neighbours(case.target):
        destination = submission / neighbour.file
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "solutions" / neighbour.file, destination)
    for source in sorted(case.folder.rglob("*")):
        relative = source.relative_to(case.folder).as_posix()
        if source.is_dir() or relative == "case.toml":
            continue
        # The attacked file goes wherever the curriculum keeps that exercise now.
        if relative == case.file:
            relative = case.exercise.file
        destination = submission / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        text = _fill(source.read_text(encoding="utf-8"), values)
        if relative == case.exercise.file and case.pad_bytes:
            text += "\n# " + "x" * case.pad_bytes + "\n"
        destination.write_text(text, encoding="utf-8")
    for link, target in case.links.items():
        path = submission / _fill(link, {"FILE": case.exercise.file, "DIR": _dir(case)})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(_fill(target, values))
    for link, target in case.hardlinks.items():
        path = submission / _fill(link, {"FILE": case.exercise.file})
        path.parent.mkdir(parents=True, exist_ok=True)
        os.link(_fill(target, values), path)
    for fifo in case.fifos:
        path = submission / _fill(fifo, {"FILE": case.exercise.file})
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
    return submission


def _dir(case: Case) -> str:
    return str(Path(case.exercise.file).parent)


def _canary(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() if path.is_file() else b"<dir>"
        for path in sorted(folder.rglob("*"))
    }


_SKIP_IN_KIT = {".git", ".nox", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def _kit_marks(marker: str) -> list[str]:
    """Kit files named after the marker, or the watched kit files that now contain it."""
    found: list[str] = []
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in _SKIP_IN_KIT]
        found += [str(Path(folder) / n) for n in [*names, *dirs] if marker in n]
    watched = [
        ROOT / "README.md",
        *ROOT.joinpath("solutions").rglob("*.py"),
        *ROOT.joinpath("grader", "grading", "hidden").glob("*.py"),
    ]
    for path in watched:
        with contextlib.suppress(OSError):
            if marker.encode() in path.read_bytes():
                found.append(str(path))
    return found


def _strays(marker: str) -> list[str]:
    found: list[str] = []
    for top in SCRATCH:
        with contextlib.suppress(OSError):
            found += [str(p) for p in Path(top).iterdir() if marker in p.name]
    return found


def _survivors(marker: str) -> list[str]:
    """Live processes whose command line, name or environment carries the marker.

    A killed process stays a zombie until its new parent (the machine's init) reaps it: it
    runs nothing and holds nothing, so it does not count.
    """
    needle = marker.encode()
    found: list[str] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[0] in {b"Z", b"X"}:
                continue
        except (OSError, IndexError):
            continue
        for name in ("cmdline", "comm", "environ"):
            try:
                if needle in (entry / name).read_bytes():
                    found.append(f"pid {entry.name} ({name})")
                    break
            except OSError:
                continue
    return found


def run_case(case: Case, base: Path, extra_env: dict[str, str] | None = None) -> Outcome:
    """Grade one hostile submission with the real CLI and look around afterwards."""
    marker = "hk" + uuid.uuid4().hex[:12]
    canary = base / "canary"
    canary.mkdir()
    (canary / "canary.txt").write_text(f"canary {marker}\n", encoding="utf-8")
    results = base / "results.json"
    values = {
        "KIT": str(ROOT),
        "SOLUTION": str(ROOT / "solutions" / case.exercise.file),
        "CANARY": str(canary),
        "RESULTS": str(results),
        "MARKER": marker,
    }
    # A copy of the solution outside the submission, for the hard-link case.
    (base / "stash").mkdir()
    shutil.copyfile(ROOT / "solutions" / case.exercise.file, base / "stash" / "solution.py")
    submission = _build(case, base, values)
    before = _canary(canary)
    env = {**os.environ, "ASYNCIO_KIT_LIMITS": SUITE_LIMITS, **(extra_env or {})}
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "grader", "--submission", str(submission), "--json", str(results)],
        cwd=ROOT if case.cwd == "kit" else submission,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    seconds = time.monotonic() - started
    report = None
    if results.is_file():
        try:
            report = json.loads(results.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            report = None
    after = _canary(canary)
    return Outcome(
        case=case,
        returncode=completed.returncode,
        report=report,
        output=(completed.stdout + completed.stderr)[-4000:],
        canary_changed=sorted(set(before.items()) ^ set(after.items())),
        kit_changed=_kit_marks(marker),
        strays=_strays(marker),
        survivors=_survivors(marker),
        seconds=seconds,
    )


# --- running the selected cases two at a time ----------------------------------------------------
@pytest.fixture(scope="session")
def layer() -> isolation.Layer:
    """The layer this machine gives children (the CLI probes the same way)."""
    return probe.current()


FLOOR = {isolation.ENV_VAR: "rlimits"}
#: Cases also run with every OS layer switched off: what the floor alone must still hold.
FLOOR_CASES = [
    "exit-os",
    "forge-result-pipe",
    "hang-blocking",
    "exhaust-output",
    "exit-sys",
    "daemon-fork-loop",
]


@pytest.fixture(scope="session")
def hostile_outcomes(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    layer: isolation.Layer,
) -> dict[tuple[str, str], Outcome]:
    """Run every selected, runnable case once, in parallel, before the first check.

    Keys are (case name, "auto" or "floor").
    """
    wanted: list[tuple[Case, str]] = []
    for item in request.session.items:
        params = getattr(item, "callspec", None)
        if params is None or item.path != Path(__file__):
            continue
        if item.originalname == "test_hostile_submission":
            case = params.params["case"]
            if case.skip_reason(layer) is None:
                wanted.append((case, "auto"))
        elif item.originalname == "test_floor_layer_still_holds":
            wanted.append((next(c for c in CASES if c.name == params.params["name"]), "floor"))
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {
            (case.name, mode): pool.submit(
                run_case,
                case,
                tmp_path_factory.mktemp(f"{case.name}-{mode}"),
                FLOOR if mode == "floor" else None,
            )
            for case, mode in wanted
        }
        return {key: future.result() for key, future in futures.items()}


def _by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry for entry in report["exercises"]}


def check(outcome: Outcome) -> None:
    """Every promise the grader makes about a hostile submission."""
    case = outcome.case
    print(f"\n{case.name} [{case.family}]: {case.attack}")
    assert outcome.returncode == 0, f"grader exit {outcome.returncode}:\n{outcome.output}"
    report = outcome.report
    assert report is not None, f"no results file:\n{outcome.output}"
    print(f"  isolation: {report['isolation']}, {outcome.seconds:.1f} s")
    assert [entry["id"] for entry in report["exercises"]] == [e.id for e in CURRICULUM]
    results = _by_id(report)
    target = results[case.target]
    print(f"  {case.target}: {target['status']} {target['score']}/{target['max_score']}")
    print("  feedback: " + target["feedback"].split("\n\nHint:")[0][:600].replace("\n", "\n  | "))
    assert target["score"] <= case.honest, target["feedback"]
    if case.honest == 0:
        assert target["status"] != "passed"
    assert re.search(case.reason, target["feedback"], re.DOTALL), (case.reason, target["feedback"])
    solved = {e.id for e in _neighbours(case.target)}
    for exercise in CURRICULUM:
        if exercise.id == case.target:
            continue
        entry = results[exercise.id]
        if any(exercise.file.startswith(folder + "/") for folder in case.linked_folders):
            # Its file sits in the linked folder too: refused the same way, scoring nothing.
            assert entry["status"] == "error", (exercise.id, entry["feedback"])
            assert "symbolic link" in entry["feedback"]
            assert entry["score"] == 0
        elif exercise.id in solved:
            assert entry["status"] == "passed", (exercise.id, entry["feedback"])
            assert entry["score"] == entry["max_score"] == exercise.points
        elif exercise.supported():
            assert entry["status"] == "not-submitted", (exercise.id, entry["feedback"])
            assert entry["score"] == 0
    assert outcome.canary_changed == [], "the canary folder changed"
    assert outcome.kit_changed == [], "the kit tree changed"
    assert outcome.strays == [], "files appeared outside the temporary folder"
    assert outcome.survivors == [], "a learner process survived the run"


@pytest.mark.parametrize("case", representative(CASES, set()))
def test_hostile_submission(
    case: Case, layer: isolation.Layer, hostile_outcomes: dict[tuple[str, str], Outcome]
) -> None:
    reason = case.skip_reason(layer)
    if reason is not None:
        pytest.skip(reason)
    check(hostile_outcomes[case.name, "auto"])


@pytest.mark.parametrize("name", FLOOR_CASES)
def test_floor_layer_still_holds(
    name: str, hostile_outcomes: dict[tuple[str, str], Outcome]
) -> None:
    """With every OS layer switched off (rlimits only), the core defences still hold."""
    outcome = hostile_outcomes[name, "floor"]
    assert outcome.report is not None, outcome.output
    assert outcome.report["isolation"] == "rlimits"
    check(outcome)


def test_suite_covers_every_family_with_30_submissions() -> None:
    families = {case.family for case in CASES}
    assert len(CASES) >= 30
    assert {
        "forged reports",
        "shadowed modules",
        "always-equal objects",
        "snooping",
        "pre-written results",
        "exits and interrupts",
        "lingering code",
        "exhaustion",
        "reading the kit",
        "writing outside",
        "signalling the grader",
        "submission files",
        "predictions as code",
        "clear messages",
    } <= families
    for case in CASES:
        assert case.target in BY_ID, case.name
        assert re.compile(case.reason), case.name
