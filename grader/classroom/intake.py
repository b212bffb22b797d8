"""Turns one student's upload - a folder or a .zip - into a clean folder the grader can read.

LMS and Gradescope exports give one folder or one .zip per student, laid out however the
student packed it: the exercise files at the top, under `exercises/`, under a folder named
after the student, or even loose. Intake finds the exercise files by their curriculum paths,
copies just those into a fresh folder (regular files only, size-capped) and hashes them.

Why it is built this way:
- Nothing from an upload is ever written under a name the upload chose, so a zip-slip cannot
  write outside the folder; an archive that tries it (absolute paths, `..`) is still refused
  with a clear message, because no honest zip tool makes one.
- Symbolic links are never followed: one could point the grader at the instructor's solutions.
- Archive bombs cost nothing: only the members that are exercise files are decompressed, each
  read with a cap; an archive inside the upload is opened one level deep only, with a cap.
- The content hash covers exactly what is graded, so re-running a batch can skip a student
  whose files did not change, however the upload around them was repacked.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import zipfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

KIB = 1024
MIB = 1024 * KIB

#: At most this many entries are listed in one upload (zip members or files in a folder).
MAX_ENTRIES = 20_000
#: An exercise file is read up to this size; the grader itself refuses files over 256 KiB, so a
#: file cut here is still reported as too large, by the grader, for that exercise only.
MAX_FILE_BYTES = 1 * MIB
#: An archive inside the upload (a zip of a zip) is read up to this size, one level deep.
MAX_NESTED_BYTES = 32 * MIB
#: Folders that are never exercise folders: tool caches, virtualenvs, VCS data, macOS forks.
SKIP_DIRS = frozenset(
    {
        "__MACOSX",
        "__pycache__",
        ".git",
        ".hg",
        ".nox",
        ".tox",
        ".venv",
        "venv",
        "node_modules",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".idea",
        ".vscode",
    }
)
_DRIVE = re.compile(r"^[A-Za-z]:")


class IntakeError(ValueError):
    """The upload cannot be graded at all; the message says why, for the instructor."""


@dataclass(frozen=True)
class Upload:
    """One student's upload in a submissions folder.

    `problem` is set when the entry cannot be graded at all (not a folder or a zip, a link, a
    second upload under the same student id); the batch reports it as that student's error.
    """

    student: str
    path: Path
    problem: str | None = None


@dataclass(frozen=True)
class Intake:
    """The exercise files found in an upload, copied to `folder` at their curriculum paths."""

    folder: Path
    found: tuple[str, ...]
    digest: str
    notes: tuple[str, ...] = ()


def discover(submissions: Path, exclude: Iterable[Path] = ()) -> list[Upload]:
    """The uploads in a submissions folder: one folder or one `.zip` per student.

    The student id is the folder's name, or the zip's name without `.zip`. Hidden entries
    (`.DS_Store`, `__MACOSX`) and the paths in `exclude` (the batch's own outputs, if they were
    put inside the folder) are not uploads. Anything else that cannot be graded still gets an
    `Upload` with a `problem`, so it shows up in the gradebook instead of vanishing.
    """
    skipped = {path.resolve() for path in exclude}
    found: list[Upload] = []
    for entry in sorted(submissions.iterdir(), key=lambda path: path.name.lower()):
        name = entry.name
        if name.startswith(".") or name in SKIP_DIRS or entry.resolve() in skipped:
            continue
        if entry.is_symlink():
            found.append(Upload(name, entry, f"{name} is a symbolic link; links are not followed"))
        elif entry.is_dir():
            found.append(Upload(name, entry))
        elif entry.is_file() and name.lower().endswith(".zip"):
            found.append(Upload(name[: -len(".zip")], entry))
        else:
            found.append(Upload(name, entry, f"{name} is neither a folder nor a .zip archive"))
    counts = Counter(upload.student for upload in found)
    uploads: list[Upload] = []
    for student in sorted(counts, key=str.lower):
        mine = [upload for upload in found if upload.student == student]
        if len(mine) == 1:
            uploads.append(mine[0])
        else:
            names = " and ".join(upload.path.name for upload in mine)
            problem = f"two uploads for the same student ({names}); keep one and grade again"
            uploads.append(Upload(student, mine[0].path, problem))
    return uploads


def materialize(source: Path, exercise_files: Sequence[str], dest: Path) -> Intake:
    """Copy the exercise files found in `source` (a folder or a .zip) into `dest`.

    Raises IntakeError if the upload is empty, damaged, unsafe, or holds no exercise file.
    """
    if source.is_symlink():
        msg = f"{source.name} is a symbolic link; links are not followed"
        raise IntakeError(msg)
    files: _Files
    if source.is_dir():
        files = _FolderFiles(source)
    elif source.is_file():
        files = _open_zip_file(source)
    else:
        msg = f"{source} is not a folder or a file"
        raise IntakeError(msg)
    try:
        return _copy_found(files, exercise_files, dest, nested=0)
    finally:
        files.close()


def locate(paths: Iterable[str], exercise_files: Sequence[str]) -> dict[str, str]:
    """Map each exercise file to the path that holds it in an upload listing.

    The exercise root is the folder under which the most exercise files sit at their curriculum
    paths (the shallowest on a tie): the top, `exercises/`, `alice/exercises/`, ... An exercise
    file missing under that root is then looked for by its file name alone, when that name is
    unique both in the curriculum and in the upload (students sometimes upload loose files).
    """
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        by_name[PurePosixPath(path).name].append(path)
    roots: Counter[str] = Counter()
    for file in exercise_files:
        for path in by_name.get(PurePosixPath(file).name, []):
            if path == file:
                roots[""] += 1
            elif path.endswith("/" + file):
                roots[path[: -len(file)]] += 1
    mapping: dict[str, str] = {}
    if roots:
        root = min(roots, key=lambda prefix: (-roots[prefix], prefix.count("/"), prefix))
        present = {path for names in by_name.values() for path in names}
        mapping = {file: root + file for file in exercise_files if root + file in present}
    names = Counter(PurePosixPath(file).name for file in exercise_files)
    used = set(mapping.values())
    for file in exercise_files:
        name = PurePosixPath(file).name
        if file in mapping or names[name] != 1:
            continue
        candidates = [path for path in by_name.get(name, []) if path not in used]
        if len(candidates) == 1:
            mapping[file] = candidates[0]
            used.add(candidates[0])
    return mapping


# --- listing and reading uploads -------------------------------------------------------------
class _Files:
    """The regular files of an upload, by relative POSIX path, read with a size cap."""

    label: str

    def paths(self) -> list[str]:
        raise NotImplementedError

    def read(self, path: str, cap: int) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the listing holds open."""


