"""The README's quick start works as written, for a learner who is not root, on a PEP 668 system.

Learners are never root, and the most common fresh Linux (Debian 12+, Ubuntu 23.04+) has a system
Python that refuses `pip install` (PEP 668, "externally managed"). So the quick start is read out
of the README's first code block - this test breaks when the README changes - and run line by
line, literally, by a user created for the test, with Debian's `/usr/bin/python3` first on the
path, in a copy of the kit that user owns (root's pyenv Pythons are out of its reach, as on a
learner's machine), with `solutions/` copied over `exercises/`: it must end with the score table
at full marks.

That run makes a virtual environment and installs nox and the grader's dependencies from PyPI
(about a minute): it runs once per `nox -s tests`, on the Python 3.11 session (the system Python
it uses is the same whichever session runs it), or wherever `KIT_QUICKSTART=1`; `KIT_QUICKSTART=0`
turns it off. The cheap checks (two commands, CI installs and tests as the README says) always run.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SYSTEM_PYTHON = Path("/usr/bin/python3")
QUICKSTART_VAR = "KIT_QUICKSTART"
#: What is not part of a fresh copy of the kit (environments, caches, local state).
_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".nox", ".venv", "__pycache__", ".*_cache", "*.egg-info", "build", "dist",
    ".kit-state.json", "uv.lock", "bench-results.json",
)  # fmt: skip


#: The machine's settings for reaching PyPI, passed on to the learner (nothing else is).
_NETWORK = {
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PIP_CERT", "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_NATIVE_TLS",
}  # fmt: skip


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def first_code_block(text: str, language: str = "sh") -> list[str]:
    match = re.search(rf"```{language}\n(.*?)```", text, re.DOTALL)
    assert match, f"no ```{language} block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def quickstart() -> list[str]:
    return first_code_block(section("Quick start"))


def test_the_quick_start_is_two_commands_on_every_system() -> None:
    assert len(quickstart()) == 2
    assert len(first_code_block(section("Quick start"), "powershell")) == 2


def test_ci_installs_as_the_quick_start_does_and_runs_the_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    (test_command,) = first_code_block(section("Running the kit's own tests"))
    assert quickstart()[0] in ci
    assert any(line.split(" 2>&1")[0] == test_command for line in ci), test_command


def _quickstart_wanted() -> str | None:
    """Why the slow quick-start run is skipped here, or None to run it."""
    wanted = os.environ.get(QUICKSTART_VAR, "")
    if wanted == "0":
        return f"{QUICKSTART_VAR}=0"
    if wanted != "1" and sys.version_info[:2] != (3, 11):
        return f"runs once per `nox -s tests`, on 3.11 (or set {QUICKSTART_VAR}=1)"
    if getattr(os, "geteuid", lambda: -1)() != 0:  # no geteuid on Windows
        return "needs root, to create an unprivileged learner"
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        return "needs useradd and userdel"
    if not SYSTEM_PYTHON.exists():
        return f"needs the system Python {SYSTEM_PYTHON}"
    return None


@pytest.fixture
def learner() -> Iterator[tuple[str, Path]]:
    """A new unprivileged user and a folder of its own (outside root's 0700 temp folders)."""
    if (reason := _quickstart_wanted()) is not None:
        pytest.skip(reason)
    name = f"kitqs{secrets.token_hex(3)}"
    top = Path(tempfile.mkdtemp(prefix="kit-quickstart-"))
    home = top / "home"
    created = subprocess.run(
        ["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/sh", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if created.returncode != 0:
        shutil.rmtree(top)
        pytest.skip(f"useradd failed: {created.stderr.strip()}")
    try:
        home.mkdir()
        top.chmod(0o755)
        shutil.chown(home, name, name)
        yield name, top
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False)
        shutil.rmtree(top, ignore_errors=True)


def run_as(name: str, command: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{SYSTEM_PYTHON.parent}:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "COLUMNS": "100",
    }
    # How this machine reaches PyPI (a proxy, its certificates) is the learner's too.
    env |= {k: v for k, v in os.environ.items() if k.lower().endswith("_proxy") or k in _NETWORK}
    return subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=cwd,
        env=env,
        user=name,
        group=name,
        extra_groups=[],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.timeout(1200)  # a venv and two rounds of installs from PyPI
def test_the_readmes_quick_start_grades_as_a_learner_on_a_pep_668_python(
    learner: tuple[str, Path],
) -> None:
    name, top = learner
    home, kit = top / "home", top / "kit"
    shutil.copytree(ROOT, kit, ignore=_NOT_COPIED)
    shutil.copytree(kit / "solutions", kit / "exercises", dirs_exist_ok=True)
    subprocess.run(["chown", "-R", f"{name}:{name}", str(kit)], check=True)

    found = run_as(
        name, "command -v python3 && python3 -c 'import sys; print(sys.prefix)'", kit, home
    )
    assert found.stdout.splitlines()[0] == str(SYSTEM_PYTHON), found.stdout + found.stderr
    refused = run_as(name, "python3 -m pip install --dry-run nox", kit, home)
    if "externally-managed-environment" not in refused.stdout + refused.stderr:
        pytest.skip(f"{SYSTEM_PYTHON} is not externally managed (PEP 668) on this machine")

    output = ""
    for command in quickstart():
        done = run_as(name, command, kit, home)
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"`{command}` failed:\n{output[-4000:]}"
    total = re.search(r"total\b.*?(\d+)/(\d+)", output)
    assert total, output[-4000:]
    assert total.group(1) == total.group(2) != "0", total.group(0)
    assert "isolation:" in output
