"""One contract, two buses: the in-process bus and Redis pub/sub on a real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from aegis.bus.base import CANDLES, TICKS, Bus, Subscription
from aegis.bus.memory import MemoryBus
from aegis.bus.redis import RedisBus

WAIT_S = 10.0  # a generous bound for delivery over loopback, not a timing claim


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    made: Bus
    if request.param == "memory":
        made = MemoryBus()
    else:
        made = RedisBus(request.getfixturevalue("redis_url"))
    await made.start()
    yield made
    await made.close()


async def take(sub: Subscription, n: int) -> list[bytes]:
    out: list[bytes] = []
    async with asyncio.timeout(WAIT_S):
        async for payload in sub:
            out.append(payload)
            if len(out) == n:
                break
    return out


async def eventually(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_S):
        while True:
            if check():
                return
            await asyncio.sleep(0.01)  # polled: the counter has no event to wait on


async def test_subscriber_gets_every_payload_in_publish_order(bus: Bus) -> None:
    sub = await bus.subscribe(TICKS)
    sent = [f"batch-{i}".encode() for i in range(500)]

    for payload in sent:
        await bus.publish(TICKS, payload)

    assert await take(sub, 500) == sent


async def test_every_subscriber_of_a_topic_gets_each_payload(bus: Bus) -> None:
    first = await bus.subscribe(TICKS)
    second = await bus.subscribe(TICKS)

    await bus.publish(TICKS, b"\x00binary\xff")

    assert await take(first, 1) == [b"\x00binary\xff"]
    assert await take(second, 1) == [b"\x00binary\xff"]


async def test_topics_do_not_leak_into_each_other(bus: Bus) -> None:
    ticks = await bus.subscribe(TICKS)
    candles = await bus.subscribe(CANDLES)

    await bus.publish(CANDLES, b"c1")
    await bus.publish(TICKS, b"t1")

    assert await take(ticks, 1) == [b"t1"]
    assert await take(candles, 1) == [b"c1"]


async def test_closed_subscription_ends_and_others_go_on(bus: Bus) -> None:
    leaving = await bus.subscribe(TICKS)
    staying = await bus.subscribe(TICKS)
    await leaving.close()

    await bus.publish(TICKS, b"after")

    assert [p async for p in leaving] == []
    assert await take(staying, 1) == [b"after"]


async def test_slow_subscriber_keeps_its_buffer_and_counts_the_rest(bus: Bus) -> None:
    slow = await bus.subscribe(TICKS, maxsize=3)
    fast = await bus.subscribe(TICKS)

    for i in range(10):
        await bus.publish(TICKS, str(i).encode())

    assert len(await take(fast, 10)) == 10  # all ten reached this process
    await eventually(lambda: slow.dropped == 7)
    assert await take(slow, 3) == [b"0", b"1", b"2"]


async def test_describe_counts_publishes_and_subscribers(bus: Bus) -> None:
    sub = await bus.subscribe(TICKS)
    await bus.publish(TICKS, b"x")
    await take(sub, 1)

    info = bus.describe()

    assert info["kind"] == bus.kind
    assert info["published"] == 1
    assert info["subscribers"] == 1
