"""Waiting out an endpoint that has gone away.

A model server restarts, a GPU node reboots, a proxy answers 503 for a minute. Retrying each
request with its own backoff spends every attempt within seconds and fails every case at once.
Instead, when a request fails with a connection error or 502/503/504 and no request has got
through since it was sent, the endpoint is taken to be down: new requests wait, one prober asks
the endpoint with backoff, and when it answers everything resumes. A request that waited out a
real outage does not spend an attempt on it. Past the timeout the run stops, resumable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from counselsynth.errors import EndpointDownError

# Probe intervals grow from the run's backoff base up to this, so recovery is noticed soon.
PROBE_INTERVAL_MAX = 5.0


@dataclass
class OutageGate:
    """One per endpoint. `probe` returns True once the endpoint answers again."""

    name: str
    timeout: float
    backoff_initial: float
    probe: Callable[[], Awaitable[bool]]
    pauses: int = 0
    paused_seconds: float = 0.0
    _last_success: float = field(default=float("-inf"))
    _episode: asyncio.Future[bool] | None = None

    async def wait_open(self) -> None:
        """Hold new work while the endpoint is down (raises when it stays down)."""
        if self._episode is not None and not self._episode.done():
            await asyncio.shield(self._episode)

    def succeeded(self) -> None:
        self._last_success = time.monotonic()

    async def failed(self, started: float) -> bool:
        """After an outage-type failure of a request sent at `started`: True when the endpoint was
        down and has come back (the attempt does not count), False for an ordinary failure."""
        if self._last_success > started:
            return False  # other requests got through meanwhile: the endpoint is up
        if self._episode is None or self._episode.done():
            self._episode = asyncio.get_running_loop().create_future()
            asyncio.ensure_future(self._watch(self._episode))
        return await asyncio.shield(self._episode)

    async def _watch(self, episode: asyncio.Future[bool]) -> None:
        began = time.monotonic()
        delay = self.backoff_initial
        down = False
        try:
            while not await self.probe():
                if not down:
                    down = True
                    self.pauses += 1
                waited = time.monotonic() - began
                if waited >= self.timeout:
                    raise EndpointDownError(
                        f"{self.name} has not answered for {waited:.0f} s (--outage-timeout {self.timeout:g}); "
                        "finished cases are kept: run the same command again to resume"
                    )
                await asyncio.sleep(min(delay, self.timeout - waited))
                delay = min(delay * 2, PROBE_INTERVAL_MAX)
        except Exception as exc:  # the probe's own failure must reach every waiter, not vanish
            episode.set_exception(exc)
        else:
            self.succeeded()
            episode.set_result(down)
        finally:
            if down:
                self.paused_seconds += time.monotonic() - began
