"""Owner-only files: keys, warehouse, vault and log are readable by the hub's user alone.

Folders are 0700 and files 0600. Libraries that create files themselves (DuckDB, a
logger) are followed by `make_private`; a file found with group or other bits is
refused by `require_private`, naming the file and the `chmod` that fixes it, rather
than silently tightened: a widened key or warehouse may already have been read.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
_GROUP_OR_OTHER = 0o077


class FileModeError(Exception):
    """A private file or folder is readable or writable by others than its owner."""


def private_dir(path: Path, *, tighten_existing: bool = False) -> Path:
    """Create `path` and its missing parents as 0700 folders.

    Folders that already exist are left as they are (they may be shared: /tmp, $HOME,
    the working directory), unless `tighten_existing`, for a folder that is the hub's
    own (the keys folder).
    """
    missing = []
    for folder in [path, *path.parents]:
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by a concurrent caller meanwhile
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode is narrowed by umask, not set
    if tighten_existing:
        os.chmod(path, PRIVATE_DIR_MODE)
    return path


def make_private(path: Path) -> Path:
    """Set `path` to owner-only (0600 for a file, 0700 for a folder), e.g. right after a
    library created it with its own default mode."""
    os.chmod(path, PRIVATE_DIR_MODE if path.is_dir() else PRIVATE_FILE_MODE)
    return path


def make_database_private(path: Path) -> None:
    """Set a DuckDB file and its write-ahead log (when there is one) to 0600: DuckDB
    creates both with the process's umask."""
    for file in (path, path.with_name(path.name + ".wal")):
        if file.exists():
            make_private(file)


def is_private(path: Path) -> bool:
    """True when neither group nor others have any permission on `path`."""
    return not path.stat().st_mode & _GROUP_OR_OTHER


def require_private(path: Path, *, what: str = "file") -> Path:
    """Refuse `path` when group or others have any permission on it.

    The message names the file, its mode and the command that fixes it; `what` says
    what it is ("private key", "warehouse") so the reader knows why it matters.
    """
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & _GROUP_OR_OTHER:
        wanted = PRIVATE_DIR_MODE if path.is_dir() else PRIVATE_FILE_MODE
        access = "readable" if mode & 0o044 else "writable" if mode & 0o022 else "usable"
        raise FileModeError(
            f"{what} {path} is {access} by others (mode {mode:04o}); it must be owner-only: "
            f"run `chmod {wanted:o} {path}`")
    return path


def write_private(path: Path, data: bytes) -> Path:
    """Write `data` to `path` atomically as a 0600 file (temp file, fsync, rename).

    The temp file is created 0600 from the start, so the content is never visible to
    others, not even for an instant; a crash leaves the old file or the new one.
    """
    temp = _private_temp(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def create_private(path: Path, data: bytes) -> Path:
    """Create `path` as a new 0600 file holding `data`; refuses (FileExistsError) to
    overwrite one, also one another process created a moment before.

    Written whole to a private temp file and then linked into place, so a process that
    finds `path` never reads it half-written (parallel steps create keys on a first run).
    """
    temp = _private_temp(path, data)
    try:
        os.link(temp, path)  # atomic, and fails where `path` exists: O_EXCL for the whole file
    finally:
        temp.unlink(missing_ok=True)
    return path


def local_secret(path: Path, size: int = 32) -> bytes:
    """A random secret of this installation at `path` (0600), made on first use; two
    processes making it at once end up with the same one."""
    if not path.exists():
        private_dir(path.parent)
        with contextlib.suppress(FileExistsError):  # another process made it first
            create_private(path, secrets.token_bytes(size))
    return require_private(path, what="secret").read_bytes()


def _private_temp(path: Path, data: bytes) -> Path:
    """`data` written and fsynced to a 0600 temp file beside `path`, this thread's own."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, PRIVATE_FILE_MODE)  # O_CREAT's mode does not apply to a leftover
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on the private file `path` (created if missing)
    until the block ends; a process killed while holding it releases it with its file."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
