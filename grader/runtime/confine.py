"""Confines the sandbox child with Landlock before any learner code runs.

The parent decides which folders a run may touch (Python's own files, the runtime copy, the
run's folder) and passes them in the request; this module turns that into a Landlock ruleset
and applies it to the child itself, right after start-up and before the learner's module is
imported. From then on the process and everything it starts can read only those folders,
write only the run's folder, open no TCP connection (Landlock ABI 4+), and signal no process
outside its own sandbox (ABI 6+). The restriction cannot be lifted again.

Landlock is reached through its three system calls with ctypes, so nothing outside the
standard library is needed. `abi()` is the probe the parent uses to decide whether to ask for
it at all.

Standard library only: this module runs inside the learner's sandbox.
"""

from __future__ import annotations

import ctypes
import os
import stat
import sys
from typing import Any

# System call numbers: the same on every architecture that has Landlock (added after the
# syscall tables were unified).
_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# Filesystem rights (include/uapi/linux/landlock.h).
EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1  # ABI 4
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1  # ABI 6

_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = EXECUTE | READ_FILE | READ_DIR
WRITE = READ | WRITE_FILE | TRUNCATE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG


class ConfineError(OSError):
    """Landlock could not be applied; the parent treats the run as not isolated."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _libc() -> Any:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.restype = ctypes.c_int
    return libc


def abi() -> int:
    """The Landlock ABI version this kernel offers (0: none, or not allowed here)."""
    if not sys.platform.startswith("linux"):
        return 0  # Landlock's syscall numbers mean something else (or nothing) elsewhere
    try:
        libc = _libc()
    except OSError:
        return 0
    version = libc.syscall(
        _SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)
    )
    return max(int(version), 0)


def _handled_fs(version: int) -> int:
    rights = (1 << 13) - 1
    if version >= 2:  # noqa: PLR2004 - Landlock ABI numbers
        rights |= REFER
    if version >= 3:  # noqa: PLR2004
        rights |= TRUNCATE
    if version >= 5:  # noqa: PLR2004
        rights |= IOCTL_DEV
    return rights


def apply(spec: dict[str, Any]) -> dict[str, Any]:
    """Restrict this process to `spec` ({"read": [...], "write": [...], "files": {...}}).

    `read` folders may be read and executed, `write` folders also written (regular files and
    folders only: no links, devices, sockets or pipes), `files` maps single files to "r" or
    "rw". Returns what was applied; raises ConfineError if Landlock is missing or refuses.
    """
    libc = _libc()
    version = abi()
    if version < 1:
        msg = "Landlock is not available"
        raise ConfineError(msg)
    handled = _handled_fs(version)
    attr = _RulesetAttr(handled, 0, 0)
    size = 8
    if version >= 4:  # noqa: PLR2004 - TCP rights: handled with no rule, so all TCP is refused
        attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP
        size = 16
    if version >= 6:  # noqa: PLR2004 - no signals, no abstract sockets across the sandbox edge
        attr.scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL
        size = 24
    ruleset = libc.syscall(
        _SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        raise ConfineError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        rules: list[tuple[str, int]] = [(path, READ) for path in spec.get("read", [])]
        rules += [(path, WRITE) for path in spec.get("write", [])]
        rules += [
            (path, READ_FILE | (WRITE_FILE if mode == "rw" else 0))
            for path, mode in spec.get("files", {}).items()
        ]
        for path, rights in rules:
            _add_rule(libc, int(ruleset), path, rights & handled)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise ConfineError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(int(ruleset)), ctypes.c_uint32(0)) != 0:
            raise ConfineError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(int(ruleset))
    return {"landlock": version}


def _add_rule(libc: Any, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a folder this machine does not have: nothing to allow
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        rule = _PathBeneathAttr(rights, fd)
        if libc.syscall(
            _SYS_ADD_RULE,
            ctypes.c_int(ruleset),
            ctypes.c_int(_RULE_PATH_BENEATH),
            ctypes.byref(rule),
            ctypes.c_uint32(0),
        ):
            raise ConfineError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)
