"""File I/O around the stages: finding and reading spec files, writing outputs atomically."""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from plays.errors import UsageError


@dataclass(frozen=True, slots=True)
class Source:
    """One spec file: its display path (relative, ``/``-separated) and its text."""

    path: str
    text: str


def display_path(p: Path) -> str:
    """``p`` relative to the current directory when under it, with ``/`` separators.

    Symbolic links are kept as named (``specs/shared.play`` stays so even when it
    points elsewhere); only when that spelling is not under the current
    directory is the real path tried.
    """
    cwd = Path.cwd()
    for candidate, base in ((Path(os.path.abspath(p)), cwd), (p.resolve(), cwd.resolve())):
        try:
            return candidate.relative_to(base).as_posix()
        except ValueError:
            continue
    return p.as_posix()


def read_source(p: Path) -> Source:
    """Read one spec file as UTF-8 text; ``UsageError`` (a one-line message) when it cannot be."""
    shown = display_path(p)
    try:
        data = p.read_bytes()
    except IsADirectoryError:
        raise UsageError(f"{shown}: is a directory") from None
    except OSError as e:
        raise UsageError(f"{shown}: cannot read: {e.strerror or e}") from None
    if b"\x00" in data:
        raise UsageError(f"{shown}: not a text file (it contains NUL bytes; is it a binary file?)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise UsageError(
            f"{shown}: not UTF-8 text (byte 0x{data[e.start]:02x} at line {line}, byte {col} of the line); "
            "is it a binary file?"
        ) from None
    return Source(shown, text.removeprefix("\ufeff"))


def _walk(root: Path) -> list[Path]:
    """The ``*.play`` files under ``root``, skipping hidden folders (``.git``, ``.venv``...)."""

    def fail(e: OSError):
        raise UsageError(f"{display_path(Path(e.filename or root))}: cannot read: {e.strerror or e}")

    found = []
    for folder, dirs, names in os.walk(root, onerror=fail):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        # is_file() follows links and is false for a loop, a broken link, a FIFO: those are skipped
        found += [Path(folder, n) for n in names if n.endswith(".play") and Path(folder, n).is_file()]
    return found


def spec_files(raw: str) -> list[Path]:
    """The spec files one command-line path names: the ``*.play`` files of a folder, or the file itself.

    ``UsageError`` (one line) for a path that is empty, missing, a broken
    link, a symbolic link loop, unreadable, or not a regular file (a FIFO
    would block the read forever, a device is not a spec).
    """
    if raw == "":
        raise UsageError("an empty path was given (a quoted variable that is not set?)")
    p = Path(raw)
    try:
        st = os.stat(p)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UsageError(f"{raw}: symbolic link loop (the link leads back to itself)") from None
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            if os.path.lexists(p):
                raise UsageError(f"{raw}: broken link (what it points to does not exist)") from None
            if raw == "-":  # the Unix habit; only `plays fmt -` reads standard input
                raise UsageError("-: specs are read from files, not standard input (name .play files or "
                                 "folders; `plays fmt -` formats standard input)") from None
            raise UsageError(f"{raw}: no such file or directory") from None
        raise UsageError(f"{raw}: cannot read: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        found = _walk(p)
        if not found:
            raise UsageError(f"{raw}: no .play files in this directory")
        return found
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{raw}: not a regular file (a pipe, device or socket cannot be a spec)")
    return [p]


def discover(paths: list[str] | tuple[str, ...]) -> list[Source]:
    """Every ``*.play`` file under ``paths`` (explicit files are read whatever their name), sorted.

    A file reached twice (named and inside a named folder, or through two
    spellings of its path) is read once. Hidden folders are not searched.

    >>> discover(["specs"])  # doctest: +SKIP
    [Source(path='specs/alerts.play', text='...'), ...]
    """
    if not paths:
        raise UsageError("no spec paths given (for example: plays check specs/)")
    files: dict[Path, Path] = {}  # real path -> the path as reached
    for raw in paths:
        for q in spec_files(raw):
            files.setdefault(q.resolve(), q)
    sources = [read_source(q) for q in files.values()]
    return sorted(sources, key=lambda s: s.path)


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename it over.

    A failure (or a kill) at any moment leaves either the old file or the new
    one, never half a file. The temporary is ``.NAME.PID.XXXXXXXX.tmp``; one
    left behind by a process that was killed (SIGKILL gives no chance to clean
    up) is removed by the next write of the same file. ``UsageError`` when
    the folder is not writable.
    """
    with open_atomic(path, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


@contextmanager
def open_atomic(path: str | os.PathLike, mode: str = "w"):
    """A file to write ``path`` through, in pieces (large outputs): renamed over ``path`` only when the block ends well.

    Like ``write_atomic``: on any failure (a full disk, an interruption) the
    temporary file is removed and ``path`` is left as it was, and the
    temporaries of killed writers of ``path`` are removed first.
    ``UsageError`` when the folder is not writable or the disk is full.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    _remove_stale_temporaries(directory, base)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{base}.{os.getpid()}.", suffix=".tmp")
    except OSError as e:
        raise UsageError(f"{path}: cannot write: {e.strerror or e}") from None
    try:
        text = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **text) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the mode the old file
        # had, or the one a plain open() would have given.
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        raise UsageError(f"{path}: cannot write: {e.strerror or e}") from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


STALE_AFTER_S = 3600  # a temporary with no process id in its name is stale after an hour


def _remove_stale_temporaries(directory: str, base: str) -> None:
    """Remove temporaries of ``write_atomic`` for ``base`` whose writer is gone.

    Only names of our own pattern are touched: ``.BASE.PID.XXXXXXXX.tmp``
    whose process no longer runs, and ``.BASE.XXXXXXXX.tmp`` (written by
    an older plays, without a process id) older than an hour. A writer that
    is still running keeps its temporary.
    """
    ours = re.compile(re.escape(f".{base}.") + r"(?:(\d+)\.)?[a-z0-9_]{8}\.tmp")
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        m = ours.fullmatch(entry.name)
        if not m:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            stale = not _running(int(m.group(1))) if m.group(1) else now - entry.stat().st_mtime > STALE_AFTER_S
            if stale:
                os.unlink(entry.path)
        except OSError:
            continue  # gone already, or not ours to remove


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process (or an id we cannot ask about): leave it
    return True


def _mode_for(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
