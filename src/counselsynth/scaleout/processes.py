"""`--workers N` for LLM runs: N forked processes, each with its own event loop and engine.

Each worker reads plans from its pipe and keeps as many cases open as the driver sends it; the
driver sends a plan only when the run opens a case, to the least-loaded worker (see dispatch).
Forked, so a worker starts in milliseconds with the catalog, prompts and litellm already loaded;
it opens its own response-cache and checkpoint connections (never the parent's). Unlike Ray actors
(see folder_store), workers open the run folder's SQLite files directly: they all run on the
driver's host, where WAL's shared-memory index works across processes, and a store process in
between would only add a hop to every step.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import threading
from dataclasses import replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from counselsynth.engines.cache import ResponseCache
from counselsynth.errors import WorkerLostError
from counselsynth.graph.checkpoints import checkpoint_file
from counselsynth.runner import CasePlan
from counselsynth.scaleout.dispatch import Dispatcher, slot_shares
from counselsynth.scaleout.parentwatch import follow_parent
from counselsynth.scaleout.worker import CaseWorker, Counters, Outcome, WorkerSpec, portable

# The sequence number of the message a worker sends when it cannot start.
STARTUP = -1
STOP_SECONDS = 5.0


def _serve(connection: Connection, spec: WorkerSpec, parent: int) -> None:
    follow_parent(parent)
    asyncio.run(_serve_cases(connection, spec))


async def _serve_cases(connection: Connection, spec: WorkerSpec) -> None:
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple[int, CasePlan] | None] = asyncio.Queue()

    def read() -> None:
        while True:
            try:
                message = connection.recv()
            except (EOFError, OSError):
                message = None
            loop.call_soon_threadsafe(inbox.put_nowait, message)
            if message is None:
                return

    threading.Thread(target=read, name="plans", daemon=True).start()
    running: set[asyncio.Task[None]] = set()

    async def one(worker: CaseWorker, sequence: int, plan: CasePlan) -> None:
        outcome = await worker.generate(plan)
        connection.send((sequence, outcome))

    try:
        worker = CaseWorker(spec, ResponseCache(spec.cache) if spec.cache else None)
        async with checkpoint_file(spec.checkpoints) as saver, worker.opened(saver):
            while (message := await inbox.get()) is not None:
                task = asyncio.create_task(one(worker, *message))
                running.add(task)
                task.add_done_callback(running.discard)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        worker.close()
    except Exception as exc:
        connection.send((STARTUP, Outcome(None, None, portable(exc), Counters())))


class ProcessDispatcher(Dispatcher):
    kind = "processes"

    def __init__(self, spec: WorkerSpec, workers: int) -> None:
        super().__init__(spec, workers)
        self._processes: list[BaseProcess] = []
        self._connections: list[Connection] = []
        self._waiting: dict[int, tuple[int, asyncio.Future[Outcome]]] = {}
        self._sequence = itertools.count()
        self._stopping = False
        self._broken: BaseException | None = None

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("fork")
        shares = slot_shares(self.spec.settings.concurrency, self.workers)
        for index, slots in enumerate(shares):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_serve,
                args=(theirs, replace(self.spec, slots=slots), os.getpid()),
                name=f"counselsynth-worker-{index}",
                daemon=True,
            )
            process.start()
            theirs.close()
            self._processes.append(process)
            self._connections.append(ours)
        for index, connection in enumerate(self._connections):
            reader = threading.Thread(target=self._read, args=(index, connection, loop), daemon=True)
            reader.start()

    def _read(self, index: int, connection: Connection, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                sequence, outcome = connection.recv()
            except (EOFError, OSError):
                break
            loop.call_soon_threadsafe(self._resolve, index, sequence, outcome)
        loop.call_soon_threadsafe(self._lost, index)

    def _resolve(self, index: int, sequence: int, outcome: Outcome) -> None:
        if sequence == STARTUP:
            assert outcome.error is not None
            self._fail(index, outcome.error)
            return
        waiting = self._waiting.pop(sequence, None)
        if waiting is not None and not waiting[1].done():
            waiting[1].set_result(outcome)

    def _lost(self, index: int) -> None:
        if self._stopping:
            return
        process = self._processes[index]
        process.join(1.0)
        self._fail(
            index,
            WorkerLostError(
                f"worker process {index} (pid {process.pid}) ended unexpectedly (exit code {process.exitcode}); "
                "repeat the command to resume the run"
            ),
        )

    def _fail(self, index: int, error: BaseException) -> None:
        """A worker that cannot go on fails the run: its cases and every case sent after."""
        self._broken = self._broken or error
        for sequence, (worker, future) in list(self._waiting.items()):
            if worker == index and not future.done():
                del self._waiting[sequence]
                future.set_exception(error)

    async def _send(self, worker: int, plan: CasePlan) -> Outcome:
        if self._broken is not None:
            raise self._broken
        sequence = next(self._sequence)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting[sequence] = (worker, future)
        try:
            self._connections[worker].send((sequence, plan))
            return await future
        finally:
            self._waiting.pop(sequence, None)

    async def _stop(self) -> None:
        self._stopping = True
        for connection in self._connections:
            try:
                connection.send(None)
            except OSError:
                pass  # the worker is gone already
        loop = asyncio.get_running_loop()
        for process in self._processes:
            await loop.run_in_executor(None, process.join, STOP_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
        for connection in self._connections:
            connection.close()
