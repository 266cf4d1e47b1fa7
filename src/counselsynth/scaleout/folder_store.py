"""The run folder's SQLite stores on a Ray cluster: one actor on the driver's node owns them.

`checkpoints.sqlite` and `cache.sqlite` are SQLite in WAL mode, whose writers must share a host:
WAL's index is shared memory, and SQLite does not work over a network file system. So on Ray no
actor opens them. One `FolderStore` per run, pinned to the driver's node (where the run folder
is), holds the only connections, and the case actors reach it through Ray (`store_proxy`). The
run folder then needs no shared storage: it stays on the driver's machine, and a case resumed
after a restart finds its last step there whichever actor, on whichever node, takes it up.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from counselsynth.engines.cache import ResponseCache
from counselsynth.graph.checkpoints import checkpoint_file
from counselsynth.scaleout.worker import portable


class FolderStore:
    """Made a Ray actor class at run time (`start_store`), so that importing this module does not
    import Ray. Async, so Ray serves the actors' calls concurrently on one loop; the saver
    serialises its own writes (aiosqlite and a lock), and the cache's queries take microseconds."""

    def __init__(self, checkpoints: Path, cache: Path | None) -> None:
        self.checkpoints = checkpoints
        self.cache = ResponseCache(cache) if cache is not None else None
        self._stack = AsyncExitStack()
        self._saver: AsyncSqliteSaver | None = None

    async def open(self) -> BaseException | None:
        """Open both files; the error, if any, is returned to the driver rather than raised."""
        try:
            self._saver = await self._stack.enter_async_context(checkpoint_file(self.checkpoints))
            if self.cache is not None:
                self.cache.prepare()
        except Exception as exc:
            return portable(exc)
        return None

    @property
    def saver(self) -> AsyncSqliteSaver:
        assert self._saver is not None, "FolderStore.open() first"
        return self._saver

    async def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self.saver.aget_tuple(config)

    async def put(
        self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, versions: ChannelVersions
    ) -> RunnableConfig:
        return await self.saver.aput(config, checkpoint, metadata, versions)

    async def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str
    ) -> None:
        await self.saver.aput_writes(config, writes, task_id, task_path)

    async def delete_thread(self, thread_id: str) -> None:
        await self.saver.adelete_thread(thread_id)

    async def cache_get(self, key: str) -> dict[str, Any] | None:
        assert self.cache is not None
        return await self.cache.get(key)

    async def cache_put(self, key: str, reply: dict[str, Any]) -> None:
        assert self.cache is not None
        await self.cache.put(key, reply)

    async def close(self) -> None:
        await self._stack.aclose()
        if self.cache is not None:
            self.cache.close()


def start_store(checkpoints: Path, cache: Path | None) -> Any:
    """The run's store actor (a Ray handle), on this (the driver's) node, not yet opened."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = ray.get_runtime_context().get_node_id()
    # Not soft: anywhere else the files are not there (or are, over NFS, which is the problem).
    # No CPU reserved: `local` gives each case actor one CPU and would leave none for the store,
    # and a cluster's head node (the usual driver) is often started with --num-cpus 0.
    placed = NodeAffinitySchedulingStrategy(node_id=here, soft=False)
    actor_class = ray.remote(num_cpus=0, max_restarts=0)(FolderStore)
    return actor_class.options(scheduling_strategy=placed).remote(checkpoints, cache)
