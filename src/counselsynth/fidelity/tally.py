"""Reading a corpus for the fidelity tools: every case validated, every session measured.

A corpus of 10,000 cases is half a gigabyte of JSON, and validating each line as a Case is the
bulk of the fidelity check's time, so large corpora are read by several processes, each taking
a byte range of dialogues.jsonl that starts and ends on a line boundary. The result does not
depend on the number of processes: measures keep the file's order, and the language sample is
chosen by a seeded hash of case ids (see language.SessionSampler).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from counselsynth.corpus import DIALOGUES
from counselsynth.datafiles import problems
from counselsynth.errors import DataFileError
from counselsynth.fidelity.language import SessionSampler
from counselsynth.fidelity.measures import SessionMeasures, measure
from counselsynth.fidelity.settings import CheckSettings
from counselsynth.models import Case

# Below this size one process is faster than starting several.
PARALLEL_BYTES = 20_000_000
MAX_WORKERS = 8


@dataclass
class Tally:
    """What the fidelity tools keep of a corpus: numbers per session, and a small text sample."""

    settings: CheckSettings
    language: str | None = None
    framework: str | None = None
    measures: list[SessionMeasures] = field(default_factory=list)
    code_miti: dict[str, str | None] = field(default_factory=dict)
    languages: Counter[str] = field(default_factory=Counter)
    frameworks: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    cases: int = 0
    sampler: SessionSampler = field(init=False)

    def __post_init__(self) -> None:
        self.sampler = SessionSampler(self.settings.language_sessions, self.settings.seed)

    def wants(self, case: Case) -> bool:
        return (self.language is None or case.language == self.language) and (
            self.framework is None or case.framework == self.framework
        )

    def add(self, case: Case) -> None:
        index = self.cases
        self.cases += 1
        self.languages[case.language] += 1
        self.sources[str(case.persona.get("source", ""))] += 1
        for session in case.sessions:
            self.frameworks[case.framework] += 1
            self.measures.append(measure(session, index, case.framework, self.code_miti))
        self.sampler.offer(index, case)

    def merge(self, other: Tally) -> None:
        """Append a tally of the cases that follow this one's in the file."""
        offset = self.cases
        for measures in other.measures:
            measures.case += offset
            self.measures.append(measures)
        for code, miti in other.code_miti.items():
            self.code_miti.setdefault(code, miti)
        self.languages.update(other.languages)
        self.frameworks.update(other.frameworks)
        self.sources.update(other.sources)
        self.sampler.merge(other.sampler, offset)
        self.cases += other.cases


@dataclass(frozen=True)
class _Part:
    tally: Tally
    lines: int
    error: tuple[int, str | None, str] | None  # local line number, field, problem


def tally_corpus(
    corpus_dir: Path, settings: CheckSettings, language: str | None = None, framework: str | None = None
) -> Tally:
    if not corpus_dir.is_dir():
        raise DataFileError(corpus_dir, None, None, "corpus folder not found")
    path = corpus_dir / DIALOGUES
    if not path.is_file():
        raise DataFileError(path, None, None, "file not found: not a corpus folder")
    ranges = _ranges(path, _workers(path))
    jobs = [(path, start, end, settings, language, framework) for start, end in ranges]
    if len(jobs) == 1:
        parts = [_tally_range(*jobs[0])]
    else:
        with ProcessPoolExecutor(len(jobs), mp_context=multiprocessing.get_context("fork")) as pool:
            parts = list(pool.map(_tally_range, *zip(*jobs, strict=True)))
    total = Tally(settings, language, framework)
    before = 0
    for part in parts:
        if part.error is not None:
            line, name, problem = part.error
            raise DataFileError(path, f"line {before + line}", name, problem)
        total.merge(part.tally)
        before += part.lines
    return total


def _workers(path: Path) -> int:
    if path.stat().st_size < PARALLEL_BYTES or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def _ranges(path: Path, parts: int) -> list[tuple[int, int]]:
    """`parts` byte ranges of the file that start at a line start and end after a newline."""
    size = path.stat().st_size
    cuts = [0]
    with path.open("rb") as handle:
        for part in range(1, parts):
            handle.seek(max(cuts[-1], size * part // parts))
            handle.readline()
            cuts.append(handle.tell())
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a] or [(0, 0)]


def _lines(path: Path, start: int, end: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        position = start
        while position < end:
            raw = handle.readline()
            if not raw:
                return
            position += len(raw)
            yield raw


def _tally_range(
    path: Path, start: int, end: int, settings: CheckSettings, language: str | None, framework: str | None
) -> _Part:
    tally = Tally(settings, language, framework)
    lines = 0
    error: tuple[int, str | None, str] | None = None
    for raw in _lines(path, start, end):
        lines += 1
        # A crash mid-write leaves a torn last line; it is not part of the corpus (as in corpus.py).
        if error is not None or not raw.endswith(b"\n"):
            continue
        try:
            case = Case.model_validate_json(raw)
        except ValidationError as exc:
            found = problems(exc, path, f"line {lines}")[0]
            error = (lines, found.field, found.problem)
            continue
        if tally.wants(case):
            tally.add(case)
    return _Part(tally, lines, error)
