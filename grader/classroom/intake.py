"""Turns one student's upload - a folder, a .zip, or loose files - into a clean folder to grade.

`discover` reads a submissions folder in the layouts real exports use, one `Upload` per student:

- one folder or one .zip per student, named by the student id (the default);
- Gradescope's "Download Submissions": `submission_metadata.yml` (never a student) and one
  `submission_<id>` folder per submission; the metadata's `:sid:` (else `:email:`) is the
  student id, one row per submitter of a group submission;
- Canvas' "Download Submissions": loose files `name_<user id>_<attachment id>_<file>` (and
  `name_LATE_<user id>_...`), all of one student's files making one upload keyed by the user id;
  a resubmitted file arrives as `file-1.py`, `file-2.py`: the latest (highest attachment id,
  then suffix) is graded, and the row says so;
- Moodle's "Download all submissions": `Full Name_<participant id>_assignsubmission_file_`
  folders (or the same prefix on loose files), keyed by the participant id; the online-text
  plugin's entries hold no code and are set aside with a note.

Inside an upload the files may be laid out however the student packed them: at the top, under
`exercises/`, under a folder named after the student, or even loose. Intake finds the exercise
files by their curriculum paths, copies just those into a fresh folder (regular files only,
size-capped) and hashes them. Anything it skips that a student may have meant (a symbolic link,
a special file) is named in a note that reaches the student's feedback.

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
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from grader.model.text import os_name

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
    `files` lists loose files (name in the upload, path on disk) when the export scattered one
    student's files over the submissions folder (Canvas); `path` is then the first of them.
    `name` is the student's name when the export gives one; `notes` go to the feedback.
    """

    student: str
    path: Path
    problem: str | None = None
    name: str = ""
    notes: tuple[str, ...] = ()
    files: tuple[tuple[str, Path], ...] = ()

    @property
    def source(self) -> Path | tuple[tuple[str, Path], ...]:
        """What `materialize` reads: the loose files if any, else the folder or zip."""
        return self.files or self.path


@dataclass(frozen=True)
class Intake:
    """The exercise files found in an upload, copied to `folder` at their curriculum paths."""

    folder: Path
    found: tuple[str, ...]
    digest: str
    notes: tuple[str, ...] = ()


#: Gradescope's export lists each submission's submitters here; it is not a student.
GRADESCOPE_METADATA = "submission_metadata.yml"
_CANVAS = re.compile(
    r"^(?P<name>[^_]+)_(?:(?P<late>late)_)?(?P<user>\d+)_(?P<attachment>\d+)_(?P<file>.+)$",
    re.IGNORECASE,
)
_RESUBMISSION = re.compile(r"^(?P<stem>.+)-(?P<number>\d+)(?P<suffix>\.[^.]+)$")
_MOODLE = re.compile(
    r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<rest>.*)$"
)


def _gradescope_submitters(path: Path) -> dict[str, list[tuple[str, str]]]:
    """`submission_<id>` -> [(student id, name)] from Gradescope's submission_metadata.yml.

    The file is YAML written by Ruby (`submission_123:` / `:submitters:` / `- :name: ...`,
    `:sid: '100'`, `:email: ...`); only those keys are read, line by line, so no YAML library
    is needed. A submitter without a `:sid:` is keyed by email, else by the folder's name.
    """
    people: dict[str, list[dict[str, str]]] = {}
    folder: str | None = None
    current: list[dict[str, str]] | None = None  # inside a `:submitters:` list
    indent = 0
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    for line in text.splitlines():
        top = re.match(r"^(submission_\d+):\s*$", line)
        if top:
            folder, current = top.group(1), None
            people.setdefault(folder, [])
            continue
        key = re.match(r"^(\s*):submitters:\s*$", line)
        if key and folder is not None:
            current, indent = people[folder], len(key.group(1))
            continue
        stripped = line.lstrip()
        if current is None or not stripped:
            continue
        if len(line) - len(stripped) <= indent and not stripped.startswith("-"):
            current = None  # the next key of the submission: the submitters list has ended
            continue
        item = re.match(r"^\s*(-\s*)?:(name|sid|email):\s*(.*?)\s*$", line)
        if item:
            if item.group(1) or not current:
                current.append({})
            current[-1][item.group(2)] = item.group(3).strip("'\"")
    return {
        folder: [
            (person.get("sid") or person.get("email") or folder, person.get("name", ""))
            for person in submitters
        ]
        for folder, submitters in people.items()
    }


