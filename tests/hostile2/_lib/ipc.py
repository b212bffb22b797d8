# --- HOSTILE SysV IPC and scratch files (tests/hostile2/_lib/ipc.py, pasted in by the harness) ----
# The first run that gets here leaves a shared memory segment (with a lot of memory behind
# it), a message queue, a semaphore and files in every scratch folder; any later run - of
# this grading or of the next student's - that finds them prints what it found.
import ctypes as _ct
import os as _os

_KEY = @@IPCKEY@@
_IPC_CREAT, _IPC_EXCL, _IPC_NOWAIT = 0o1000, 0o2000, 0o4000
_GETVAL, _SETVAL = 12, 16
_libc = _ct.CDLL(None, use_errno=True)
_libc.shmat.restype = _ct.c_void_p
_libc.shmat.argtypes = [_ct.c_int, _ct.c_void_p, _ct.c_int]
_libc.shmdt.argtypes = [_ct.c_void_p]


class _Msg(_ct.Structure):
    _fields_ = [("mtype", _ct.c_long), ("mtext", _ct.c_char * 200)]


def leave_or_find_shm(payload, hold_bytes):
    """Find the segment an earlier run left (print it), or leave one holding `hold_bytes`."""
    found = _libc.shmget(_KEY, 0, 0)
    if found >= 0:
        address = _libc.shmat(found, None, 0)
        if address not in (None, _ct.c_void_p(-1).value):
            print(f"LEAKED[shm]: {_ct.string_at(address, 60).split(bytes(1))[0].decode(errors='replace')}")
        return
    created = _libc.shmget(_KEY, hold_bytes, _IPC_CREAT | _IPC_EXCL | 0o666)
    if created < 0:
        return
    address = _libc.shmat(created, None, 0)
    if address in (None, _ct.c_void_p(-1).value):
        return
    _ct.memset(address, 0x5A, hold_bytes)  # commit the memory: it stays after the run
    _ct.memmove(address, payload.encode() + bytes(1), len(payload) + 1)
    _libc.shmdt(address)


def leave_or_find_msg(payload):
    queue = _libc.msgget(_KEY + 1, 0)
    if queue >= 0:
        message = _Msg()
        if _libc.msgrcv(queue, _ct.byref(message), 200, 0, _IPC_NOWAIT) >= 0:
            print(f"LEAKED[msg]: {message.mtext.decode(errors='replace')}")
        else:
            print("LEAKED[msg]: a queue left by an earlier run")
        return
    queue = _libc.msgget(_KEY + 1, _IPC_CREAT | 0o666)
    if queue >= 0:
        message = _Msg(1, payload.encode()[:199])
        _libc.msgsnd(queue, _ct.byref(message), 200, _IPC_NOWAIT)


def leave_or_find_sem():
    semaphores = _libc.semget(_KEY + 2, 1, 0)
    if semaphores >= 0:
        print(f"LEAKED[sem]: value {_libc.semctl(semaphores, 0, _GETVAL)}")
        return
    semaphores = _libc.semget(_KEY + 2, 1, _IPC_CREAT | 0o666)
    if semaphores >= 0:
        _libc.semctl(semaphores, 0, _SETVAL, 42)


def leave_or_find_files(payload):
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        path = _os.path.join(folder, "@@MARKER@@-left")
        try:
            with open(path) as handle:
                print(f"LEAKED[{folder}]: {handle.read(60)}")
        except OSError:
            try:
                with open(path, "w") as handle:
                    handle.write(payload)
            except OSError:
                pass
# --- end of the IPC kit -----------------------------------------------------------------------
