"""Request slots: the case with the most calls left goes first, and no slot is ever lost."""

from __future__ import annotations

import asyncio

from counselsynth.engines.slots import PrioritySlots


def test_waiters_are_served_by_priority_then_arrival_and_never_beyond_the_limit() -> None:
    async def scenario() -> tuple[list[str], int]:
        slots = PrioritySlots(2)
        served: list[str] = []
        busy = 0
        peak = 0

        async def call(name: str, priority: float) -> None:
            nonlocal busy, peak
            async with slots.hold(priority):
                busy += 1
                peak = max(peak, busy)
                served.append(name)
                await asyncio.sleep(0.01)
                busy -= 1

        tasks = [asyncio.create_task(call(n, p)) for n, p in [("a", 1), ("b", 1), ("c", 5), ("d", 9), ("e", 5)]]
        await asyncio.gather(*tasks)
        return served, peak

    served, peak = asyncio.run(scenario())
    # a and b take the two free slots; then d (9), c and e (5, in arrival order).
    assert served == ["a", "b", "d", "c", "e"]
    assert peak == 2


def test_a_cancelled_waiter_gives_its_slot_back() -> None:
    async def scenario() -> int:
        slots = PrioritySlots(1)
        release = asyncio.Event()

        async def holder() -> None:
            async with slots.hold(0):
                await release.wait()

        first = asyncio.create_task(holder())
        await asyncio.sleep(0)
        waiter = asyncio.create_task(holder())
        await asyncio.sleep(0)
        waiter.cancel()
        release.set()
        await first
        await asyncio.gather(waiter, return_exceptions=True)
        async with slots.hold(0):  # the slot is free again
            pass
        return slots._free

    assert asyncio.run(scenario()) == 1