def _latest_canvas(
    entries: list[tuple[re.Match[str], Path]],
) -> tuple[list[tuple[str, Path]], list[str]]:
    """One student's Canvas files: the latest of each resubmitted file, and notes saying so."""
    by_base: dict[str, list[tuple[int, int, str, Path]]] = defaultdict(list)
    for match, path in entries:
        original = match.group("file")
        resubmission = _RESUBMISSION.match(original)
        base, number = original, 0
        if resubmission:
            base = resubmission.group("stem") + resubmission.group("suffix")
            number = int(resubmission.group("number"))
        by_base[base].append((int(match.group("attachment")), number, original, path))
    files: list[tuple[str, Path]] = []
    notes: list[str] = []
    for base in sorted(by_base):
        versions = sorted(by_base[base])
        attachment, _, original, path = versions[-1]
        files.append((base, path))
        if len(versions) > 1:
            older = ", ".join(version[2] for version in versions[:-1])
            notes.append(
                f"{len(versions)} uploads of {base}: graded the latest, {original} "
                f"(attachment {attachment}); not graded: {older}"
            )
    if any(match.group("late") for match, _ in entries):
        notes.append("Canvas marked this submission LATE")
    return files, notes


def discover(submissions: Path, exclude: Iterable[Path] = ()) -> list[Upload]:
    """The uploads in a submissions folder, one per student (see the module docstring).

    Hidden entries (`.DS_Store`, `__MACOSX`), Gradescope's metadata file and the paths in
    `exclude` (the batch's own outputs, if they were put inside the folder) are not uploads.
    Anything else that cannot be graded still gets an `Upload` with a `problem`, so it shows up
    in the gradebook instead of vanishing.
    """
    skipped = {path.resolve() for path in exclude}
    metadata = submissions / GRADESCOPE_METADATA
    gradescope = _gradescope_submitters(metadata) if metadata.is_file() else {}
    found: list[Upload] = []
    canvas: dict[str, list[tuple[re.Match[str], Path]]] = defaultdict(list)
    moodle: dict[str, list[tuple[re.Match[str], Path]]] = defaultdict(list)
    for entry in sorted(submissions.iterdir(), key=lambda path: path.name.lower()):
        name = entry.name
        if (
            name.startswith(".")
            or name in SKIP_DIRS
            or name == GRADESCOPE_METADATA
            or entry.resolve() in skipped
        ):
            continue
        moodle_match = _MOODLE.match(name)
        canvas_match = _CANVAS.match(name) if entry.is_file() else None
        if moodle_match and not entry.is_symlink():
            moodle[moodle_match.group("id")].append((moodle_match, entry))
        elif canvas_match and not entry.is_symlink():
            canvas[canvas_match.group("user")].append((canvas_match, entry))
        else:
            found += _plain_uploads(entry, gradescope.get(name))
    found += [_canvas_upload(user, entries) for user, entries in canvas.items()]
    found += [_moodle_upload(participant, entries) for participant, entries in moodle.items()]
    # Text from file names made writable before ids are compared: two names that read the same
    # once escaped are one student twice, refused below like any other duplicate.
    found = [_as_text(upload) for upload in found]
    counts = Counter(upload.student for upload in found)
    uploads: list[Upload] = []
    for student in sorted(counts, key=str.lower):
        mine = [upload for upload in found if upload.student == student]
        if len(mine) == 1:
            uploads.append(mine[0])
        else:
            names = " and ".join(os_name(upload.path.name) for upload in mine)
            problem = f"two uploads for the same student ({names}); keep one and grade again"
            uploads.append(Upload(student, mine[0].path, problem, name=mine[0].name))
    return uploads


