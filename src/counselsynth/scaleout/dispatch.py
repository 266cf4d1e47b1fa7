"""The driver's side of a scaled-out run, shared by the process and the Ray executors.

Cases are handed out one at a time as the run opens them, each to the worker with the fewest
cases in flight per request slot, so work follows free capacity: a slow or busy worker gets fewer
new cases rather than a fixed share. The driver keeps each worker's latest engine counters (sent
with every outcome) and adds them up for the manifest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from counselsynth.engines.cache import ResponseCache
from counselsynth.graph.checkpoints import checkpoint_file
from counselsynth.runloop import Totals
from counselsynth.runner import CasePlan
from counselsynth.scaleout.worker import Counters, Outcome, WorkerSpec


def slot_shares(total: int, workers: int) -> list[int]:
    """`total` request slots dealt to `workers` workers as evenly as possible (they sum to total)."""
    return [total // workers + (index < total % workers) for index in range(workers)]


class Dispatcher(ABC):
    kind: str

    def __init__(self, spec: WorkerSpec, workers: int) -> None:
        self.spec = spec
        self.workers = max(1, min(workers, spec.settings.concurrency))
        self._in_flight: list[int] = []
        self._slots: list[int] = []
        self._counters: dict[int, Counters] = {}
        self._cases: dict[int, int] = {}

    @abstractmethod
    async def _start(self) -> None:
        """Start the workers (and set `self.workers` to how many there are)."""

    @abstractmethod
    async def _stop(self) -> None: ...

    @abstractmethod
    async def _send(self, worker: int, plan: CasePlan) -> Outcome: ...

    def details(self) -> dict[str, Any]:
        """What the manifest records about this executor beyond its kind and the workers."""
        return {}

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self._prepare_files()
        try:
            await self._start()
            self._slots = slot_shares(self.spec.settings.concurrency, self.workers)
            self._in_flight = [0] * self.workers
            yield
        finally:
            await self._stop()

    async def _prepare_files(self) -> None:
        """Create the run's SQLite files (schema, WAL mode) here, once, before any worker starts:
        `--workers` processes that all created them at the same moment would race on SQLite's
        schema changes, which the busy timeout does not cover. On Ray the store opens them alone,
        but a damaged file is still refused here, with one line, before any actor starts."""
        async with checkpoint_file(self.spec.checkpoints):
            pass
        if self.spec.cache is not None:
            cache = ResponseCache(self.spec.cache)
            cache.prepare()
            cache.close()

    async def run(self, plan: CasePlan) -> tuple[str, Totals]:
        worker = min(range(self.workers), key=lambda index: self._in_flight[index] / self._slots[index])
        self._in_flight[worker] += 1
        try:
            outcome = await self._send(worker, plan)
        finally:
            self._in_flight[worker] -= 1
        self._counters[worker] = outcome.counters
        if outcome.error is not None:
            raise outcome.error
        assert outcome.line is not None and outcome.totals is not None
        self._cases[worker] = self._cases.get(worker, 0) + 1
        return outcome.line, outcome.totals

    def resilience(self) -> dict[str, float]:
        summed: dict[str, float] = {}
        for counters in self._counters.values():
            for key, value in counters.resilience.items():
                summed[key] = round(summed.get(key, 0.0) + value, 3)
        return summed

    def structured_modes(self) -> dict[str, str]:
        chosen: dict[str, str] = {}
        for counters in self._counters.values():
            chosen.update(counters.structured)
        return dict(sorted(chosen.items()))

    def cache_hits(self) -> int:
        return sum(counters.cache_hits for counters in self._counters.values())

    def report(self) -> dict[str, Any]:
        """The manifest's `executor` block: kind, workers, and each worker's calls and cases."""
        return {
            "kind": self.kind,
            "workers": self.workers,
            **self.details(),
            "per_worker": {
                str(index): {
                    "slots": self._slots[index] if index < len(self._slots) else 0,
                    "cases": self._cases.get(index, 0),
                    "calls": int(self._counters[index].resilience.get("calls", 0)) if index in self._counters else 0,
                }
                for index in range(self.workers)
            },
        }
