# --- HOSTILE keyrings (tests/hostile2/_lib/keys.py, pasted in by the harness) ------------------
# A forked process keeps its session keyring across setuid: read what the grader's session
# holds, plant keys in it, and leave keys under this run's uid.
import ctypes as _ct
import os as _os

_SYS_ADD_KEY = {"x86_64": 248, "aarch64": 217}.get(_os.uname().machine, 248)
_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(_os.uname().machine, 250)
_THREAD, _PROCESS, _SESSION, _USER, _USER_SESSION = -1, -2, -3, -4, -5
_DESCRIBE, _READ, _SEARCH = 6, 11, 10
_libc = _ct.CDLL(None, use_errno=True)
_libc.syscall.restype = _ct.c_long


def _read(serial):
    buffer = _ct.create_string_buffer(4096)
    size = _libc.syscall(_SYS_KEYCTL, _READ, serial, buffer, 4096)
    return buffer.raw[: max(size, 0)] if size >= 0 else None


def read_session():
    """Print every key of the session keyring this run inherited (and the test's own key)."""
    serial = _libc.syscall(_SYS_KEYCTL, _SEARCH, _SESSION, b"user", b"asyncio-kit-test:@@MARKER@@", 0)
    if serial > 0:
        print(f"LEAKED[key]: {(_read(serial) or b'(unreadable)').decode(errors='replace')}")
    listing = _read(_SESSION) or b""
    for i in range(0, len(listing), 4):
        key = int.from_bytes(listing[i : i + 4], "little")
        text = _ct.create_string_buffer(256)
        if _libc.syscall(_SYS_KEYCTL, _DESCRIBE, key, text, 256) >= 0 and b"asyncio-kit-test" in text.value:
            print(f"LEAKED[keyring]: {text.value.decode(errors='replace')[:80]}")


def plant(ring, label):
    payload = b"planted by a learner run"
    _libc.syscall(_SYS_ADD_KEY, b"user", f"{label}:@@MARKER@@".encode(), payload, len(payload), ring)


def plant_everywhere():
    for ring, label in ((_USER, "user"), (_USER_SESSION, "user-session")):
        plant(ring, label)
    # A keyring of its own, linked into the user keyring: outlives the process.
    _libc.syscall(_SYS_ADD_KEY, b"keyring", b"hoard:@@MARKER@@", None, 0, _USER)
# --- end of the keyring kit -------------------------------------------------------------------