def _skipped(parts: Sequence[str]) -> bool:
    """True for paths inside tool folders and for macOS metadata files."""
    name = parts[-1] if parts else ""
    return any(part in SKIP_DIRS for part in parts[:-1]) or name in {".DS_Store", "Thumbs.db"}


class _FolderFiles(_Files):
    """A folder, walked without following links."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = root.name
        self._paths: list[str] = []
        count = 0
        for directory, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(name for name in dirnames if name not in SKIP_DIRS)
            relative = Path(directory).relative_to(root)
            for name in sorted(filenames):
                count += 1
                if count > MAX_ENTRIES:
                    msg = f"{self.label} holds more than {MAX_ENTRIES} files"
                    raise IntakeError(msg)
                path = (relative / name).as_posix()
                if not _skipped(PurePosixPath(path).parts) and _is_regular(root / path):
                    self._paths.append(path)

    def paths(self) -> list[str]:
        return list(self._paths)

    def read(self, path: str, cap: int) -> bytes:
        # O_NOFOLLOW: a file swapped for a link after the walk is still not followed.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        try:
            handle = os.open(self.root / path, flags)
        except OSError as exc:
            msg = f"cannot read {path}: {exc.strerror}"
            raise IntakeError(msg) from exc
        with os.fdopen(handle, "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                msg = f"{path} is not a regular file"
                raise IntakeError(msg)
            return stream.read(cap)

    def nested_archives(self) -> list[str]:
        return [path for path in self._paths if path.lower().endswith(".zip")]


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


class _ZipFiles(_Files):
    """A zip archive's members, checked for unsafe names before anything is read."""

    def __init__(self, archive: zipfile.ZipFile, label: str) -> None:
        self.archive = archive
        self.label = label
        infos = _infolist(archive, label)
        if len(infos) > MAX_ENTRIES:
            msg = f"{label} holds more than {MAX_ENTRIES} entries"
            raise IntakeError(msg)
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename.replace("\\", "/")
            _check_member_name(name, label)
            parts = PurePosixPath(name).parts
            if info.is_dir() or not parts or _skipped(parts):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                msg = f"{label} contains a symbolic link ({name}); zip the files themselves"
                raise IntakeError(msg)
            path = PurePosixPath(*parts).as_posix()
            if path in self.members:
                msg = f"{label} lists {path} twice; zip the folder again"
                raise IntakeError(msg)
            self.members[path] = info

    def paths(self) -> list[str]:
        return list(self.members)

    def read(self, path: str, cap: int) -> bytes:
        info = self.members[path]
        if info.flag_bits & 0x1:
            msg = f"{self.label} is password-protected; upload it without a password"
            raise IntakeError(msg)
        try:
            with self.archive.open(info) as stream:
                return stream.read(cap)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError) as exc:
            msg = f"{self.label} is damaged: {path} cannot be read ({exc})"
            raise IntakeError(msg) from exc
        except NotImplementedError as exc:
            msg = f"{self.label} uses a compression method Python cannot read ({path})"
            raise IntakeError(msg) from exc

    def close(self) -> None:
        self.archive.close()

    def nested_archives(self) -> list[str]:
        return [path for path in self.members if path.lower().endswith(".zip")]


