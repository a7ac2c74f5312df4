"""What only the Redis bus does: cross-process delivery, isolation by prefix, and surviving a
Redis restart."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from aegis.bus.base import TICKS, Subscription
from aegis.bus.redis import RedisBus
from aegis.core.errors import StreamUnavailable
from tests.support.services import RedisFactory, free_port

WAIT_S = 15.0


async def take_one(sub: Subscription) -> bytes:
    async with asyncio.timeout(WAIT_S):
        async for payload in sub:
            return payload
    raise AssertionError("subscription ended")


async def test_a_payload_published_by_one_bus_reaches_another_bus(redis_url: str) -> None:
    ingester, api = RedisBus(redis_url), RedisBus(redis_url)
    await ingester.start()
    await api.start()
    try:
        sub = await api.subscribe(TICKS)
        await ingester.publish(TICKS, b"tick-batch")

        assert await take_one(sub) == b"tick-batch"
        assert api.describe()["received"] == 1
    finally:
        await ingester.close()
        await api.close()


async def test_buses_with_other_prefixes_do_not_hear_each_other(redis_url: str) -> None:
    a, b = RedisBus(redis_url, prefix="site-a:"), RedisBus(redis_url, prefix="site-b:")
    await a.start()
    await b.start()
    try:
        sub_a, sub_b = await a.subscribe(TICKS), await b.subscribe(TICKS)
        await b.publish(TICKS, b"for-b")
        await a.publish(TICKS, b"for-a")

        assert await take_one(sub_a) == b"for-a"
        assert await take_one(sub_b) == b"for-b"
    finally:
        await a.close()
        await b.close()


async def test_start_fails_clearly_when_redis_is_unreachable() -> None:
    bus = RedisBus(f"redis://127.0.0.1:{free_port()}/0")

    with pytest.raises(StreamUnavailable, match="cannot reach Redis"):
        await bus.start()


async def test_bus_reconnects_and_resubscribes_after_redis_restarts(
    redis_factory: RedisFactory,
) -> None:
    server = redis_factory()
    bus = RedisBus(server.url)
    await bus.start()
    try:
        sub = await bus.subscribe(TICKS)
        await bus.publish(TICKS, b"before")
        assert await take_one(sub) == b"before"

        server.stop()
        with pytest.raises(StreamUnavailable):
            await bus.publish(TICKS, b"while-down")
        assert bus.describe()["publishFailed"] == 1
        server.start()

        # Until the reader has resubscribed, what is published is lost to it (pub/sub is
        # at-most-once); keep publishing until one gets through.
        received: bytes | None = None
        async with asyncio.timeout(WAIT_S):
            n = 0
            while received is None:
                n += 1
                with contextlib.suppress(StreamUnavailable):
                    await bus.publish(TICKS, f"after-{n}".encode())
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.2):
                        received = await take_one(sub)

        assert received.startswith(b"after-")
        info = bus.describe()
        assert info["connected"] is True
        assert info["reconnects"] == 1
    finally:
        await bus.close()


async def test_close_ends_every_local_subscription(redis_url: str) -> None:
    bus = RedisBus(redis_url)
    await bus.start()
    sub = await bus.subscribe(TICKS)

    await bus.close()

    assert [p async for p in sub] == []
    with pytest.raises(StreamUnavailable):
        await bus.publish(TICKS, b"x")
