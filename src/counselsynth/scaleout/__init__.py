"""Scale-out executors for LLM runs: several processes on one machine, or actors on a Ray cluster.

One process drives about 80-90 LLM calls per second (litellm spends about 10 ms of CPU per call).
Beyond that, the run's cases go to workers, each with its own event loop, its own engine and its
share of the `--concurrency` request slots. The driver alone holds the run folder: it plans,
hands each case to the least-loaded worker (so a slow worker does not hold the tail), and writes
every case, failure and manifest itself, so the run-folder contract, the run lock and resume are
the same as in a one-process run.

- `worker`: what a worker runs (its own CaseFactory and engine, on the checkpointer and cache it is given).
- `dispatch`: the driver's side shared by both executors (routing, per-worker counters).
- `processes`: `--workers N` on one machine (forked processes, pipes; they open the folder's files).
- `ray_actors`: `--ray ADDRESS|local` (async Ray actors; the optional `ray` extra).
- `folder_store`: on Ray, the one actor, on the driver's node, that opens the folder's SQLite files.
- `store_proxy`: the case actors' checkpointer and response cache that call that store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from counselsynth.runner import CaseFactory
    from counselsynth.scaleout.dispatch import Dispatcher
    from counselsynth.settings import RunSettings


def executor_for(factory: CaseFactory, settings: RunSettings, workers: int) -> Dispatcher:
    """The executor for a scaled-out run: Ray actors with `--ray`, else forked processes."""
    from counselsynth.runner import CHECKPOINTS
    from counselsynth.scaleout.worker import worker_spec

    spec = worker_spec(factory, settings.out_dir / CHECKPOINTS)
    if settings.ray is not None:
        from counselsynth.scaleout.ray_actors import RayDispatcher

        return RayDispatcher(spec, settings.ray, settings.workers)
    from counselsynth.scaleout.processes import ProcessDispatcher

    return ProcessDispatcher(spec, workers)
