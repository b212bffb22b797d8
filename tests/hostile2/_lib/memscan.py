# --- HOSTILE memory scan (tests/hostile2/_lib/memscan.py, pasted in by the harness) ----------
# Reads this process's own address space - everything it inherited from whatever it was forked
# from - and looks for any line of the kit's solutions and hidden tests, and for another
# student's secret. It holds only hashes of what it looks for, so it never finds itself.
# Without /proc (Landlock), readable memory is found by write(2)-ing it into a pipe: the kernel
# answers EFAULT for an unmapped address instead of crashing.
import base64 as _b64
import ctypes as _ct
import gc as _gc
import hashlib as _hl
import os as _os
import re as _re

_WANTED = {}
for _entry in @@NEEDLES@@ + ["@@SECRETNEEDLE@@"]:
    _WANTED[_entry] = True
_B64 = _re.compile(rb"[A-Za-z0-9+/]{80,}={0,2}")
_CHUNK = 1 << 16
_BUDGET = 160 << 20


def _digest(line):
    return _hl.sha256(line).hexdigest()[:24]


def _lines_in(data, found):
    for piece in data.replace(b"\\n", b"\n").split(b"\n"):
        line = piece.strip()
        if 16 <= len(line) <= 200 and _digest(line) in _WANTED:
            found.add(line[:50].decode("utf-8", "replace"))
    for run in _B64.findall(data):
        for skip in range(4):
            try:
                decoded = _b64.b64decode(run[skip: len(run) - (len(run) - skip) % 4])
            except ValueError:
                continue
            if b"\n" in decoded:
                for piece in decoded.split(b"\n"):
                    line = piece.strip()
                    if 16 <= len(line) <= 200 and _digest(line) in _WANTED:
                        found.add("b64:" + line[:46].decode("utf-8", "replace"))


def _regions_from_proc():
    try:
        with open("/proc/self/maps") as maps:
            listing = maps.read()
    except OSError:
        return None
    regions = []
    for row in listing.splitlines():
        span, perms = row.split()[:2]
        if perms.startswith("r") and "[vvar" not in row and "[vsyscall" not in row:
            start, end = (int(x, 16) for x in span.split("-"))
            regions.append((start, end))
    return regions


def scan_memory():
    """Every wanted line found in readable memory (a set of short excerpts)."""
    found = set()
    libc = _ct.CDLL(None, use_errno=True)
    libc.write.argtypes = [_ct.c_int, _ct.c_void_p, _ct.c_size_t]
    libc.write.restype = _ct.c_ssize_t
    read_end, write_end = _os.pipe()
    _os.set_blocking(write_end, False)

    def peek(address):
        count = libc.write(write_end, address, _CHUNK)
        if count <= 0:
            return None
        return _os.read(read_end, count)

    regions = _regions_from_proc()
    seen = set()
    budget = [_BUDGET]

    def walk(address, step):
        tail = b""
        while budget[0] > 0 and address > 0 and address not in seen:
            seen.add(address)
            data = peek(address)
            if data is None:
                return
            budget[0] -= len(data)
            _lines_in(tail + data if step > 0 else data + tail, found)
            tail = data[-256:] if step > 0 else data[:256]
            address += step

    if regions is not None:
        for start, end in regions:
            address = start
            while address < end and budget[0] > 0:
                data = peek(address)
                if data is not None:
                    budget[0] -= len(data)
                    _lines_in(data, found)
                address += _CHUNK
    else:
        seeds = {id(obj) & ~(_CHUNK - 1) for obj in _gc.get_objects()[::97]}
        seeds.add(_ct.addressof(_ct.create_string_buffer(1 << 20)) & ~(_CHUNK - 1))
        libc.sbrk.restype = _ct.c_void_p
        seeds.add(((libc.sbrk(0) or 0) & ~(_CHUNK - 1)) - _CHUNK)
        for seed in sorted(seeds):
            walk(seed, _CHUNK)
            walk(seed - _CHUNK, -_CHUNK)
    _os.close(read_end)
    _os.close(write_end)
    return found


def scan_objects():
    """Every wanted line held by a Python object this process can reach (gc, frames, modules)."""
    import sys

    found = set()
    pool = list(_gc.get_objects())
    pool += list(getattr(sys, "getobjects", lambda n: [])(0))
    for obj in list(pool):
        if isinstance(obj, dict):
            pool.extend(obj.values())
            pool.extend(obj.keys())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            pool.extend(obj)
    for module in list(sys.modules.values()):
        pool.extend(vars(module).values())
    for obj in pool:
        if isinstance(obj, str) and len(obj) >= 16:
            _lines_in(obj.encode("utf-8", "replace"), found)
        elif isinstance(obj, (bytes, bytearray)) and len(obj) >= 16:
            _lines_in(bytes(obj), found)
    return found


def report(found):
    """Print what was found first, where the grader's feedback shows this run's lines."""
    for excerpt in sorted(found)[:5]:
        print(f"LEAKED[{len(found)}]: {excerpt}")
# --- end of the memory scan -------------------------------------------------------------------
