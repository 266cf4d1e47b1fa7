"""The CLI's error contract: whatever goes wrong ends as one clean line and an exit code.

The project's own errors carry their line and code. What the environment raises is classified
here: an OSError (disk full, permissions, a path that is a file) names its file; a damaged SQLite
database and input nested too deeply for Python are bad input. Exit 2 means the user's input
must change, exit 1 that the machine must (space, permissions). Every line is masked for secrets
and stripped of terminal control sequences, since it may quote a persona value or a provider's
message, and SIGTERM stops a run the way Ctrl-C does, so the manifest says `interrupted`.
"""

from __future__ import annotations

import errno
import re
import signal
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from counselsynth.redaction import redact

# ESC-introduced sequences: CSI (colours, cursor moves), OSC (titles, hyperlinks) and the rest.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
# Errors of the user's input (a path that does not fit); anything else is the environment's.
_INPUT_ERRNOS = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP}
_HINTS = {
    errno.ENOSPC: "free some space and repeat the command: finished cases are kept and the run resumes",
    errno.EDQUOT: "free some space and repeat the command: finished cases are kept and the run resumes",
    errno.EACCES: "check the permissions of the folder",
    errno.EPERM: "check the permissions of the folder",
    errno.EROFS: "choose a writable folder",
    errno.EFBIG: "the file reached the size limit; raise it (ulimit -f) and repeat the command",
}


def printable(message: object) -> str:
    """`message` as one line of plain text: secrets masked, control sequences removed."""
    text = _ESCAPES.sub("", redact(str(message)))
    return _CONTROLS.sub(" ", text).strip()


def classify(exc: BaseException) -> tuple[str, int] | None:
    """(message, exit code) for an exception from outside the project, or None to re-raise."""
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else "a file"
        what = exc.strerror or type(exc).__name__
        hint = _HINTS.get(exc.errno or 0)
        code = 2 if exc.errno in _INPUT_ERRNOS else 1
        return f"{where}: {what}" + (f"; {hint}" if hint else ""), code
    if isinstance(exc, sqlite3.DatabaseError):
        return f"a SQLite database of the run is damaged ({exc}); delete it and repeat the command", 2
    if isinstance(exc, RecursionError):
        return "an input is nested too deeply to process; check the file you gave", 2
    return None


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM does whatever SIGINT does at that moment (asyncio's runner
    cancels the run, so it ends `interrupted`; elsewhere a KeyboardInterrupt)."""
    try:
        previous = signal.signal(signal.SIGTERM, _like_sigint)
    except ValueError:  # not the main thread: signals are not ours to handle
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _like_sigint(signum: int, frame: FrameType | None) -> Any:
    handler: Callable[[int, FrameType | None], Any] | int | None = signal.getsignal(signal.SIGINT)
    if callable(handler):
        return handler(signal.SIGINT, frame)
    raise KeyboardInterrupt
