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
import multiprocessing
import os
import random
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from langchain_core.runnables import RunnableConfig

from counselsynth.engines.base import Engine
from counselsynth.errors import InputError
from counselsynth.frameworks import FrameworkCatalog
from counselsynth.graph import CaseContext, CaseState, build_graph
from counselsynth.graph.build import GRAPH_REVISION
from counselsynth.graph.checkpoints import checkpoint_file
from counselsynth.languages import primary_subtag
from counselsynth.models import GENERATION_AGENTS, Case, Persona, RunManifest, RunStatus
from counselsynth.personas import PersonaSet
from counselsynth.personas.localize import localize
from counselsynth.policy import CompiledPolicy, load_policy
from counselsynth.prompts import PromptLibrary
from counselsynth.runloop import OPEN_CASES_PER_SLOT, CaseRun, Totals, new_run_id, versions
from counselsynth.safety_text import check_available, risk_lexicon_path
from counselsynth.scaleout.parentwatch import follow_parent
from counselsynth.settings import AUTO, RunSettings
from counselsynth.turnform import CompiledForm, load_form

if TYPE_CHECKING:
    from counselsynth.scaleout.dispatch import Dispatcher

CHECKPOINTS = "checkpoints.sqlite"


@dataclass(frozen=True)
class CasePlan:
    case_id: str
    persona: Persona
    framework: str


def framework_list(value: str, catalog: FrameworkCatalog) -> list[str]:
    """`--framework`: 'auto', one framework id, or a comma-separated list of ids."""
    if value == AUTO:
        return []
    ids = [part.strip() for part in value.split(",")]
    if "" in ids or len(set(ids)) != len(ids):
        raise InputError(f"--framework '{value}': give framework ids separated by commas, each once")
    for framework_id in ids:
        catalog.get(framework_id)
    return ids


def _assigned(count: int, frameworks: list[str], seed: int) -> list[str]:
    """One framework per persona, balanced (counts differ by at most one) and seeded: the personas
    are shuffled and dealt the frameworks in turn."""
    order = list(range(count))
    random.Random(f"frameworks:{seed}").shuffle(order)
    assigned = [""] * count
    for position, index in enumerate(order):
        assigned[index] = frameworks[position % len(frameworks)]
    return assigned


def plan_cases(personas: Sequence[Persona], catalog: FrameworkCatalog, settings: RunSettings) -> list[CasePlan]:
    listed = framework_list(settings.framework, catalog)
    chosen = personas[: settings.limit] if settings.limit is not None else personas
    # Assigned before sharding, so every shard deals the same frameworks to the same personas.
    assigned = _assigned(len(chosen), listed, settings.seed) if len(listed) > 1 else []
    plans: list[CasePlan] = []
    for index, persona in enumerate(chosen):
        if settings.shard is not None and index % settings.shard[1] != settings.shard[0]:
            continue
        if settings.each_framework:
            frameworks = listed or catalog.ids
        elif assigned:
            frameworks = [assigned[index]]
        elif listed:
            frameworks = listed
        elif persona.framework:
            frameworks = [persona.framework]
        else:
            frameworks = [catalog.for_problem(persona.presenting_problem.category).id]
        if settings.language is not None:
            persona = localize(persona, settings.language, settings.seed).persona
        plans.extend(CasePlan(f"{persona.id}-{framework}", persona, framework) for framework in frameworks)
    return plans


def _recursion_limit(catalog: FrameworkCatalog, framework: str, settings: RunSettings) -> int:
    # Each exchange is one graph step; LangGraph's default limit of 25 would cut a session short.
    longest = sum(p.exchanges[1] for p in catalog.get(framework).phases) + 6
    return settings.sessions * (settings.max_revisions + 1) * (longest + 4) + 10


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
        self.forms: dict[str, CompiledForm] = {fid: load_form(fid, catalog.folders) for fid in sorted(set(frameworks))}
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
            form=self.forms[plan.framework],
            prompts=self.prompts,
            engine=self.engine,
            language=language,
            sessions=self.settings.sessions,
            max_revisions=self.settings.max_revisions,
            on_mismatch=self.settings.on_mismatch,
        )
        thread = f"{plan.case_id}@graph{GRAPH_REVISION}"
        config: RunnableConfig = {
            "recursion_limit": _recursion_limit(self.catalog, plan.framework, self.settings),
            "configurable": {"thread_id": thread},
        }
        start: CaseState | None = {}
        if self.checkpointer is None:
            result = await self.graph.ainvoke(start, config=config, context=ctx)
        else:
            snapshot = await self.graph.aget_state(config)
            if "sessions" in snapshot.values and not snapshot.next and not snapshot.tasks:
                # Killed after the graph ended but before the case was written: the case is done.
                # Invoking again would start over on top of the old state and add its usage twice.
                # (A case killed as it started has no step to take either, but a task pending.)
                result = snapshot.values
            else:
                if snapshot.next:
                    start = None  # continue from the last completed step
                # Sync durability: the checkpoint is on disk before the next step starts, so a
                # kill -9 loses at most the step in flight.
                result = await self.graph.ainvoke(start, config=config, context=ctx, durability="sync")
        state = cast(CaseState, result)
        if self.checkpointer is not None:
            await self.checkpointer.adelete_thread(thread)
        warnings = []
        if language != primary_subtag(plan.persona.language):
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


