"""`--ray ADDRESS|local`: the run's cases on async Ray actors, results streamed to the driver.

Each actor is one `CaseWorker` (its own event loop, engine, litellm Router and share of the
request slots). The driver sends each case to the least-loaded actor as the run opens it and
awaits its result, so finished cases stream back one by one; the driver alone writes the run
folder. Actors checkpoint and cache replies through the run's `FolderStore` actor on the
driver's node (see folder_store), never into the run folder's files, so the folder needs no
shared storage: a case resumed after a restart may land on any actor, on any node.

`local` starts a Ray instance on this machine (one CPU per actor; one actor per core unless
`--workers` says otherwise) and stops it at the end;
an address joins a running cluster, whose nodes need counselsynth installed (or a runtime_env
that installs it) and the model's API key variable set.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from typing import Any

from counselsynth.engines.base import Engine
from counselsynth.errors import InputError, MissingExtraError, WorkerLostError
from counselsynth.runner import CasePlan
from counselsynth.scaleout.dispatch import Dispatcher, slot_shares
from counselsynth.scaleout.folder_store import start_store
from counselsynth.scaleout.store_proxy import RemoteCache, RemoteSaver
from counselsynth.scaleout.worker import CaseWorker, Outcome, WorkerSpec, portable

LOCAL = "local"


def require_ray(engine: Engine | None = None) -> None:
    """Fail at once, naming the extra, when `--ray` is given without Ray installed (or for the
    offline engine, which has no calls to spread)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise MissingExtraError("--ray", "ray") from None
    if engine is not None and engine.offline:
        raise InputError("--ray runs LLM engines only; give --model (the offline engine uses --workers)")


class CaseActor:
    """Made a Ray actor class at run time (`ray.remote(CaseActor)`), so that importing this module
    does not import Ray. Its methods are async, so Ray runs its calls concurrently on one loop.
    `store` is the run's FolderStore actor."""

    def __init__(self, spec: WorkerSpec, store: Any) -> None:
        self.worker = CaseWorker(spec, RemoteCache(store) if spec.cache is not None else None)
        self.saver = RemoteSaver(store)
        self.opened: Any = None

    async def open(self) -> BaseException | None:
        """Start using the checkpoints; the error, if any, is returned to the driver rather than raised."""
        try:
            self.opened = self.worker.opened(self.saver)
            await self.opened.__aenter__()
        except Exception as exc:
            return portable(exc)
        return None

    async def generate(self, plan: CasePlan) -> Outcome:
        return await self.worker.generate(plan)

    async def close(self) -> None:
        if self.opened is not None:
            await self.opened.__aexit__(None, None, None)
        self.worker.close()


class RayDispatcher(Dispatcher):
    kind = "ray"

    def __init__(self, spec: WorkerSpec, address: str, workers: int) -> None:
        super().__init__(spec, workers or 1)
        self.address = address
        self._asked = workers
        self._actors: list[Any] = []
        self._store: Any = None
        self._started_here = False

    def details(self) -> dict[str, Any]:
        return {"address": self.address}

    async def _start(self) -> None:
        require_ray()
        import ray

        if self.address == LOCAL:
            wanted = self._asked or os.cpu_count() or 1
            # One CPU per actor, and no dashboard: `local` is for tests and for one machine.
            ray.init(num_cpus=wanted, include_dashboard=False, log_to_driver=False, configure_logging=False)
            self._started_here = True
        else:
            try:
                ray.init(address=self.address, log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise InputError(f"--ray {self.address}: no Ray cluster there ({exc})") from None
            wanted = self._asked or int(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call]
        self.workers = max(1, min(wanted, self.spec.settings.concurrency))
        self._store = start_store(self.spec.checkpoints, self.spec.cache)
        error = await self._store.open.remote()
        if error is not None:
            raise error
        actor_class = ray.remote(num_cpus=1, max_restarts=0, scheduling_strategy="SPREAD")(CaseActor)
        shares = slot_shares(self.spec.settings.concurrency, self.workers)
        self._actors = [actor_class.remote(replace(self.spec, slots=slots), self._store) for slots in shares]
        for error in await asyncio.gather(*(actor.open.remote() for actor in self._actors)):
            if error is not None:
                raise error

    async def _send(self, worker: int, plan: CasePlan) -> Outcome:
        import ray

        try:
            outcome: Outcome = await self._actors[worker].generate.remote(plan)
        except ray.exceptions.RayActorError as exc:
            raise WorkerLostError(f"Ray actor {worker} died ({exc}); repeat the command to resume the run") from None
        return outcome

    async def _stop(self) -> None:
        import ray

        if not ray.is_initialized():
            return
        try:
            # Closed in order before they are killed: the case actors first, then the store they
            # write through (its files' last commits). An actor that died has nothing to close.
            await asyncio.gather(*(actor.close.remote() for actor in self._actors), return_exceptions=True)
            if self._store is not None:
                await asyncio.gather(self._store.close.remote(), return_exceptions=True)
        finally:
            for actor in [*self._actors, *([self._store] if self._store is not None else [])]:
                ray.kill(actor)
            ray.shutdown()
