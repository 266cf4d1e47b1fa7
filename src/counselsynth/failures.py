"""Cases that could not be finished: `failures.jsonl`, and when a run should stop trying.

One stubborn reply must not end a run of ten thousand cases. A case whose call fails for good
(a reply that breaks its schema after the repairs, a context-length error, a refusal) is
recorded here and the others go on. The file holds one line per case that is not finished,
the latest failure of each; re-running the command retries exactly those cases, and a case
that then succeeds leaves the file. A run stops early only when failures pass the budget
(`--max-failures`), with the dominant cause named.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, ValidationError

from counselsynth.corpus import write_atomic
from counselsynth.datafiles import jsonl_lines, problems
from counselsynth.errors import EngineError, InputError, TooManyFailuresError
from counselsynth.models import Strict
from counselsynth.redaction import mask

FAILURES = "failures.jsonl"
LAST_REPLY_CHARS = 500


class CaseFailure(Strict):
    case_id: str
    agent: str | None
    session: int | None
    turn: int | None
    error: str = Field(description="the error class")
    cause: str = Field(description="the reason, worded the same for every case it happens to")
    message: str = Field(description="the error message, with secrets masked")
    last_reply: str | None = Field(description=f"the last raw reply, cut at {LAST_REPLY_CHARS} characters")
    attempts: int


def failure_of(case_id: str, exc: EngineError) -> CaseFailure:
    return CaseFailure(
        case_id=case_id,
        agent=exc.agent,
        session=exc.session,
        turn=exc.turn,
        error=type(exc).__name__,
        cause=mask(exc.cause),
        message=mask(str(exc)),
        last_reply=mask(exc.last_reply[:LAST_REPLY_CHARS]) if exc.last_reply is not None else None,
        attempts=exc.attempts,
    )


class FailureLog:
    """failures.jsonl of a run folder, rewritten atomically on every change (it stays small).

    With `order` (case id -> rank in the run's input) the records are kept in input order, so the
    file does not depend on which case failed first, as dialogues.jsonl does not."""

    def __init__(self, run_dir: Path, order: Mapping[str, int] | None = None) -> None:
        self.path = run_dir / FAILURES
        self.order = order or {}
        self.records: dict[str, CaseFailure] = {}
        if self.path.is_file():
            for number, line in jsonl_lines(self.path.read_text(encoding="utf-8")):
                try:
                    record = CaseFailure.model_validate_json(line)
                except ValidationError as exc:
                    raise problems(exc, self.path, f"line {number}")[0] from None
                self.records[record.case_id] = record

    def add(self, record: CaseFailure) -> None:
        self.records[record.case_id] = record
        self._write()

    def resolve(self, case_id: str) -> None:
        if self.records.pop(case_id, None) is not None:
            self._write()

    def keep_only(self, case_ids: set[str]) -> None:
        """Forget cases that are no longer planned (or were finished by an earlier run)."""
        stale = set(self.records) - case_ids
        for case_id in stale:
            del self.records[case_id]
        if stale:
            self._write()

    def causes(self) -> dict[str, int]:
        return dict(Counter(r.cause for r in self.records.values()).most_common())

    def _write(self) -> None:
        if not self.records and not self.path.exists():
            return
        ranked = sorted(self.records.values(), key=lambda r: self.order.get(r.case_id, len(self.order)))
        write_atomic(self.path, "".join(r.model_dump_json() + "\n" for r in ranked))


@dataclass(frozen=True)
class FailureBudget:
    """How many cases may fail before the run stops: a count, or a share of the cases attempted."""

    count: int | None = None
    share: float | None = 0.10
    floor: int = 3

    def allowed(self, attempted: int) -> int:
        if self.count is not None:
            return self.count
        return max(self.floor, math.ceil((self.share or 0.0) * attempted))

    def check(self, failed: Counter[str], attempted: int) -> None:
        total = sum(failed.values())
        if total <= self.allowed(attempted):
            return
        cause, count = failed.most_common(1)[0]
        raise TooManyFailuresError(
            f"stopped after {total} of {attempted} cases failed (--max-failures {self.allowed(attempted)}): "
            f"{cause} in {count} of {total} failed cases; see {FAILURES}"
        )


def parse_max_failures(text: str | None) -> FailureBudget:
    """`5` (cases), `10%` or `0.1` (a share of the cases attempted); None is the default."""
    if text is None:
        return FailureBudget()
    value = text.strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", value)
    try:
        if match:
            share = float(match.group(1)) / 100
        elif re.fullmatch(r"\d+", value):
            return FailureBudget(count=int(value), share=None)
        else:
            share = float(value)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise InputError(f"--max-failures must be a count (5), a percentage (10%) or a share (0.1), got '{text}'")
    return FailureBudget(share=share, floor=0)
