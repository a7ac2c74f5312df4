"""``LeanEvent`` and ``LeanQueue`` behave as the asyncio classes they replace on a connection."""

from __future__ import annotations

import asyncio

import pytest

from aegis.core.lean import LeanEvent, LeanQueue


async def test_every_waiter_wakes_on_set_and_a_set_event_does_not_block() -> None:
    ev = LeanEvent()
    woken: list[int] = []

    async def waiter(i: int) -> None:
        await ev.wait()
        woken.append(i)

    tasks = [asyncio.create_task(waiter(i)) for i in range(3)]
    await asyncio.sleep(0)
    assert woken == [] and not ev.is_set()
    ev.set()
    await asyncio.gather(*tasks)
    assert sorted(woken) == [0, 1, 2]
    await ev.wait()  # already set: returns at once
    ev.clear()
    assert not ev.is_set()


async def test_a_cancelled_waiter_leaves_the_others_waiting() -> None:
    ev = LeanEvent()
    a = asyncio.create_task(ev.wait())
    b = asyncio.create_task(ev.wait())
    await asyncio.sleep(0)
    a.cancel()
    with pytest.raises(asyncio.CancelledError):
        await a
    assert not b.done()
    ev.set()
    await b


async def test_the_queue_is_fifo_and_get_waits_for_a_put() -> None:
    q: LeanQueue[int] = LeanQueue()
    assert q.empty() and q.qsize() == 0
    with pytest.raises(asyncio.QueueEmpty):
        q.get_nowait()
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not getter.done()
    q.put_nowait(1)
    q.put_nowait(2)
    assert await getter == 1
    assert q.qsize() == 1 and not q.empty()
    q.put_nowait(3)
    assert [await q.get(), q.get_nowait()] == [2, 3]
    assert q.empty()


async def test_a_getter_cancelled_after_its_wake_up_passes_the_item_on() -> None:
    q: LeanQueue[str] = LeanQueue()
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.put_nowait("x")  # wakes the first getter …
    first.cancel()  # … which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, 5) == "x"
