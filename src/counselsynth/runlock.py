"""One process per run folder: an OS file lock on `RUN_DIR/run.lock`.

A command that writes a run folder (`generate`, `augment`, `merge`) holds the lock exclusively
for as long as it runs; a command that reads one (`export`, `augment`'s and `merge`'s sources)
holds it shared, so it never reads a folder that is being written, nor does a writer start while
it reads. The lock is `flock(2)` on an
open file: the kernel drops it when the process ends however it ends, so kill -9 or a power loss
never leaves a folder locked. The file itself stays and records the pid of the last process that
took the lock, which a refused command names.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from counselsynth.errors import InputError, RunLockedError

LOCK = "run.lock"
_PID_WIDTH = 12


def _holder(fd: int) -> int | None:
    text = os.pread(fd, _PID_WIDTH, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


@contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Hold `folder` exclusively (the folder is created if needed); RunLockedError if taken."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file, not a folder; choose a folder for --out")
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, folder, fcntl.LOCK_EX)
        _record_pid(fd)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def reading_lock(folder: Path) -> Iterator[None]:
    """Hold `folder` shared while reading it: refused while a writer holds it. A folder no
    counselsynth writer ever locked (an imported corpus, a read-only copy) is read as it is."""
    fd, writable = _open_for_reading(folder / LOCK)
    if fd is None:
        yield
        return
    try:
        _acquire(fd, folder, fcntl.LOCK_SH)
        if writable:
            _record_pid(fd)
        yield
    finally:
        os.close(fd)


def _open_for_reading(path: Path) -> tuple[int | None, bool]:
    """The lock file's descriptor, and whether this process may record its pid in it."""
    try:
        return os.open(path, os.O_RDWR), True
    except PermissionError:
        pass
    except OSError:  # no lock file (or no such folder: the reader reports that itself)
        return None, False
    try:
        return os.open(path, os.O_RDONLY), False
    except OSError:
        return None, False


def _record_pid(fd: int) -> None:
    # A fixed width at offset 0, so the pid is replaced whole without truncating first: a writer
    # refused while readers hold the folder then names one of them.
    os.pwrite(fd, f"{os.getpid():<{_PID_WIDTH - 1}}\n".encode("ascii"), 0)


def _acquire(fd: int, folder: Path, kind: int) -> None:
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise RunLockedError(folder, _holder(fd)) from None
        raise
