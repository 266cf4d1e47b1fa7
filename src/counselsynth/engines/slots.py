"""Request slots that go to the case with the most work left.

A run is a set of call chains (one per case) sharing C request slots. Handing a free slot to
the chain with the most calls still to make (longest remaining first) keeps every slot busy
until the end: under first-come order the longest cases are still running when the others are
done, and the run ends on a tail of a few chains that use a few of the C slots.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class PrioritySlots:
    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @asynccontextmanager
    async def hold(self, priority: float) -> AsyncIterator[None]:
        """Hold one slot; among waiters, the highest priority goes first, then the earliest."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (-priority, next(self._order), ready))
            try:
                await ready
            except asyncio.CancelledError:
                if ready.done() and not ready.cancelled():
                    self._release()  # the slot was handed over as the waiter was cancelled
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            _, _, ready = heapq.heappop(self._waiting)
            if not ready.done():
                ready.set_result(None)
                return
        self._free += 1
