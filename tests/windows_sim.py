"""Run the grader as on Windows: the POSIX-only modules and functions Windows lacks are taken away.

The kit cannot be run on Windows here, so this launcher takes away, before anything of the
grader is imported, what a Windows Python does not have: the POSIX-only modules (`resource`,
`fcntl`, `pwd`, `grp`, `termios`, ...), the `os` functions (`fork`, `setsid`, `killpg`,
`getuid`, `wait4`, ...), `select.poll`/`epoll` (so `selectors` falls back to `select()`), and
the signals Windows does not define (`SIGKILL`, `SIGALRM`, ...). `sys.platform` stays `linux`:
faking it breaks `subprocess` itself, and the kit detects features rather than platforms.

The sandboxed children run under the same simulation: the launcher prefixes the child's boot
line with `take_away()`, so the runtime (`grader/runtime`) is imported without them too.

What it does not simulate: Windows pipes, `CREATE_NEW_PROCESS_GROUP`, `taskkill` and
TerminateProcess (those branches of `grader/sandbox/portable.py` have not run here).

Usage:  python tests/windows_sim.py -m grader --submission solutions --json out.json
        python tests/windows_sim.py -c "code"
"""

from __future__ import annotations

import os
import runpy
import select
import signal
import sys
from pathlib import Path

#: POSIX-only modules a Windows Python does not have.
MODULES = (
    "resource",
    "fcntl",
    "pwd",
    "grp",
    "termios",
    "tty",
    "pty",
    "readline",
    "syslog",
    "posixshmem",
    "_posixshmem",
    "spwd",
    "crypt",
    "nis",
)
#: `os` functions a Windows Python does not have (`os.kill` and `os.waitpid` it has). Not
#: `os.sysconf` (Linux's asyncio calls it at import) nor `os.sched_getaffinity` (3.13's
#: `os.process_cpu_count` calls it): the Linux standard library needs them where Windows' does not.
OS_FUNCTIONS = (
    "fork",
    "forkpty",
    "register_at_fork",
    "setsid",
    "getsid",
    "setpgid",
    "setpgrp",
    "getpgid",
    "getpgrp",
    "killpg",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "setuid",
    "seteuid",
    "setgid",
    "setegid",
    "setgroups",
    "getgroups",
    "initgroups",
    "getresuid",
    "setresuid",
    "wait3",
    "wait4",
    "pidfd_open",
    "chown",
    "lchown",
    "fchown",
    "getloadavg",
    "unshare",
    "setns",
)
#: `os` constants Windows does not define (no `dir_fd` either: `os.supports_dir_fd` is empty).
OS_CONSTANTS = ("O_NOFOLLOW", "O_DIRECTORY", "O_CLOEXEC", "O_NONBLOCK", "O_PATH", "O_NOCTTY")
SELECT_FUNCTIONS = ("poll", "epoll", "devpoll", "kqueue")
#: What Windows' `signal` module has; every other SIG* name and POSIX-only function goes.
WINDOWS_SIGNALS = {"SIGABRT", "SIGBREAK", "SIGFPE", "SIGILL", "SIGINT", "SIGSEGV", "SIGTERM"}
SIGNAL_FUNCTIONS = (
    "alarm",
    "pause",
    "setitimer",
    "getitimer",
    "siginterrupt",
    "pthread_kill",
    "pthread_sigmask",
    "sigpending",
    "sigwait",
    "sigwaitinfo",
    "sigtimedwait",
    "pidfd_send_signal",
)
#: Modules that chose an implementation from what they found when imported: imported again.
REIMPORT = ("selectors", "subprocess", "asyncio")
HERE = Path(__file__).resolve().parent


def take_away() -> None:
    """Remove from this interpreter what a Windows Python does not have."""
    for name in MODULES:
        sys.modules[name] = None  # type: ignore[assignment] # import now raises ImportError
    os.supports_dir_fd = set()
    if sys.version_info < (3, 12):
        del os.set_blocking  # Windows has it from 3.12 only
    for module, names in ((os, (*OS_FUNCTIONS, *OS_CONSTANTS)), (select, SELECT_FUNCTIONS)):
        for name in names:
            if hasattr(module, name):
                delattr(module, name)
    for name in [*dir(signal)]:
        posix_signal = name.startswith("SIG") and not name.startswith("SIG_")
        posix_signal = posix_signal and name not in WINDOWS_SIGNALS
        if posix_signal or name in SIGNAL_FUNCTIONS or name.startswith("ITIMER_"):
            delattr(signal, name)
    for name in [*sys.modules]:
        if name in REIMPORT or name.startswith("asyncio."):
            del sys.modules[name]


def _child_prelude() -> str:
    """Python that puts a sandboxed child under this simulation before its runtime loads."""
    return (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); import windows_sim; "
        "windows_sim.take_away(); sys.path.pop(0); "
    )


def main(argv: list[str]) -> None:
    """`-m MODULE ARGS...` or `-c CODE ARGS...`, run in this interpreter under the simulation."""
    if len(argv) < 2 or argv[0] not in {"-m", "-c"}:
        sys.exit(__doc__)
    take_away()
    sys.path.insert(0, str(HERE.parent))
    from grader.sandbox import spawn  # noqa: PLC0415 - only once the features are gone

    spawn._BOOT = _child_prelude() + spawn._BOOT
    flag, target, *rest = argv
    if flag == "-m":
        sys.argv = [target, *rest]
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        sys.argv = ["-c", *rest]
        exec(compile(target, "<windows-sim>", "exec"), {"__name__": "__main__"})


if __name__ == "__main__":
    main(sys.argv[1:])
