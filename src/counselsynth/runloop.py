"""What every run shares: the run folder's life cycle and the running totals.

`CaseRun` is one command that turns planned items into cases (`generate`, `augment`): it
checks an existing folder (resume, or refuse a different run), keeps cases in flight on one
asyncio loop, appends each case as it finishes, puts the file in planned order at the end and
writes the manifest as `running`, then `complete`, `interrupted` or `failed`. A case whose
engine call fails for good goes to failures.jsonl and the others go on (see failures.py).
"""

from __future__ import annotations

import asyncio
import gc
import json
import platform
import time
import uuid
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Generic, TypeVar

from counselsynth.codestats import behaviour_counts, summary_scores
from counselsynth.corpus import (
    DIALOGUES,
    MANIFEST,
    SPACE_RESERVE,
    CaseWriter,
    read_cases,
    read_manifest,
    sort_cases,
    space_reserved,
    trim_torn_line,
    write_manifest,
)
from counselsynth.engines.base import Engine
from counselsynth.errors import EngineError, InputError, OutputExistsError, TooManyFailuresError
from counselsynth.failures import FailureBudget, FailureLog, failure_of
from counselsynth.models import LENGTH_FLAG, Case, GateTally, RunManifest, RunStatus, Session, Usage
from counselsynth.runlock import run_lock

Item = TypeVar("Item")
# LLM runs open this many cases per request slot (see Generation.open_cases): simulated on this
# pipeline's case lengths, 4 keeps the slots busy to the end of a run; more buys only memory.
OPEN_CASES_PER_SLOT = 4


