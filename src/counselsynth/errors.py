"""The one error tree of counselsynth.

Every failure the tool reports on purpose is a ``CounselsynthError``. The CLI turns it into
one line and an exit code; library users can catch the branch they care about::

    CounselsynthError                 exit 1 unless a subclass says otherwise
    ├── InputError                    exit 2: the user gave something unusable
    │   ├── DataFileError             a persona / framework / policy file is malformed
    │   ├── UnknownNameError          a framework, agent, template ... that does not exist
    │   ├── OutputExistsError         the output folder already holds a run
    │   ├── RunNotFinishedError       a run given as input stopped early or is still running
    │   ├── RunLockedError            another process holds the run folder
    │   └── DamagedFileError          a run's SQLite database (cache, checkpoints) is unreadable
    ├── PromptError                   a template is missing or uses an undefined variable
    ├── EngineError                   an engine could not produce a valid reply
    │   ├── ReplyValidationError      the reply never matched its schema
    │   └── WrongLanguageError        the model answers in another language, turn after turn
    └── PublishError                  the hub refused or failed an upload
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class CounselsynthError(Exception):
    """Root of every error that counselsynth raises on purpose."""

    exit_code: int = 1


class InputError(CounselsynthError):
    """Bad input from the user: a file, a flag, a name."""

    exit_code = 2


class DataFileError(InputError):
    """A data file broke its contract.

    The message always names the file, the record (line or index) and the field, so a user can
    go straight to the spot.
    """

    def __init__(self, path: Path | str, record: str | None, field: str | None, problem: str) -> None:
        self.path = str(path)
        self.record = record
        self.field = field
        self.problem = problem
        where = self.path
        if record is not None:
            where += f", {record}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {problem}")


class UnknownNameError(InputError):
    """A name that is not one of the valid choices; the message lists the valid ones."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        super().__init__(f"unknown {kind} '{name}'; valid: {', '.join(self.valid) or '(none)'}")


class OutputExistsError(InputError):
    """The output folder already holds a run that this command would overwrite."""


class DamagedFileError(InputError):
    """A database the run keeps beside its cases is damaged; the cases themselves are not."""

    def __init__(self, path: Path | str, reason: object) -> None:
        self.path = str(path)
        super().__init__(
            f"{path} is damaged ({reason}); delete it and repeat the command: "
            "finished cases in dialogues.jsonl are kept"
        )


class PromptError(CounselsynthError):
    """A prompt template is missing, malformed or uses an undefined variable."""


class EngineError(CounselsynthError):
    """An engine failed to produce a reply. Carries what is known about the attempts."""

    def __init__(self, message: str, *, attempts: int = 1, last_reply: str | None = None) -> None:
        self.attempts = attempts
        self.last_reply = last_reply
        super().__init__(message)


class ReplyValidationError(EngineError):
    """The engine's reply did not match the requested schema, even after repair attempts."""


class WrongLanguageError(EngineError):
    """The model answers in another language than the one asked for, turn after turn."""


class RunNotFinishedError(InputError):
    """The run's manifest says it is not complete: it is still running, or it stopped early."""


class RunLockedError(InputError):
    """Another process holds the run folder."""

    def __init__(self, folder: Path, holder: int | None) -> None:
        self.folder = folder
        self.holder = holder
        who = f"pid {holder}" if holder is not None else "pid unknown"
        super().__init__(
            f"{folder} is in use by another counselsynth process ({who}); wait for it to finish or stop it"
        )


class PublishError(CounselsynthError):
    """The hub refused the upload or could not be reached."""
