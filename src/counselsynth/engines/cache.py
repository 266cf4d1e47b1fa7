"""A response cache keyed by the request, so a re-run with the same seed and settings
reproduces the same corpus without new LLM calls."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from counselsynth.errors import DamagedFileError
from counselsynth.redaction import mask

BUSY_SECONDS = 60.0


def request_key(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


class ReplyCache(Protocol):
    """What the LLM engine asks of a response cache: the SQLite file itself (`ResponseCache`), or,
    on a Ray actor, the run's folder store on the driver's node (`scaleout.store_proxy`). Async,
    because the store answers over the network."""

    hits: int

    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def put(self, key: str, reply: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class ResponseCache:
    """SQLite table of request key → the validated reply (raw text and usage).

    Only replies that passed validation are stored, so a cached run never replays a fault.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self.hits = 0

    @contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; a damaged file becomes one error that names it."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.DatabaseError as exc:
                raise DamagedFileError(self.path, exc) from None

    @property
    def _db(self) -> sqlite3.Connection:
        # Opened on first use, so a run refused for bad input leaves no folder behind.
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Shared by the workers of a scaled-out run: wait out another writer's commit.
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=BUSY_SECONDS)
            db.execute("PRAGMA journal_mode=WAL")
            # A lost last entry after power loss only costs one repeated call; an fsync per reply
            # would cost milliseconds of every call.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, reply TEXT NOT NULL)")
            self._connection = db
        return self._connection

    def prepare(self) -> None:
        """Create the file and its table now (the driver of a scaled-out run does, so that its
        workers only ever read the schema when they open the file together)."""
        with self._guard():
            pass

    async def get(self, key: str) -> dict[str, Any] | None:
        # A local lookup takes microseconds: run inline rather than on a thread.
        with self._guard() as db:
            row = db.execute("SELECT reply FROM replies WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        self.hits += 1
        value: dict[str, Any] = json.loads(row[0])
        return value

    async def put(self, key: str, reply: dict[str, Any]) -> None:
        with self._guard() as db:
            db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?)", (key, mask(json.dumps(reply))))

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
