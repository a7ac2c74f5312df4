"""What only the Redis bus does: cross-process delivery, isolation by prefix, and surviving a
Redis restart without losing what was published."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import redis.asyncio as aioredis

from aegis.bus.base import GAP, TICKS, Subscription, start_when_reachable
from aegis.bus.redis import RedisBus
from aegis.core.errors import StreamUnavailable
from tests.support.services import RedisFactory, free_port

WAIT_S = 15.0


async def take_one(sub: Subscription) -> bytes:
    async with asyncio.timeout(WAIT_S):
        async for payload in sub:
            return payload
    raise AssertionError("subscription ended")


async def take(sub: Subscription, n: int) -> list[bytes]:
    got: list[bytes] = []
    async with asyncio.timeout(WAIT_S):
        async for payload in sub:
            got.append(payload)
            if len(got) == n:
                return got
    raise AssertionError(f"subscription ended after {got}")


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


async def test_a_process_started_before_redis_waits_for_it_and_then_works(
    redis_factory: RedisFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis down at start (a stack booting in any order): the bus says so and retries instead
    of exiting; once Redis is up it publishes and reads normally."""
    server = redis_factory()
    server.stop()
    bus = RedisBus(server.url)
    starting = asyncio.create_task(start_when_reachable(bus, first_delay=0.05))
    try:
        async with asyncio.timeout(WAIT_S):
            while "cannot reach Redis" not in caplog.text:  # noqa: ASYNC110  # a log, no event
                await asyncio.sleep(0.05)
        assert not starting.done()
        server.start()
        async with asyncio.timeout(WAIT_S):
            await starting
        sub = await bus.subscribe(TICKS)
        await bus.publish(TICKS, b"after-boot")
        assert await take_one(sub) == b"after-boot"
    finally:
        starting.cancel()
        await bus.close()


async def test_bus_reconnects_after_redis_restarts_and_misses_nothing_published_since(
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

        # the publisher re-sends what failed (as ingest does); the reader reads on from its
        # last id: both arrive, in order, with no gap reported (nothing was lost)
        async with asyncio.timeout(WAIT_S):
            while True:
                with contextlib.suppress(StreamUnavailable):
                    await bus.publish(TICKS, b"while-down")
                    break
                await asyncio.sleep(0.05)
        await bus.publish(TICKS, b"after")
        assert await take(sub, 2) == [b"while-down", b"after"]
        info = bus.describe()
        assert info["connected"] is True
        assert info["reconnects"] == 1
        assert info["gaps"] == 0
    finally:
        await bus.close()


async def test_a_reader_cut_off_from_redis_reads_on_from_its_last_entry(redis_url: str) -> None:
    ingester, api = RedisBus(redis_url), RedisBus(redis_url)
    await ingester.start()
    await api.start()
    try:
        sub = await api.subscribe(TICKS)
        await ingester.publish(TICKS, b"0")
        assert await take_one(sub) == b"0"
        # cut the API process's reading connection; meanwhile the ingester goes on publishing
        admin = aioredis.Redis.from_url(redis_url)
        await admin.client_kill_filter(_type="normal", skipme=True, laddr=None)
        await admin.aclose()
        for i in range(1, 200):
            with contextlib.suppress(StreamUnavailable):  # the ingester's link was cut too
                await ingester.publish(TICKS, str(i).encode())

        got = await take(sub, 199)
        assert got == [str(i).encode() for i in range(1, 200)]
        assert api.describe()["gaps"] == 0
    finally:
        await ingester.close()
        await api.close()


async def test_numbers_missing_from_a_stream_are_reported_as_a_gap(redis_url: str) -> None:
    bus = RedisBus(redis_url)
    await bus.start()
    try:
        sub = await bus.subscribe(TICKS)
        await bus.publish(TICKS, b"a")
        bus.skip(TICKS, 2)  # the publisher had to drop two payloads
        await bus.publish(TICKS, b"b")
        assert await take(sub, 3) == [b"a", GAP, b"b"]
        assert bus.describe()["gaps"] == 1
    finally:
        await bus.close()


async def test_a_repeated_payload_is_delivered_once(redis_url: str) -> None:
    bus = RedisBus(redis_url)
    await bus.start()
    try:
        sub = await bus.subscribe(TICKS)
        await bus.publish(TICKS, b"a")
        # a publisher's retry after a lost reply stores the same entry again
        raw = aioredis.Redis.from_url(redis_url)
        await raw.xadd("aegis:ticks", {b"p": b"a", b"n": f"{bus.publisher_id}:1".encode()})
        await raw.aclose()
        await bus.publish(TICKS, b"b")
        assert await take(sub, 2) == [b"a", b"b"]
        assert bus.describe()["repeats"] == 1
    finally:
        await bus.close()


async def test_a_new_publisher_is_a_gap_for_readers(redis_url: str) -> None:
    old, new, api = RedisBus(redis_url), RedisBus(redis_url), RedisBus(redis_url)
    for b in (old, new, api):
        await b.start()
    try:
        sub = await api.subscribe(TICKS)
        await old.publish(TICKS, b"from-old")
        await new.publish(TICKS, b"from-new")  # a restarted ingester: its earlier work unknown
        assert await take(sub, 3) == [b"from-old", GAP, b"from-new"]
    finally:
        for b in (old, new, api):
            await b.close()


async def test_publishers_taking_turns_on_a_topic_are_no_gap_once_each_was_heard(
    redis_url: str,
) -> None:
    """Every API process publishes its watch report on one topic: their turns are not losses.
    A new publisher is a gap once (its earlier work is unknown); a hole in one publisher's
    numbers still is one while the others publish."""
    a, b, reader = RedisBus(redis_url), RedisBus(redis_url), RedisBus(redis_url)
    for bus in (a, b, reader):
        await bus.start()
    try:
        sub = await reader.subscribe("watch")
        for payload in (b"a1", b"b1", b"a2", b"b2", b"a3"):
            await (a if payload.startswith(b"a") else b).publish("watch", payload)
        assert await take(sub, 6) == [b"a1", GAP, b"b1", b"a2", b"b2", b"a3"]
        b.skip("watch", 1)
        await a.publish("watch", b"a4")
        await b.publish("watch", b"b4")
        assert await take(sub, 3) == [b"a4", GAP, b"b4"]
        assert reader.describe()["gaps"] == 2
    finally:
        for bus in (a, b, reader):
            await bus.close()


async def test_a_subscriber_that_fell_behind_hears_of_its_gap(redis_url: str) -> None:
    bus = RedisBus(redis_url)
    await bus.start()
    try:
        sub = await bus.subscribe(TICKS, maxsize=2)
        for i in range(5):
            await bus.publish(TICKS, str(i).encode())
        async with asyncio.timeout(WAIT_S):
            while True:
                if int(str(bus.describe()["received"])) >= 5:
                    break
                await asyncio.sleep(0.01)
        first = await take(sub, 2)
        await bus.publish(TICKS, b"next")
        assert first == [b"0", b"1"]
        assert await take(sub, 2) == [GAP, b"next"]
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
