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
    │   ├── MissingExtraError         an option needs an optional extra that is not installed
    │   └── DamagedFileError          a run's SQLite database (cache, checkpoints) is unreadable
    ├── PromptError                   a template is missing or uses an undefined variable
    ├── EngineError                   an engine could not produce a valid reply (fails its case)
    │   └── ReplyValidationError      the reply never matched its schema
    ├── WrongLanguageError            the model answers in another language, turn after turn
    ├── EndpointDownError             the model endpoint stayed away past --outage-timeout
    ├── WorkerLostError               a worker process or Ray actor of the run died
    ├── TooManyFailuresError          exit 3: --max-failures cases failed; the run stopped early
    └── PublishError                  the hub refused or failed an upload
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def _rebuilt(kind: type[CounselsynthError], args: tuple[object, ...], state: dict[str, object]) -> CounselsynthError:
    error = kind.__new__(kind)
    error.args = args
    error.__dict__.update(state)
    return error


class CounselsynthError(Exception):
    """Root of every error that counselsynth raises on purpose."""

    exit_code: int = 1

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross from worker processes and Ray actors to the driver. The default pickling
        # calls `cls(*args)`, which breaks for every subclass whose __init__ takes other arguments
        # than the message; rebuild from the message and attributes instead.
        return (_rebuilt, (type(self), self.args, self.__dict__))


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
    """An engine failed to produce a reply. Carries what is known about the attempts.

    `cause` is the short, countable reason ("the critic reply from 'm' broke its schema"), so
    a run can name the dominant one; agent, session and turn say where in the case it happened.
    """

    def __init__(
        self,
        message: str,
        *,
        attempts: int = 1,
        last_reply: str | None = None,
        cause: str | None = None,
        agent: str | None = None,
        session: int | None = None,
        turn: int | None = None,
    ) -> None:
        self.attempts = attempts
        self.last_reply = last_reply
        self.cause = cause or message
        self.agent = agent
        self.session = session
        self.turn = turn
        super().__init__(message)


class ReplyValidationError(EngineError):
    """The engine's reply did not match the requested schema, even after repair attempts."""


class WrongLanguageError(CounselsynthError):
    """The model answers in another language than the one asked for, turn after turn. It stops
    the whole run (unlike an EngineError, which fails one case): every case would fail alike."""


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


class MissingExtraError(InputError):
    """An option needs an optional dependency group (`pip install 'counselsynth[EXTRA]'`)."""

    def __init__(self, option: str, extra: str) -> None:
        self.extra = extra
        super().__init__(f"{option} needs the '{extra}' extra: pip install 'counselsynth[{extra}]'")


class WorkerLostError(CounselsynthError):
    """A worker process or Ray actor died mid-run. The run stops as `interrupted`; the same
    command resumes it (finished cases are kept, cases in flight continue from their checkpoints)."""


class EndpointDownError(CounselsynthError):
    """Every request failed with connection errors or 502/503/504 for longer than the outage timeout.

    The run stops as `interrupted`; the same command resumes it once the endpoint is back.
    """


class TooManyFailuresError(CounselsynthError):
    """So many cases failed that the model plainly cannot do the job; the run stopped early."""

    exit_code = 3


class PublishError(CounselsynthError):
    """The hub refused the upload or could not be reached."""