class Generation(CaseRun[CasePlan]):
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
        self._processes: ProcessPoolExecutor | None = None
        self._dispatcher: Dispatcher | None = None
        self.out_dir = settings.out_dir
        self.resume = settings.resume
        self.plans = self.items = plan_cases(personas.personas, catalog, settings)
        if not self.plans:
            raise InputError("no valid personas to generate from")
        if settings.ray is not None:
            from counselsynth.scaleout.ray_actors import require_ray

            require_ray(engine)
        self.factory = CaseFactory(catalog, prompts, engine, settings, [p.framework for p in self.plans])
        engine.limit_calls(settings.concurrency)
        self.run_id = new_run_id()
        self._inputs = {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in personas.files}

    @property
    def scaled_out(self) -> bool:
        """An LLM run on several processes (`--workers N`) or on Ray (`--ray`): see scaleout."""
        return self.settings.ray is not None or (not self.engine.offline and self.settings.workers > 1)

    @property
    def workers(self) -> int:
        """Worker processes: the offline engine is CPU-bound, so it uses every core by default; an
        LLM engine overlaps its calls on one event loop, which drives about 80 calls per second,
        and takes more processes (or Ray actors) only when asked."""
        if self._dispatcher is not None:
            return self._dispatcher.workers
        if self.scaled_out:
            return max(1, min(self.settings.workers or os.cpu_count() or 1, self.settings.concurrency))
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
            "language": settings.language,
            # Only when set, so that the fingerprints of runs made before the option still match.
            **({"each_framework": True} if settings.each_framework else {}),
            **({"on_mismatch": settings.on_mismatch} if settings.on_mismatch != "regenerate" else {}),
            "engine": self.engine.name,
            "models": {a: self.engine.model_for(a) for a in GENERATION_AGENTS},
            # Contents, not paths: the same files given by another path are the same run.
            "inputs": list(self._inputs.values()),
        }

    def manifest(self, status: RunStatus, **extra: Any) -> RunManifest:
        return RunManifest(
            run_id=self.run_id,
            status=status,
            engine=self.engine.name,
            offline=self.engine.offline,
            models={a: self.engine.model_for(a) for a in GENERATION_AGENTS},
            seed=self.settings.seed,
            settings={
                **self.fingerprint(),
                "concurrency": self.settings.concurrency,
                "workers": self.workers,
            },
            versions=versions(),
            inputs=self._inputs,
            framework_hashes=dict(self.catalog.hashes),
            prompt_hashes=self.prompts.hashes(),
            policy_hashes={fid: p.sha256 for fid, p in self.factory.policies.items()},
            form_hashes={fid: f.sha256 for fid, f in self.factory.forms.items()},
            planned_cases=[plan.case_id for plan in self.plans],
            executor=self._dispatcher.report() if self._dispatcher else {"kind": "in-process", "workers": self.workers},
            skipped=[str(p) for p in self.personas.problems],
            warnings=self._unchecked_languages(),
            **extra,
        )

    def _unchecked_languages(self) -> list[str]:
        languages = sorted({self.engine.text_language(plan.persona.language) for plan in self.plans})
        return [
            f"risk_assessment in '{language}' is judged by the critic alone: "
            f"{risk_lexicon_path().name} has no risk-question patterns for it"
            for language in languages
            if not check_available("risk_assessment", language)
        ]

    def case_id(self, plan: CasePlan) -> str:
        return plan.case_id

    async def produce(self, plan: CasePlan) -> tuple[str, Totals]:
        if self._dispatcher is not None:
            return await self._dispatcher.run(plan)
        if self._processes is None:
            case = await self.factory.generate(plan)
            return case.model_dump_json(), Totals.of(case)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._processes, _generate_in_worker, plan)

    def cache_hits(self) -> int:
        return self._dispatcher.cache_hits() if self._dispatcher else self.engine.cache_hits()

    def engine_counters(self) -> tuple[dict[str, float], dict[str, str]]:
        if self._dispatcher is not None:
            return self._dispatcher.resilience(), self._dispatcher.structured_modes()
        return super().engine_counters()

    @asynccontextmanager
    async def resources(self) -> AsyncIterator[None]:
        if self.scaled_out:
            from counselsynth.scaleout import executor_for

            # Kept after the run ends, for the manifest's counters.
            self._dispatcher = dispatcher = executor_for(self.factory, self.settings, self.workers)
            async with dispatcher.running():
                yield
            return
        async with self._checkpoints():
            with self._pool() as pool:
                self._processes = pool
                try:
                    yield
                finally:
                    self._processes = None

    def open_cases(self) -> int:
        """How many cases run at once. Worker processes get two each so none waits for work. An LLM
        run holds `concurrency` requests in flight but opens more cases than that: a case is a chain
        of sequential calls, and with exactly C cases open every slot idles while its case works
        between calls, and the run ends on a long tail of the last cases to start."""
        if not self.engine.offline:
            return OPEN_CASES_PER_SLOT * self.settings.concurrency
        if self.workers > 1:
            return 2 * self.workers
        return self.settings.concurrency

    @asynccontextmanager
    async def _checkpoints(self) -> AsyncIterator[None]:
        """LLM runs checkpoint every step, so a case resumes mid-way; offline cases take
        milliseconds and simply rerun."""
        if self.engine.offline:
            yield
            return
        async with checkpoint_file(self.settings.out_dir / CHECKPOINTS) as saver:
            self.factory.use_checkpointer(saver)
            yield

    @contextmanager
    def _pool(self) -> Iterator[ProcessPoolExecutor | None]:
        if self.workers == 1:
            yield None
            return
        global _FACTORY
        _FACTORY = self.factory
        pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=follow_parent,
            initargs=(os.getpid(),),
        )
        try:
            yield pool
        finally:
            pool.shutdown(cancel_futures=True)
            _FACTORY = None