def _infolist(archive: zipfile.ZipFile, label: str) -> list[zipfile.ZipInfo]:
    try:
        return archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:  # pragma: no cover - defensive
        msg = f"{label} is damaged: {exc}"
        raise IntakeError(msg) from exc


def _check_member_name(name: str, label: str) -> None:
    """Refuse names that would land outside the folder if a careless tool extracted them."""
    parts = name.split("/")
    if name.startswith("/") or _DRIVE.match(name) or ".." in parts or "\x00" in name:
        msg = (
            f"{label} holds an unsafe path {name!r} that points outside the archive's folder "
            "(a zip-slip); it was not extracted"
        )
        raise IntakeError(msg)


def _open_zip_bytes(data: bytes, label: str) -> _ZipFiles:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        msg = f"{label} is not a readable .zip archive (damaged, or not a zip)"
        raise IntakeError(msg) from exc
    try:
        return _ZipFiles(archive, label)
    except BaseException:
        archive.close()
        raise


def _open_zip_file(path: Path) -> _ZipFiles:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        msg = f"{path.name} is not a readable .zip archive (damaged, or not a zip)"
        raise IntakeError(msg) from exc
    try:
        return _ZipFiles(archive, path.name)
    except BaseException:
        archive.close()
        raise


# --- copying what was found ------------------------------------------------------------------
def _copy_found(files: _Files, exercise_files: Sequence[str], dest: Path, nested: int) -> Intake:
    paths = files.paths()
    if not paths:
        msg = f"{files.label}: the upload is empty, there is no file to grade"
        raise IntakeError(msg)
    mapping = locate(paths, exercise_files)
    if not mapping:
        inner = _nested(files, nested)
        if inner is not None:
            try:
                return _copy_found(inner, exercise_files, dest, nested + 1)
            finally:
                inner.close()
        example = exercise_files[0] if exercise_files else "an exercise file"
        msg = (
            f"{files.label} holds no exercise file: expected files such as {example} "
            "(at the top of the upload or inside one folder)"
        )
        raise IntakeError(msg)
    dest.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    notes: list[str] = []
    for file in exercise_files:
        if file not in mapping:
            continue
        data = files.read(mapping[file], MAX_FILE_BYTES + 1)
        target = dest / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        digest.update(f"{file}\0{len(data)}\0".encode())
        digest.update(data)
        if mapping[file] != file and not mapping[file].endswith("/" + file):
            notes.append(f"{file} was found as {mapping[file]}")
    found = tuple(file for file in exercise_files if file in mapping)
    return Intake(dest, found, digest.hexdigest(), tuple(notes))


def _nested(files: _Files, depth: int) -> _Files | None:
    """The one archive inside an upload that holds no exercise file, opened one level deep."""
    if depth > 0 or not isinstance(files, (_FolderFiles, _ZipFiles)):
        return None
    archives = files.nested_archives()
    if len(archives) != 1:
        return None
    data = files.read(archives[0], MAX_NESTED_BYTES + 1)
    if len(data) > MAX_NESTED_BYTES:
        msg = f"{files.label}: the archive inside it, {archives[0]}, is larger than 32 MiB"
        raise IntakeError(msg)
    return _open_zip_bytes(data, f"{files.label}/{archives[0]}")
