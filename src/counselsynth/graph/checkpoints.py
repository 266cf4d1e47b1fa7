"""How a case's state is stored in LangGraph's SQLite checkpoints.

With sync durability every step writes the whole state, and LangGraph's own serializer turns
each pydantic model into a dict (`model_dump`) on every write: in the second session that is
every turn of both sessions, about 2.5 ms per step. Turns never change once spoken, so a turn is
packed from its cached plain form, and the other state models are packed field by field, so
the turns inside a finished `Session` are not dumped again either. The bytes use LangGraph's
own extension code for pydantic models, so LangGraph's loader reads them back unchanged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import ormsgpack
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from pydantic import BaseModel

from counselsynth import models
from counselsynth.errors import DamagedFileError
from counselsynth.models import Turn
from counselsynth.redaction import mask

# The record types a checkpoint may hold; anything else is refused when a checkpoint is read.
STATE_MODELS = ("Turn", "TurnAnnotations", "Provenance", "Critique", "Session", "SessionSummary", "PhasePlan", "Usage")
# LangGraph's extension code for pydantic v2 models: (module, class, fields, method), rebuilt
# on load with `cls(**fields)` once the class passes the allow-list.
_PYDANTIC_V2 = 5
# LangGraph's packing options. The pass-through ones send datetimes, enums, UUIDs and
# dataclasses to `_pack` (which declines them), so a state holding one falls back to LangGraph's
# serializer instead of silently losing its type.
_OPTIONS = (
    ormsgpack.OPT_NON_STR_KEYS
    | ormsgpack.OPT_PASSTHROUGH_DATACLASS
    | ormsgpack.OPT_PASSTHROUGH_DATETIME
    | ormsgpack.OPT_PASSTHROUGH_ENUM
    | ormsgpack.OPT_PASSTHROUGH_UUID
    | ormsgpack.OPT_REPLACE_SURROGATES
)
BUSY_SECONDS = 60.0
_OURS = frozenset(getattr(models, name) for name in STATE_MODELS)


class _Declined(TypeError):
    """A value that only LangGraph's serializer knows how to pack."""


def _pack(value: Any) -> ormsgpack.Ext:
    kind = type(value)
    if kind is Turn:
        fields = value.plain()
    elif kind in _OURS:
        assert isinstance(value, BaseModel)
        fields = {name: getattr(value, name) for name in kind.model_fields}
    else:
        raise _Declined(kind.__name__)
    record = (kind.__module__, kind.__name__, fields, "model_validate_json")
    return ormsgpack.Ext(_PYDANTIC_V2, ormsgpack.packb(record, default=_pack, option=_OPTIONS))


def storable(value: Any) -> Any:
    """What is stored of a value: LangGraph stores a failed step's error as its repr; masked, since
    a provider may have echoed a key into it."""
    return mask(repr(value)) if isinstance(value, BaseException) else value


class CheckpointSerializer(JsonPlusSerializer):
    def __init__(self) -> None:
        super().__init__(allowed_msgpack_modules=[("counselsynth.models", name) for name in STATE_MODELS])

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        obj = storable(obj)
        try:
            return "msgpack", ormsgpack.packb(obj, default=_pack, option=_OPTIONS)
        except ormsgpack.MsgpackEncodeError:
            return super().dumps_typed(obj)


@asynccontextmanager
async def sqlite_checkpointer(path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    # Several workers of one run (see scaleout) write this file: a writer waits for another's
    # commit rather than failing after SQLite's default 5 s under a heavily loaded machine.
    async with aiosqlite.connect(str(path), timeout=BUSY_SECONDS) as connection:
        # WAL with synchronous=NORMAL: a commit survives kill -9 at once and a power loss once
        # the WAL is synced; an fsync per step would queue every case behind the disk.
        await connection.execute("PRAGMA journal_mode=WAL")
        await connection.execute("PRAGMA synchronous=NORMAL")
        saver = AsyncSqliteSaver(connection, serde=CheckpointSerializer())
        await saver.setup()
        yield saver


@asynccontextmanager
async def checkpoint_file(path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    """The run folder's checkpointer; a damaged file becomes one error that names it."""
    try:
        async with sqlite_checkpointer(path) as saver:
            yield saver
    except sqlite3.DatabaseError as exc:
        raise DamagedFileError(path, exc) from None
