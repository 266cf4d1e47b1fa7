"""The run being exported: a finished run folder, read through counselsynth.corpus.

Export refuses what it must not publish: a folder that is not a run, a run that is still being
generated or was stopped, an empty run, and records that break the contract. Every refusal is one
line that names the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from counselsynth.corpus import DIALOGUES, MANIFEST, iter_case_lines, read_manifest
from counselsynth.datafiles import problems
from counselsynth.errors import DataFileError, InputError, RunNotFinishedError
from counselsynth.failures import FailureLog
from counselsynth.languages import is_iso639, primary_subtag
from counselsynth.models import Case, RunManifest


@dataclass(frozen=True)
class RunSource:
    run_dir: Path
    manifest: RunManifest

    @property
    def dialogues(self) -> Path:
        return self.run_dir / DIALOGUES

    def cases(self) -> Iterator[Case]:
        """Every case, validated against the record contract and the checks export adds."""
        seen: dict[str, int] = {}
        planned = set(self.manifest.planned_cases)
        for number, line in iter_case_lines(self.run_dir):
            record = f"line {number}"
            try:
                case = Case.model_validate_json(line)
            except ValidationError as exc:
                raise problems(exc, self.dialogues, record)[0] from None
            first = seen.setdefault(case.case_id, number)
            if first != number:
                raise DataFileError(self.dialogues, record, "case_id", f"'{case.case_id}' repeats line {first}")
            if planned and case.case_id not in planned:
                raise DataFileError(
                    self.dialogues, record, "case_id", f"'{case.case_id}' is not a case the run planned ({MANIFEST})"
                )
            _check_case(case, self.dialogues, record)
            yield case
        if not seen:
            raise InputError(f"{self.run_dir} is an empty run: {DIALOGUES} holds no cases")
        expected = self.manifest.counts.get("cases")
        if expected is not None and expected != len(seen):
            raise DataFileError(
                self.dialogues,
                None,
                None,
                f"holds {len(seen)} complete cases but {MANIFEST} counts {expected}; "
                "the file was cut or changed after the run finished",
            )
        # A case that failed for good is absent by design; failures.jsonl names it.
        failed = set(FailureLog(self.run_dir).records)
        missing = sorted(planned - set(seen) - failed) if planned else []
        if missing:
            raise DataFileError(
                self.dialogues,
                None,
                None,
                f"lacks {len(missing)} case(s) the run planned, e.g. '{missing[0]}'; "
                "the file was changed after the run finished",
            )


def _check_case(case: Case, path: Path, record: str) -> None:
    for name in ("language", "persona_language"):
        tag = getattr(case, name)
        if not is_iso639(primary_subtag(tag)):
            raise DataFileError(path, record, name, f"'{tag}' does not start with an ISO 639-1 or 639-3 language code")
    if not case.sessions:
        raise DataFileError(path, record, "sessions", "a case needs at least one session")
    indices: set[int] = set()
    for position, session in enumerate(case.sessions):
        if session.index in indices:
            raise DataFileError(path, record, f"sessions.{position}.index", f"session {session.index} appears twice")
        indices.add(session.index)
        if not session.turns:
            raise DataFileError(path, record, f"sessions.{position}.turns", "a session needs at least one turn")


def open_run(run_dir: Path) -> RunSource:
    """Check that `run_dir` holds a finished run with cases; the cases are read later, lazily."""
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run folder")
    manifest = read_manifest(run_dir)
    if manifest.status == "running":
        raise RunNotFinishedError(
            f"{run_dir} is still being generated ({MANIFEST} status 'running'); wait until it finishes, "
            "or, if its process was killed, resume it by re-running the same generate command (or add --resume)"
        )
    if manifest.status != "complete":
        what = "was interrupted" if manifest.status == "interrupted" else "failed"
        raise RunNotFinishedError(
            f"{run_dir} {what} before it finished ({MANIFEST} status '{manifest.status}'); "
            "resume it by re-running the same generate command (or add --resume), then export it"
        )
    path = run_dir / DIALOGUES
    if not path.is_file() or path.stat().st_size == 0:
        raise InputError(f"{run_dir} is an empty run: {DIALOGUES} is missing or empty")
    return RunSource(run_dir, manifest)
