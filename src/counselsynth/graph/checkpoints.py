"""How a case's state is stored in LangGraph's SQLite checkpoints.

Every step rewrites the session's turn list, and turning dozens of pydantic models into
msgpack costs about a millisecond per step. Turns never change once spoken, so each keeps its
plain form (`Turn.plain`) and the list is packed from those in microseconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import ormsgpack
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from counselsynth.models import Turn

TURNS = "counselsynth-turns"
# The record types a checkpoint may hold; anything else is refused when a checkpoint is read.
STATE_MODELS = ("Turn", "TurnAnnotations", "Provenance", "Critique", "Session", "SessionSummary", "PhasePlan", "Usage")


class CheckpointSerializer(JsonPlusSerializer):
    def __init__(self) -> None:
        super().__init__(allowed_msgpack_modules=[("counselsynth.models", name) for name in STATE_MODELS])

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        if isinstance(obj, list) and obj and all(isinstance(item, Turn) for item in obj):
            return TURNS, ormsgpack.packb([turn.plain() for turn in obj])
        return super().dumps_typed(obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        kind, payload = data
        if kind == TURNS:
            return [Turn.model_validate(item) for item in ormsgpack.unpackb(payload)]
        return super().loads_typed(data)


@asynccontextmanager
async def sqlite_checkpointer(path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    async with aiosqlite.connect(str(path)) as connection:
        # WAL with synchronous=NORMAL: a commit survives kill -9 at once and a power loss once
        # the WAL is synced; an fsync per step would queue every case behind the disk.
        await connection.execute("PRAGMA journal_mode=WAL")
        await connection.execute("PRAGMA synchronous=NORMAL")
        saver = AsyncSqliteSaver(connection, serde=CheckpointSerializer())
        await saver.setup()
        yield saver
