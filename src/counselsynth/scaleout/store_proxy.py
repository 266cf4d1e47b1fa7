"""A Ray actor's view of the run's folder store: a LangGraph checkpointer and a response cache
whose every call goes to the `FolderStore` actor on the driver's node (see folder_store).

Each call is awaited, so a step's checkpoint is committed on the driver's node before the next
step starts, and a cached reply before the case goes on: kill -9 of the driver loses no more than
in a one-process run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from counselsynth.graph.checkpoints import CheckpointSerializer, storable

_PLAIN = (str, int, float, bool)


def _plain(config: RunnableConfig) -> RunnableConfig:
    """The part of a config the store reads (thread, namespace, checkpoint id). The graph's config
    also carries its runtime (the case's context with the engine, callbacks), which is not the
    store's business and must not be shipped to it on every step."""
    configurable = config.get("configurable", {})
    return {"configurable": {k: v for k, v in configurable.items() if isinstance(v, _PLAIN) and not k.startswith("__")}}


class RemoteSaver(BaseCheckpointSaver[str]):
    """The async calls LangGraph makes of a checkpointer when a graph runs with `ainvoke` and
    `aget_state`; the sync ones are never called by the workers and stay unimplemented."""

    def __init__(self, store: Any) -> None:
        # The serializer is the store's business; this one is only there for LangGraph code that
        # reads `serde` off any checkpointer.
        super().__init__(serde=CheckpointSerializer())
        self.store = store

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        found: CheckpointTuple | None = await self.store.get_tuple.remote(_plain(config))
        return found

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        # The metadata is completed from the full config here, as the file's saver would have.
        stored: RunnableConfig = await self.store.put.remote(
            _plain(config), checkpoint, get_checkpoint_metadata(config, metadata), new_versions
        )
        return stored

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        # A failed step's error is stored as its masked repr anyway; sent as that, since the error
        # may hold what does not pickle (a provider's response, a lock).
        sent = [(channel, storable(value)) for channel, value in writes]
        await self.store.put_writes.remote(_plain(config), sent, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self.store.delete_thread.remote(thread_id)

    def get_next_version(self, current: str | None, channel: None) -> str:
        # The file's own saver's scheme (strings): a case checkpointed by a one-process run and
        # resumed on Ray, or the reverse, goes on comparing versions of one kind.
        return cast(str, cast(Any, AsyncSqliteSaver).get_next_version(self, current, channel))


class RemoteCache:
    """The run's response cache, through the store. Hits are counted here, per actor, as the
    file's cache counts them per process; the driver sums them for the manifest."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.hits = 0

    async def get(self, key: str) -> dict[str, Any] | None:
        reply: dict[str, Any] | None = await self.store.cache_get.remote(key)
        if reply is not None:
            self.hits += 1
        return reply

    async def put(self, key: str, reply: dict[str, Any]) -> None:
        await self.store.cache_put.remote(key, reply)

    def close(self) -> None:
        """Nothing to close here: the store closes the file when the run ends."""
