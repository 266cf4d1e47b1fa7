"""Runs a generation: cases in flight on one asyncio loop, streamed to disk, with a manifest."""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
import platform
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, cast

from langchain_core.runnables import RunnableConfig

from counselsynth.codestats import behaviour_counts, summary_scores
from counselsynth.corpus import DIALOGUES, CaseWriter, sort_cases, write_manifest
from counselsynth.engines.base import Engine
from counselsynth.errors import InputError, OutputExistsError
from counselsynth.frameworks import FrameworkCatalog
from counselsynth.graph import CaseContext, CaseState, build_graph
from counselsynth.models import Case, Persona, RunManifest, RunStatus, Usage
from counselsynth.personas import PersonaSet
from counselsynth.policy import CompiledPolicy, load_policy
from counselsynth.prompts import PromptLibrary

AUTO = "auto"


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


@dataclass(frozen=True)
class CasePlan:
    case_id: str
    persona: Persona
    framework: str


@dataclass
class RunResult:
    manifest: RunManifest
    cases: int = 0
    skipped: list[str] = field(default_factory=list)


def plan_cases(personas: Sequence[Persona], catalog: FrameworkCatalog, settings: RunSettings) -> list[CasePlan]:
    if settings.framework != AUTO:
        catalog.get(settings.framework)
    chosen = personas[: settings.limit] if settings.limit is not None else personas
    plans = []
    for persona in chosen:
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
        self.graph = build_graph()

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
        config: RunnableConfig = {"recursion_limit": _recursion_limit(self.catalog, plan.framework, self.settings)}
        start: CaseState = {}
        state = cast(CaseState, await self.graph.ainvoke(start, config=config, context=ctx))
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


def _generate_in_worker(plan: CasePlan) -> str:
    assert _FACTORY is not None
    return asyncio.run(_FACTORY.generate(plan)).model_dump_json()


class Generation:
    """One `generate` run. Construct, then `await run()`."""

    def __init__(
        self,
        personas: PersonaSet,
        catalog: FrameworkCatalog,
        prompts: PromptLibrary,
        engine: Engine,
        settings: RunSettings,
        on_case: Callable[[Case], None] = lambda case: None,
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
        self._run_id = ""

    @property
    def workers(self) -> int:
        """Worker processes: the offline engine is CPU-bound, so it uses every core; an LLM
        engine waits on the network and overlaps its calls on one event loop instead."""
        if not self.engine.offline or "fork" not in multiprocessing.get_all_start_methods():
            return 1
        wanted = self.settings.workers or os.cpu_count() or 1
        # Below a few cases per worker, starting processes costs more than it saves.
        return max(1, min(wanted, len(self.plans) // 4))

    def manifest(self, status: RunStatus, **extra: Any) -> RunManifest:
        settings = self.settings
        return RunManifest(
            run_id=self._run_id,
            status=status,
            engine=self.engine.name,
            offline=self.engine.offline,
            models={a: self.engine.model_for(a) for a in ("planner", "counselor", "client", "critic", "summarizer")},
            seed=settings.seed,
            settings={
                "framework": settings.framework,
                "sessions": settings.sessions,
                "limit": settings.limit,
                "max_revisions": settings.max_revisions,
                "concurrency": settings.concurrency,
                "workers": self.workers,
            },
            versions=_versions(),
            inputs={str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in self.personas.files},
            framework_hashes=dict(self.catalog.hashes),
            prompt_hashes=self.prompts.hashes(),
            policy_hashes={fid: p.sha256 for fid, p in self.factory.policies.items()},
            skipped=[str(p) for p in self.personas.problems],
            **extra,
        )

    async def run(self) -> RunResult:
        out = self.settings.out_dir
        if (out / DIALOGUES).exists():
            raise OutputExistsError(f"{out / DIALOGUES} already exists; choose another --out folder")
        out.mkdir(parents=True, exist_ok=True)
        self._run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        write_manifest(out, self.manifest("running"))
        started = time.perf_counter()
        cases: list[Case] = []
        status: RunStatus = "interrupted"
        try:
            with CaseWriter(out) as writer, self._pool() as pool:
                gate = asyncio.Semaphore(self.settings.concurrency if pool is None else 2 * self.workers)
                loop = asyncio.get_running_loop()

                async def one(plan: CasePlan) -> None:
                    async with gate:
                        if pool is None:
                            case = await self.factory.generate(plan)
                        else:
                            line = await loop.run_in_executor(pool, _generate_in_worker, plan)
                            case = Case.model_validate_json(line)
                    writer.write(case)
                    cases.append(case)
                    self.on_case(case)

                await asyncio.gather(*(one(plan) for plan in self.plans))
            sort_cases(out, {plan.case_id: rank for rank, plan in enumerate(self.plans)})
            status = "complete"
        finally:
            elapsed = time.perf_counter() - started
            manifest = self.manifest(status, **_totals(cases, elapsed))
            write_manifest(out, manifest)
        return RunResult(manifest, len(cases), manifest.skipped)

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


def _totals(cases: Sequence[Case], elapsed: float) -> dict[str, Any]:
    sessions = [s for c in cases for s in c.sessions]
    usage: dict[str, Usage] = {}
    for case in cases:
        for agent, used in case.usage.items():
            usage.setdefault(agent, Usage()).add(used)
    stats: dict[str, float | None] = {}
    for framework in sorted({c.framework for c in cases}):
        counts: Counter[str] = Counter()
        for case in cases:
            if case.framework == framework:
                for session in case.sessions:
                    counts.update(behaviour_counts(session.turns))
        for name, value in summary_scores(counts).items():
            stats[f"{framework}.{name}"] = value
    return {
        "counts": {
            "cases": len(cases),
            "sessions": len(sessions),
            "turns": sum(len(s.turns) for s in sessions),
            "sessions_passed": sum(s.critique.passed for s in sessions),
            "revisions": sum(s.revisions for s in sessions),
            "revisions_exhausted": sum(s.revisions_exhausted for s in sessions),
            "safety_sessions": sum(s.critique.safety_required for s in sessions),
        },
        "timings": {
            "seconds": round(elapsed, 3),
            "cases_per_second": round(len(cases) / elapsed, 3) if elapsed else 0.0,
        },
        "usage": usage,
        "code_statistics": stats,
    }
