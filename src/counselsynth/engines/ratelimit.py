"""Per-model request and token budgets (requests and tokens per minute)."""

from __future__ import annotations

import asyncio
import time


class RateLimiter:
    """A pair of token buckets, refilled continuously, shared by all calls to one model.

    A call waits until both a request slot and its estimated tokens are available, so a run
    stays under the provider's limits instead of collecting 429s.
    """

    def __init__(self, rpm: int | None, tpm: int | None) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self._requests = float(rpm or 0)
        self._tokens = float(tpm or 0)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        elapsed, self._stamp = now - self._stamp, now
        if self.rpm:
            self._requests = min(float(self.rpm), self._requests + elapsed * self.rpm / 60)
        if self.tpm:
            self._tokens = min(float(self.tpm), self._tokens + elapsed * self.tpm / 60)

    async def acquire(self, tokens: int) -> None:
        if not self.rpm and not self.tpm:
            return
        # A single request larger than the whole token budget could never pass; let it through
        # at a full bucket rather than deadlock.
        tokens = min(tokens, self.tpm or tokens)
        async with self._lock:
            while True:
                self._refill()
                short_requests = 1 - self._requests if self.rpm else 0.0
                short_tokens = tokens - self._tokens if self.tpm else 0.0
                if short_requests <= 0 and short_tokens <= 0:
                    if self.rpm:
                        self._requests -= 1
                    if self.tpm:
                        self._tokens -= tokens
                    return
                wait = max(
                    short_requests * 60 / self.rpm if self.rpm else 0.0,
                    short_tokens * 60 / self.tpm if self.tpm else 0.0,
                )
                await asyncio.sleep(wait)