def new_run_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("counselsynth", "langgraph", "litellm", "pydantic", "py3langid", "sacrebleu"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep what exists before the cases start (modules, litellm's tables, personas, frameworks)
    out of the garbage collector's full collections for the run. Those walk every tracked
    object; with litellm loaded one took up to 330 ms, a pause in which every response that
    arrives waits and holds its request slot. Frozen, the longest was 130 ms."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# The manifest count a counselor turn adds to, by (verified, relabelled).
_VERIFICATION = {
    (True, False): "turns_verified",
    (True, True): "turns_relabelled",
    (False, False): "turns_flagged",
    (None, False): "turns_unverified",
}


class Totals:
    """Running counts over the run's cases, so memory stays flat however many cases there are."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.usage: dict[str, Usage] = {}
        self.behaviours: dict[str, Counter[str]] = {}
        self.prefix_share_sum = 0.0
        self.prefix_share_count = 0
        self.words = 0
        self.gates: dict[str, GateTally] = {}

    @classmethod
    def of(cls, case: Case) -> Totals:
        totals = cls()
        totals.add(case)
        return totals

    def merge(self, other: Totals) -> None:
        self.counts.update(other.counts)
        for agent, used in other.usage.items():
            self.usage.setdefault(agent, Usage()).add(used)
        for framework, counts in other.behaviours.items():
            self.behaviours.setdefault(framework, Counter()).update(counts)
        self.prefix_share_sum += other.prefix_share_sum
        self.prefix_share_count += other.prefix_share_count
        self.words += other.words
        for name, tally in other.gates.items():
            self.gates.setdefault(name, GateTally()).add(tally)

    def add(self, case: Case) -> None:
        self.counts["cases"] += 1
        if case.translation is not None:
            for name, tally in case.translation.gates.items():
                self.gates.setdefault(name, GateTally()).add(tally)
        for agent, used in case.usage.items():
            self.usage.setdefault(agent, Usage()).add(used)
            self.counts["length_reasks"] += used.length_reasks
        behaviours = self.behaviours.setdefault(case.framework, Counter())
        for session in case.sessions:
            critique = session.critique
            self.counts["sessions"] += 1
            self.counts["turns"] += len(session.turns)
            self.counts["sessions_passed"] += bool(critique and critique.passed)
            self.counts["revisions"] += session.revisions
            self.counts["revisions_exhausted"] += session.revisions_exhausted
            self.counts["safety_sessions"] += bool(critique and critique.safety_required)
            behaviours.update(behaviour_counts(session.turns))
            self.counts["counselor_turns_generated"] += session.discarded_counselor_turns + sum(
                t.speaker == "counselor" for t in session.turns
            )
            self.words += sum(len(turn.text.split()) for turn in session.turns)
            self.counts["length_flagged"] += sum(LENGTH_FLAG in turn.annotations.flags for turn in session.turns)
            self._count_verification(session)
            for turn in session.turns:
                if turn.provenance is not None and turn.provenance.prefix_share is not None:
                    self.prefix_share_sum += turn.provenance.prefix_share
                    self.prefix_share_count += 1

    def _count_verification(self, session: Session) -> None:
        for turn in session.turns:
            if turn.speaker == "counselor":
                notes = turn.annotations
                self.counts[_VERIFICATION[notes.verified, notes.intended_code is not None]] += 1
        self.counts["turns_regenerated"] += sum(
            len(c.mismatched_turns) for c in session.critique_history if c.mismatch_action == "regenerate"
        )

    def manifest_fields(self, elapsed: float, new_cases: int, cache_hits: int) -> dict[str, Any]:
        stats: dict[str, float | None] = {}
        for framework, counts in sorted(self.behaviours.items()):
            for name, value in summary_scores(counts).items():
                stats[f"{framework}.{name}"] = value
        total = Usage()
        for used in self.usage.values():
            total.add(used)
        sessions = max(1, self.counts["sessions"])
        counselor_turns = self.counts["counselor_turns_generated"]
        efficiency: dict[str, float] = {
            "calls_per_session": round(total.calls / sessions, 3),
            "prompt_tokens_per_word": round(total.prompt_tokens / max(1, self.words), 3),
            "mean_prefix_share": round(self.prefix_share_sum / max(1, self.prefix_share_count), 4),
        }
        if counselor_turns and "counselor" in self.usage:  # a translated run made no counselor calls
            efficiency["counselor_calls_per_counselor_turn"] = round(
                self.usage.get("counselor", Usage()).calls / counselor_turns, 3
            )
        return {
            "counts": {**self.counts, "cache_hits": cache_hits},
            "timings": {
                "seconds": round(elapsed, 3),
                "cases_per_second": round(new_cases / elapsed, 3) if elapsed else 0.0,
            },
            "usage": {**self.usage, "total": total},
            "code_statistics": stats,
            "efficiency": efficiency,
            "gates": dict(sorted(self.gates.items())),
        }


@dataclass
class RunResult:
    manifest: RunManifest
    cases: int = 0
    resumed: int = 0
    skipped: list[str] = field(default_factory=list)
    failed: int = 0


class CaseRun(ABC, Generic[Item]):
    """One run over planned items, each of which becomes one case with id `case_id(item)`."""

    out_dir: Path
    resume: bool
    items: Sequence[Item]
    on_case: Callable[[str, Totals], None]
    run_id: str
    _claim: tuple[set[str], Totals] | None = None
    engine: Engine
    failure_budget = FailureBudget()
    # Called with the case id when a case fails, so a progress display can count it.
    on_failure: Callable[[str], None] = staticmethod(lambda case_id: None)

    @abstractmethod
    def case_id(self, item: Item) -> str: ...

    @abstractmethod
    def fingerprint(self) -> dict[str, Any]:
        """The settings that make two runs the same run: a folder is resumed only by its own."""

    @abstractmethod
    def manifest(self, status: RunStatus, **extra: Any) -> RunManifest: ...

    @abstractmethod
    async def produce(self, item: Item) -> tuple[str, Totals]:
        """The finished case as its JSON line, with its tally."""

    def open_cases(self) -> int:
        return 8

    def cache_hits(self) -> int:
        return 0

    def engine_counters(self) -> tuple[dict[str, float], dict[str, str]]:
        """The engine's resilience counters and structured-output modes (summed over workers
        when the run is scaled out)."""
        now: Counter[str] = Counter()
        structured: dict[str, str] = {}
        for engine in self.engines():
            if not engine.offline:
                now.update(engine.resilience())
                structured.update(engine.structured_modes())
        return dict(now), structured

    @asynccontextmanager
    async def resources(self) -> AsyncIterator[None]:
        """Whatever the run holds open while cases are in flight (checkpoints, processes)."""
        yield

    @contextmanager
    def claimed(self) -> Iterator[None]:
        """Hold the run folder's lock (see runlock) and check what the folder holds, so a refusal
        comes before any progress is shown; `run` claims the folder itself unless it is claimed."""
        if self.resume and not (self.out_dir / MANIFEST).exists():
            raise InputError(f"nothing to resume: {self.out_dir} holds no run")
        with run_lock(self.out_dir):
            totals = Totals()
            self._claim = (self._finished_cases(totals), totals)
            try:
                yield
            finally:
                self._claim = None

    async def run(self) -> RunResult:
        """Run every pending item, holding the folder's run lock throughout."""
        if self._claim is not None:
            return await self._run_claimed(*self._claim)
        with self.claimed():
            assert self._claim is not None
            return await self._run_claimed(*self._claim)

    async def _run_claimed(self, done: set[str], totals: Totals) -> RunResult:
        pending = [item for item in self.items if self.case_id(item) not in done]
        earlier = self._earlier_resilience()
        failures = FailureLog(self.out_dir, {self.case_id(item): rank for rank, item in enumerate(self.items)})
        failures.keep_only({self.case_id(item) for item in pending})
        with space_reserved(self.out_dir):
            # The counters of earlier runs stay on disk while this one runs, so a kill -9 keeps them.
            write_manifest(self.out_dir, self.manifest("running", resilience=earlier))
            return await self._produce_all(pending, totals, len(done), failures, earlier)

    async def _produce_all(
        self, pending: list[Item], totals: Totals, resumed: int, failures: FailureLog, earlier: dict[str, float]
    ) -> RunResult:
        out = self.out_dir
        failed_now: Counter[str] = Counter()
        started = time.perf_counter()
        new_cases = 0
        status: RunStatus = "interrupted"
        try:
            async with self.resources():
                with CaseWriter(out) as writer, frozen_heap():
                    gate = asyncio.Semaphore(self.open_cases())

                    async def one(item: Item) -> None:
                        nonlocal new_cases
                        case_id = self.case_id(item)
                        try:
                            async with gate:
                                line, tally = await self.produce(item)
                        except EngineError as exc:
                            failures.add(failure_of(case_id, exc))
                            failed_now[exc.cause] += 1
                            self.on_failure(case_id)
                            self.failure_budget.check(failed_now, len(pending))
                            return
                        writer.write(line)
                        failures.resolve(case_id)
                        totals.merge(tally)
                        new_cases += 1
                        self.on_case(case_id, tally)

                    tasks = [asyncio.ensure_future(one(item)) for item in pending]
                    try:
                        await asyncio.gather(*tasks)
                    finally:
                        for task in tasks:
                            task.cancel()
            sort_cases(out, {self.case_id(item): rank for rank, item in enumerate(self.items)})
            status = "complete"
        except TooManyFailuresError:
            status = "failed"
            raise
        finally:
            elapsed = time.perf_counter() - started
            fields = totals.manifest_fields(elapsed, new_cases, self.cache_hits())
            fields["counts"].setdefault("cases", 0)
            fields["counts"]["failed"] = len(failures.records)
            fields["counts"]["planned"] = len(self.items)
            manifest = self.manifest(status, **fields, **self._engine_report(earlier), failures=failures.causes())
            (out / SPACE_RESERVE).unlink(missing_ok=True)  # on a full disk, room for this last write
            write_manifest(out, manifest)
        return RunResult(manifest, new_cases, resumed, manifest.skipped, len(failures.records))

    def engines(self) -> list[Engine]:
        """Every engine the run calls (evaluate has two: the simulator and the model under test)."""
        return [self.engine]

    def _engine_report(self, earlier: dict[str, float]) -> dict[str, Any]:
        """Retries, re-asks and outage pauses of this run added to those of the runs it resumes."""
        if all(engine.offline for engine in self.engines()):
            return {}
        now, structured = self.engine_counters()
        keys = sorted(set(now) | set(earlier))
        return {
            "resilience": {k: round(earlier.get(k, 0.0) + now.get(k, 0.0), 3) for k in keys},
            "structured": structured,
        }

    def _earlier_resilience(self) -> dict[str, float]:
        if not (self.out_dir / MANIFEST).exists():
            return {}
        try:
            return dict(read_manifest(self.out_dir).resilience)
        except InputError:
            return {}  # _finished_cases reports the broken manifest

    def _finished_cases(self, totals: Totals) -> set[str]:
        """Check an existing run folder and return the case ids it already holds."""
        out = self.out_dir
        if not (out / MANIFEST).exists():
            if self.resume:
                raise InputError(f"nothing to resume: {out} holds no run")
            if (out / DIALOGUES).exists():
                raise OutputExistsError(f"{out / DIALOGUES} exists without a manifest; choose another --out folder")
            return set()
        previous = read_manifest(out)
        wanted = json.loads(json.dumps(self.fingerprint()))
        differs = sorted(k for k, v in wanted.items() if previous.settings.get(k) != v)
        if differs:
            raise OutputExistsError(
                f"{out} holds a different run (it differs in: {', '.join(differs)}); "
                "choose another --out folder, or repeat that run's exact command to resume it"
            )
        self.run_id = previous.run_id
        if (out / DIALOGUES).exists():
            trim_torn_line(out / DIALOGUES)
        done: set[str] = set()
        for case in read_cases(out) if (out / DIALOGUES).exists() else ():
            if case.case_id in done:
                raise OutputExistsError(f"{out / DIALOGUES} holds case '{case.case_id}' twice")
            done.add(case.case_id)
            totals.add(case)
        return done