def _as_text(upload: Upload) -> Upload:
    """`upload` with the text taken from file names (not UTF-8 on POSIX) made writable.

    The student id, name, problem and notes reach the CSV, the Markdown and the terminal; the
    path stays the real one, so the upload is still read from where it is.
    """
    return replace(
        upload,
        student=os_name(upload.student),
        name=os_name(upload.name),
        problem=None if upload.problem is None else os_name(upload.problem),
        notes=tuple(os_name(note) for note in upload.notes),
    )


def _plain_uploads(entry: Path, submitters: list[tuple[str, str]] | None) -> list[Upload]:
    """A folder or a zip named by the student id (or a Gradescope submission folder)."""
    name = entry.name
    if entry.is_symlink():
        return [Upload(name, entry, f"{name} is a symbolic link; links are not followed")]
    if entry.is_dir() and submitters is not None:
        people = submitters or [(name, "")]
        uploads = []
        for student, person in people:
            others = [other for other, _ in people if other != student]
            notes = [f"Gradescope {name}"]
            if others:
                notes.append(f"group submission {name}, with {', '.join(others)}")
            uploads.append(Upload(student, entry, name=person, notes=tuple(notes)))
        return uploads
    if entry.is_dir():
        return [Upload(name, entry)]
    if entry.is_file() and name.lower().endswith(".zip"):
        return [Upload(name[: -len(".zip")], entry)]
    return [Upload(name, entry, f"{name} is neither a folder nor a .zip archive")]


def _canvas_upload(user: str, entries: list[tuple[re.Match[str], Path]]) -> Upload:
    """One Canvas user's loose files (or their one zip), the latest of each resubmission."""
    files, notes = _latest_canvas(entries)
    student_name = entries[0][0].group("name")
    if len(files) == 1 and files[0][0].lower().endswith(".zip"):
        return Upload(user, files[0][1], name=student_name, notes=tuple(notes))
    return Upload(user, files[0][1], name=student_name, notes=tuple(notes), files=tuple(files))


def _moodle_upload(participant: str, entries: list[tuple[re.Match[str], Path]]) -> Upload:
    """One Moodle participant's entries: the file plugin's folder or files make the upload."""
    name = entries[0][0].group("name")
    notes: list[str] = []
    code = [(match, path) for match, path in entries if match.group("plugin") == "file"]
    for match, path in entries:
        if match.group("plugin") != "file":
            notes.append(f"{path.name} (Moodle {match.group('plugin')}) holds no code; not graded")
    folders = [path for match, path in code if not match.group("rest") and path.is_dir()]
    loose = [(match.group("rest"), path) for match, path in code if match.group("rest")]
    if len(folders) == 1 and not loose:
        return Upload(participant, folders[0], name=name, notes=tuple(notes))
    if loose and not folders:
        if len(loose) == 1 and loose[0][0].lower().endswith(".zip"):
            return Upload(participant, loose[0][1], name=name, notes=tuple(notes))
        return Upload(participant, loose[0][1], name=name, notes=tuple(notes), files=tuple(loose))
    where = entries[0][1]
    problem = (
        "no file submission in this Moodle export"
        if not code
        else "more than one Moodle file submission; keep one and grade again"
    )
    return Upload(participant, where, problem, name=name, notes=tuple(notes))


