"""Runs a generation: cases in flight on one asyncio loop, streamed to disk, resumable.

A run folder holds `dialogues.jsonl` (finished cases, appended as each finishes),
`manifest.json` (status, settings, hashes, counts) and, for LLM runs, `checkpoints.sqlite`
(LangGraph's checkpoints, written with sync durability so a case resumes from its last step
after kill -9) and `cache.sqlite` (validated replies keyed by request). Restarting the same
command, or adding `--resume`, finishes the remaining cases; finished cases are never redone.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import os
import platform
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, cast

from langchain_core.runnables import RunnableConfig

from counselsynth.codestats import behaviour_counts, summary_scores
from counselsynth.corpus import (
    DIALOGUES,
    MANIFEST,
    CaseWriter,
    read_cases,
    read_manifest,
    sort_cases,
    trim_torn_line,
    write_manifest,
)
from counselsynth.engines.base import Engine
from counselsynth.errors import InputError, OutputExistsError
from counselsynth.frameworks import FrameworkCatalog
from counselsynth.graph import CaseContext, CaseState, build_graph
from counselsynth.graph.checkpoints import sqlite_checkpointer
from counselsynth.models import Case, Persona, RunManifest, RunStatus, Usage
from counselsynth.personas import PersonaSet
from counselsynth.policy import CompiledPolicy, load_policy
from counselsynth.prompts import PromptLibrary

AUTO = "auto"
CHECKPOINTS = "checkpoints.sqlite"
AGENTS = ("planner", "counselor", "client", "critic", "summarizer")


@dataclass(frozen=True)
class RunSettings:
    out_dir: Path
    framework: str = AUTO
    sessions: int = 2
    seed: int = 0
    limit: int | None = None
    max_revisions: int = 2
    concurrency: int = 8
    workers: int = 0  # 0: one per core for the offline engine
    shard: tuple[int, int] | None = None  # (i, n): this machine's share of the personas
    resume: bool = False  # require an existing run to continue


@dataclass(frozen=True)
class CasePlan:
    case_id: str
    persona: Persona
    framework: str


@dataclass
class RunResult:
    manifest: RunManifest
    cases: int = 0
    resumed: int = 0
    skipped: list[str] = field(default_factory=list)


def plan_cases(personas: Sequence[Persona], catalog: FrameworkCatalog, settings: RunSettings) -> list[CasePlan]:
    if settings.framework != AUTO:
        catalog.get(settings.framework)
    chosen = personas[: settings.limit] if settings.limit is not None else personas
    plans = []
    for index, persona in enumerate(chosen):
        if settings.shard is not None and index % settings.shard[1] != settings.shard[0]:
            continue
        if settings.framework != AUTO:
            framework = settings.framework
        elif persona.framework:
            framework = persona.framework
        else:
            framework = catalog.for_problem(persona.presenting_problem.category).id
        plans.append(CasePlan(f"{persona.id}-{framework}", persona, framework))
    return plans


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("counselsynth", "langgraph", "litellm", "pydantic"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _recursion_limit(catalog: FrameworkCatalog, framework: str, settings: RunSettings) -> int:
    # Each turn is one graph step; LangGraph's default limit of 25 would cut a session short.
    longest = sum(p.exchanges[1] for p in catalog.get(framework).phases) + 6
    return settings.sessions * (settings.max_revisions + 1) * (2 * longest + 4) + 10


class CaseFactory:
    """Turns one CasePlan into one Case: everything a worker process needs, and nothing more."""

    def __init__(
        self,
        catalog: FrameworkCatalog,
        prompts: PromptLibrary,
        engine: Engine,
        settings: RunSettings,
        frameworks: Sequence[str],
    ) -> None:
        self.catalog = catalog
        self.prompts = prompts
        self.engine = engine
        self.settings = settings
        self.policies: dict[str, CompiledPolicy] = {
            fid: load_policy(catalog.get(fid), catalog.folders) for fid in sorted(set(frameworks))
        }
        self.checkpointer: Any = None
        self.graph = build_graph()

    def use_checkpointer(self, checkpointer: Any) -> None:
        self.checkpointer = checkpointer
        self.graph = build_graph(checkpointer)

    async def generate(self, plan: CasePlan) -> Case:
        framework = self.catalog.get(plan.framework)
        language = self.engine.text_language(plan.persona.language)
        ctx = CaseContext(
            case_id=plan.case_id,
            seed=self.settings.seed,
            persona=plan.persona,
            framework=framework,
            safety=self.catalog.safety,
            policy=self.policies[plan.framework],
            prompts=self.prompts,
            engine=self.engine,
            language=language,
            sessions=self.settings.sessions,
            max_revisions=self.settings.max_revisions,
        )
        config: RunnableConfig = {
            "recursion_limit": _recursion_limit(self.catalog, plan.framework, self.settings),
            "configurable": {"thread_id": plan.case_id},
        }
        start: CaseState | None = {}
        if self.checkpointer is None:
            result = await self.graph.ainvoke(start, config=config, context=ctx)
        else:
            snapshot = await self.graph.aget_state(config)
            if snapshot.next:
                start = None  # continue from the last completed step
            # Sync durability: the checkpoint is on disk before the next step starts, so a
            # kill -9 loses at most the step in flight.
            result = await self.graph.ainvoke(start, config=config, context=ctx, durability="sync")
        state = cast(CaseState, result)
        if self.checkpointer is not None:
            await self.checkpointer.adelete_thread(plan.case_id)
        warnings = []
        if language != plan.persona.language.split("-")[0]:
            warnings.append(
                f"the {self.engine.name} engine cannot write '{plan.persona.language}'; the text is in '{language}'"
            )
        return Case(
            case_id=plan.case_id,
            persona_id=plan.persona.id,
            framework=plan.framework,
            language=language,
            persona_language=plan.persona.language,
            engine=self.engine.name,
            offline=self.engine.offline,
            model=self.engine.model_for("counselor"),
            seed=self.settings.seed,
            sessions=state["sessions"],
            persona=plan.persona.model_dump(mode="json", exclude_none=True),
            usage=state["usage"],
            warnings=warnings,
        )


# Set in the parent before worker processes fork, so children inherit it without pickling.
_FACTORY: CaseFactory | None = None


def _generate_in_worker(plan: CasePlan) -> tuple[str, Totals]:
    # The worker serialises and tallies its own case, so the parent only writes and adds up.
    assert _FACTORY is not None
    case = asyncio.run(_FACTORY.generate(plan))
    return case.model_dump_json(), Totals.of(case)


class Totals:
    """Running counts over the run's cases, so memory stays flat however many cases there are."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.usage: dict[str, Usage] = {}
        self.behaviours: dict[str, Counter[str]] = {}
        self.prefix_share_sum = 0.0
        self.prefix_share_count = 0
        self.words = 0

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

    def add(self, case: Case) -> None:
        self.counts["cases"] += 1
        for agent, used in case.usage.items():
            self.usage.setdefault(agent, Usage()).add(used)
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
            for turn in session.turns:
                if turn.provenance is not None and turn.provenance.prefix_share is not None:
                    self.prefix_share_sum += turn.provenance.prefix_share
                    self.prefix_share_count += 1

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
        if counselor_turns:
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
        }


