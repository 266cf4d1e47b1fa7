"""What one worker runs: its own CaseFactory and engine on its own loop.

A worker is built from a `WorkerSpec`, plain picklable data, so the same worker runs in a forked
process or in a Ray actor on another machine. It never touches the run folder's cases, failures
or manifest; it returns each case (or the error that ended it) to the driver as an `Outcome`.
Where its checkpoints and response cache live is its host's choice: the run folder's files for a
forked process, the run's folder store on the driver's node for a Ray actor.
"""

from __future__ import annotations

import pickle
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from counselsynth.engines.cache import ReplyCache, ResponseCache
from counselsynth.engines.gateway import GatewayConfig
from counselsynth.engines.llm import LLMEngine
from counselsynth.errors import CounselsynthError, InputError
from counselsynth.frameworks import FrameworkCatalog
from counselsynth.prompts import PromptLibrary
from counselsynth.runloop import Totals, frozen_heap
from counselsynth.runner import CaseFactory, CasePlan
from counselsynth.settings import RunSettings


@dataclass(frozen=True)
class WorkerSpec:
    catalog: FrameworkCatalog
    prompts: PromptLibrary
    gateway: GatewayConfig
    cache: Path | None
    settings: RunSettings
    frameworks: tuple[str, ...]
    checkpoints: Path
    slots: int = 1  # this worker's share of --concurrency


def worker_spec(factory: CaseFactory, checkpoints: Path) -> WorkerSpec:
    """The recipe for workers that make the same cases as `factory` would."""
    engine = factory.engine
    if not isinstance(engine, LLMEngine):
        raise InputError("--workers above 1 with a model, and --ray, need an LLM engine (give --model)")
    return WorkerSpec(
        catalog=factory.catalog,
        prompts=factory.prompts,
        gateway=engine.config,
        cache=engine.cache.path.resolve() if isinstance(engine.cache, ResponseCache) else None,
        settings=factory.settings,
        frameworks=tuple(sorted(factory.policies)),
        checkpoints=checkpoints.resolve(),
    )


@dataclass(frozen=True)
class Counters:
    """A worker's engine counters so far (cumulative), sent with every outcome."""

    resilience: dict[str, float] = field(default_factory=dict)
    structured: dict[str, str] = field(default_factory=dict)
    cache_hits: int = 0


@dataclass(frozen=True)
class Outcome:
    """One case's result: its JSON line and tally, or the error that ended it."""

    line: str | None
    totals: Totals | None
    error: BaseException | None
    counters: Counters


def portable(exc: BaseException) -> BaseException:
    """The error as it can cross to the driver: counselsynth's errors as they are (they pickle,
    see errors.py); anything else, which would be a bug, as a RuntimeError carrying its traceback."""
    try:
        pickle.dumps(exc)
    except Exception:
        pass
    else:
        if isinstance(exc, CounselsynthError):
            return exc
    text = "".join(traceback.format_exception(exc)).rstrip()
    return RuntimeError(f"a worker failed with an unexpected error:\n{text}")


class CaseWorker:
    def __init__(self, spec: WorkerSpec, cache: ReplyCache | None) -> None:
        self.engine = LLMEngine(spec.gateway, cache=cache)
        self.engine.limit_calls(spec.slots)
        self.factory = CaseFactory(spec.catalog, spec.prompts, self.engine, spec.settings, spec.frameworks)

    @asynccontextmanager
    async def opened(self, saver: BaseCheckpointSaver[Any]) -> AsyncIterator[None]:
        """Cases checkpoint through `saver`, which every worker of the run shares (one SQLite
        file): a case resumed after a restart may land on any worker, and finds its last step there."""
        self.factory.use_checkpointer(saver)
        # Frozen as in the driver (see runloop.frozen_heap): a full collection over litellm's
        # tables would stall every response this worker is waiting for.
        with frozen_heap():
            yield

    def counters(self) -> Counters:
        engine = self.engine
        return Counters(engine.resilience(), engine.structured_modes(), engine.cache_hits())

    async def generate(self, plan: CasePlan) -> Outcome:
        try:
            case = await self.factory.generate(plan)
        except Exception as exc:
            return Outcome(None, None, portable(exc), self.counters())
        return Outcome(case.model_dump_json(), Totals.of(case), None, self.counters())

    def close(self) -> None:
        if self.engine.cache is not None:
            self.engine.cache.close()