def materialize(
    source: Path | tuple[tuple[str, Path], ...], exercise_files: Sequence[str], dest: Path
) -> Intake:
    """Copy the exercise files found in `source` (a folder, a .zip, or loose files) into `dest`.

    Raises IntakeError if the upload is empty, damaged, unsafe, or holds no exercise file.
    """
    if isinstance(source, tuple):
        loose = _LooseFiles(source)
        try:
            return _copy_found(loose, exercise_files, dest, nested=0)
        finally:
            loose.close()
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
    #: Entries that were passed over and that a student may have meant (links, special files).
    skipped: tuple[str, ...] = ()

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
        skipped: list[str] = []
        count = 0
        for directory, dirnames, filenames in os.walk(root, followlinks=False):
            relative = Path(directory).relative_to(root)
            linked = sorted(name for name in dirnames if (Path(directory) / name).is_symlink())
            skipped += [f"{(relative / name).as_posix()}/ (a link to a folder)" for name in linked]
            dirnames[:] = sorted(
                name for name in dirnames if name not in SKIP_DIRS and name not in linked
            )
            for name in sorted(filenames):
                count += 1
                if count > MAX_ENTRIES:
                    msg = f"{self.label} holds more than {MAX_ENTRIES} files"
                    raise IntakeError(msg)
                path = (relative / name).as_posix()
                if _skipped(PurePosixPath(path).parts):
                    continue
                if _is_regular(root / path):
                    self._paths.append(path)
                else:
                    kind = "a symbolic link" if (root / path).is_symlink() else "not a regular file"
                    skipped.append(f"{path} ({kind})")
        self.skipped = tuple(skipped)

    def paths(self) -> list[str]:
        return list(self._paths)

    def read(self, path: str, cap: int) -> bytes:
        return self.read_path(self.root / path, path, cap)

    @staticmethod
    def read_path(full: Path, path: str, cap: int) -> bytes:
        """Read a regular file without following a link, up to `cap` bytes."""
        # O_NOFOLLOW: a file swapped for a link after the walk is still not followed.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        try:
            handle = os.open(full, flags)
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


class _LooseFiles(_Files):
    """Files scattered over an export (Canvas), each under the name the student gave it."""

    def __init__(self, files: tuple[tuple[str, Path], ...]) -> None:
        self.files = dict(files)
        first = next(iter(self.files.values()), None)
        self.label = first.name if first is not None else "upload"
        self.skipped = tuple(
            f"{path.name} (a symbolic link)" for path in self.files.values() if path.is_symlink()
        )
        self.files = {name: path for name, path in self.files.items() if _is_regular(path)}

    def paths(self) -> list[str]:
        return list(self.files)

    def read(self, path: str, cap: int) -> bytes:
        return _FolderFiles.read_path(self.files[path], path, cap)

    def nested_archives(self) -> list[str]:
        return [path for path in self.files if path.lower().endswith(".zip")]


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
        skipped: list[str] = []
        for info in infos:
            name = info.filename.replace("\\", "/")
            _check_member_name(name, label)
            parts = PurePosixPath(name).parts
            if info.is_dir() or not parts or _skipped(parts):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                # Never followed, never read (it could name the instructor's solutions): passed
                # over, and named in that student's feedback, as a link in a folder is.
                skipped.append(f"{name} (a symbolic link)")
                continue
            path = PurePosixPath(*parts).as_posix()
            if path in self.members:
                msg = f"{label} lists {path} twice; zip the folder again"
                raise IntakeError(msg)
            self.members[path] = info
        self.skipped = tuple(skipped)

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
    notes = [f"skipped {entry}: not graded" for entry in files.skipped]
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
    if depth > 0 or not isinstance(files, (_FolderFiles, _ZipFiles, _LooseFiles)):
        return None
    archives = files.nested_archives()
    if len(archives) != 1:
        return None
    data = files.read(archives[0], MAX_NESTED_BYTES + 1)
    if len(data) > MAX_NESTED_BYTES:
        msg = f"{files.label}: the archive inside it, {archives[0]}, is larger than 32 MiB"
        raise IntakeError(msg)
    return _open_zip_bytes(data, f"{files.label}/{archives[0]}")