class Generation:
    """One `generate` run. Construct, then `await run()`."""

    def __init__(
        self,
        personas: PersonaSet,
        catalog: FrameworkCatalog,
        prompts: PromptLibrary,
        engine: Engine,
        settings: RunSettings,
        on_case: Callable[[str, Totals], None] = lambda case_id, tally: None,
    ) -> None:
        self.personas = personas
        self.catalog = catalog
        self.prompts = prompts
        self.engine = engine
        self.settings = settings
        self.on_case = on_case
        self.plans = plan_cases(personas.personas, catalog, settings)
        if not self.plans:
            raise InputError("no valid personas to generate from")
        self.factory = CaseFactory(catalog, prompts, engine, settings, [p.framework for p in self.plans])
        self._run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self._inputs = {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in personas.files}

    @property
    def workers(self) -> int:
        """Worker processes: the offline engine is CPU-bound, so it uses every core; an LLM
        engine waits on the network and overlaps its calls on one event loop instead."""
        if not self.engine.offline or "fork" not in multiprocessing.get_all_start_methods():
            return 1
        wanted = self.settings.workers or os.cpu_count() or 1
        # Below a few cases per worker, starting processes costs more than it saves.
        return max(1, min(wanted, len(self.plans) // 4))

    def fingerprint(self) -> dict[str, Any]:
        """What must match for a restarted run to continue an existing one."""
        settings = self.settings
        return {
            "framework": settings.framework,
            "sessions": settings.sessions,
            "seed": settings.seed,
            "limit": settings.limit,
            "max_revisions": settings.max_revisions,
            "shard": list(settings.shard) if settings.shard else None,
            "engine": self.engine.name,
            "models": {a: self.engine.model_for(a) for a in AGENTS},  # type: ignore[arg-type]
            "inputs": self._inputs,
        }

    def manifest(self, status: RunStatus, **extra: Any) -> RunManifest:
        return RunManifest(
            run_id=self._run_id,
            status=status,
            engine=self.engine.name,
            offline=self.engine.offline,
            models={a: self.engine.model_for(a) for a in AGENTS},  # type: ignore[arg-type]
            seed=self.settings.seed,
            settings={
                **self.fingerprint(),
                "concurrency": self.settings.concurrency,
                "workers": self.workers,
            },
            versions=_versions(),
            inputs=self._inputs,
            framework_hashes=dict(self.catalog.hashes),
            prompt_hashes=self.prompts.hashes(),
            policy_hashes={fid: p.sha256 for fid, p in self.factory.policies.items()},
            planned_cases=[plan.case_id for plan in self.plans],
            skipped=[str(p) for p in self.personas.problems],
            **extra,
        )

    def _finished_cases(self, totals: Totals) -> set[str]:
        """Check an existing run folder and return the case ids it already holds."""
        out = self.settings.out_dir
        if not (out / MANIFEST).exists():
            if self.settings.resume:
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
        self._run_id = previous.run_id
        if (out / DIALOGUES).exists():
            trim_torn_line(out / DIALOGUES)
        done: set[str] = set()
        for case in read_cases(out) if (out / DIALOGUES).exists() else ():
            if case.case_id in done:
                raise OutputExistsError(f"{out / DIALOGUES} holds case '{case.case_id}' twice")
            done.add(case.case_id)
            totals.add(case)
        return done

    async def run(self) -> RunResult:
        out = self.settings.out_dir
        totals = Totals()
        done = self._finished_cases(totals)
        out.mkdir(parents=True, exist_ok=True)
        pending = [plan for plan in self.plans if plan.case_id not in done]
        write_manifest(out, self.manifest("running"))
        started = time.perf_counter()
        new_cases = 0
        status: RunStatus = "interrupted"
        try:
            async with self._checkpoints():
                with CaseWriter(out) as writer, self._pool() as pool:
                    gate = asyncio.Semaphore(self.settings.concurrency if pool is None else 2 * self.workers)
                    loop = asyncio.get_running_loop()

                    async def one(plan: CasePlan) -> None:
                        nonlocal new_cases
                        async with gate:
                            if pool is None:
                                case = await self.factory.generate(plan)
                                line, tally = case.model_dump_json(), Totals.of(case)
                            else:
                                line, tally = await loop.run_in_executor(pool, _generate_in_worker, plan)
                        writer.write(line)
                        totals.merge(tally)
                        new_cases += 1
                        self.on_case(plan.case_id, tally)

                    tasks = [asyncio.ensure_future(one(plan)) for plan in pending]
                    try:
                        await asyncio.gather(*tasks)
                    finally:
                        for task in tasks:
                            task.cancel()
            sort_cases(out, {plan.case_id: rank for rank, plan in enumerate(self.plans)})
            status = "complete"
        finally:
            elapsed = time.perf_counter() - started
            cache = getattr(self.engine, "cache", None)
            hits = cache.hits if cache is not None else 0
            manifest = self.manifest(status, **totals.manifest_fields(elapsed, new_cases, hits))
            write_manifest(out, manifest)
        return RunResult(manifest, new_cases, len(done), manifest.skipped)

    @asynccontextmanager
    async def _checkpoints(self) -> AsyncIterator[None]:
        """LLM runs checkpoint every step, so a case resumes mid-way; offline cases take
        milliseconds and simply rerun."""
        if self.engine.offline:
            yield
            return
        async with sqlite_checkpointer(self.settings.out_dir / CHECKPOINTS) as saver:
            self.factory.use_checkpointer(saver)
            yield

    @contextmanager
    def _pool(self) -> Iterator[ProcessPoolExecutor | None]:
        if self.workers == 1:
            yield None
            return
        global _FACTORY
        _FACTORY = self.factory
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
        try:
            yield pool
        finally:
            pool.shutdown(cancel_futures=True)
            _FACTORY = None
