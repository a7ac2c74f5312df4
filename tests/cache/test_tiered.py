"""The two-level cache: L1 hits, TTL and LRU eviction; one load per key however many ask at
once; a value computed by one process is served to another from Redis; an invalidation in one
process reaches every process through the bus; Redis down never fails a request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import SimpleNamespace

import pytest
import redis.asyncio as aioredis

from aegis.bus.memory import MemoryBus
from aegis.bus.redis import RedisBus
from aegis.cache import CacheRegistry, TieredCache, tiered
from tests.support.services import free_port

WAIT_S = 15.0


def counting(value: object) -> tuple[Callable[[], Awaitable[object]], list[int]]:
    calls: list[int] = []

    async def load() -> object:
        calls.append(1)
        return value

    return load, calls


async def test_l1_hits_expiry_and_lru_eviction() -> None:
    cache = TieredCache("t", ttl_seconds=60, max_entries=2)
    load, calls = counting({"v": 1})
    assert await cache.get(("a",), load) == {"v": 1}
    assert await cache.get(("a",), load) == {"v": 1}
    assert (cache.hits, cache.misses, len(calls)) == (1, 1, 1)
    await cache.get(("b",), load)
    await cache.get(("c",), load)  # a is the least recently used: evicted
    assert cache.evictions == 1
    await cache.get(("a",), load)
    assert len(calls) == 4

    short = TieredCache("s", ttl_seconds=0)
    await short.get("k", load)
    await short.get("k", load)
    assert short.misses == 2  # expired at once


async def test_concurrent_misses_share_one_load() -> None:
    cache = TieredCache("t")
    gate = asyncio.Event()
    calls: list[int] = []

    async def slow() -> int:
        calls.append(1)
        await gate.wait()
        return 42

    waiters = [asyncio.create_task(cache.get("k", slow)) for _ in range(10)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiters) == [42] * 10
    assert len(calls) == 1
    assert cache.coalesced == 9


async def test_a_failed_load_fails_its_waiters_and_the_next_get_retries() -> None:
    cache = TieredCache("t")

    async def broken() -> int:
        raise OSError("db down")

    with pytest.raises(OSError):
        await cache.get("k", broken)
    load, calls = counting(7)
    assert await cache.get("k", load) == 7
    assert len(calls) == 1


async def test_invalidation_reaches_every_process_through_the_bus() -> None:
    bus = MemoryBus()
    await bus.start()
    one, two = CacheRegistry(bus), CacheRegistry(bus)
    c1, c2 = one.cache("research"), two.cache("research")
    await one.start()
    await two.start()
    try:
        load, calls = counting([1, 2])
        await c2.get("k", load)
        await c1.invalidate()  # e.g. a DART refresh in the ingesting process
        async with asyncio.timeout(WAIT_S):
            while True:
                if not len(c2):
                    break
                await asyncio.sleep(0.01)
        await c2.get("k", load)
        assert len(calls) == 2  # recomputed, not the stale value
        assert c2.generation == c1.generation
    finally:
        await one.close()
        await two.close()
        await bus.close()


@pytest.mark.services
async def test_a_value_computed_in_one_process_is_served_to_another_from_redis(
    redis_url: str,
) -> None:
    bus_a, bus_b = RedisBus(redis_url), RedisBus(redis_url)
    await bus_a.start()
    await bus_b.start()
    a, b = CacheRegistry(bus_a, redis_url), CacheRegistry(bus_b, redis_url)
    ca, cb = a.cache("research"), b.cache("research")
    await a.start()
    await b.start()
    try:
        load, calls = counting({"rows": [1, 2, 3]})
        assert await ca.get(("fin", "005930"), load) == {"rows": [1, 2, 3]}
        assert await cb.get(("fin", "005930"), load) == {"rows": [1, 2, 3]}
        assert len(calls) == 1
        assert cb.l2_hits == 1

        await cb.invalidate()
        async with asyncio.timeout(WAIT_S):
            while True:
                if ca.generation == cb.generation:
                    break
                await asyncio.sleep(0.01)
        assert await ca.get(("fin", "005930"), load) == {"rows": [1, 2, 3]}
        assert len(calls) == 2  # the old generation's value is not read any more
    finally:
        await a.close()
        await b.close()
        await bus_a.close()
        await bus_b.close()


async def test_redis_down_never_fails_a_request() -> None:
    dead = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    cache = TieredCache("t", redis=dead)
    load, calls = counting(5)
    assert await cache.get("k", load) == 5
    assert await cache.get("k", load) == 5  # from L1
    assert len(calls) == 1
    assert cache.l2_errors >= 1
    await dead.aclose()


async def _refreshed(cache: TieredCache) -> None:
    """Until the background refresh has run (however slow the machine: no wall-clock wait)."""
    task = cache._refresher
    assert task is not None
    await task


async def test_refresh_ahead_reloads_read_entries_before_they_expire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Entries read in their last ``refresh_ahead`` seconds are reloaded in the background, all
    those due within the gathering time at once, and readers never wait for it; a drop while
    a refresh runs keeps the refreshed (possibly older) value out; unread entries expire."""
    clock = [1000.0]
    monkeypatch.setattr(tiered, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(tiered, "REFRESH_GATHER", 0.01)
    cache = TieredCache("t", ttl_seconds=30, refresh_ahead=10)
    version = [1]
    batches: list[set[str]] = []
    pending: set[str] = set()

    def loader(key: str) -> Callable[[], Awaitable[object]]:
        async def load() -> object:
            pending.add(key)
            await asyncio.sleep(0)  # every load begun in this turn is one batch
            if pending:
                batches.append(set(pending))
                pending.clear()
            return (key, version[0])

        return load

    for k in ("a", "b", "c"):
        assert await cache.get(k, loader(k)) == (k, 1)
    version[0] = 2
    clock[0] += 21  # in their last 10 s: a read is served at once and starts a refresh
    assert [await cache.get(k, loader(k)) for k in ("a", "b")] == [("a", 1), ("b", 1)]
    await _refreshed(cache)
    assert batches[-1] == {"a", "b"} and cache.refreshes == 2  # together; "c" was not read
    clock[0] += 10  # 31 s after the first load: "c" expired, "a" and "b" (refreshed) did not
    misses = cache.misses
    assert await cache.get("a", loader("a")) == ("a", 2)
    assert await cache.get("c", loader("c")) == ("c", 2)
    assert cache.misses == misses + 1

    # a refresh racing a drop: what it read may be older than the change, so it is not kept
    gate, entered = asyncio.Event(), asyncio.Event()

    async def slow() -> object:
        entered.set()
        await gate.wait()
        return ("a", "before the change")

    clock[0] += 15  # "a" (refreshed 25 s ago) is due again
    assert await cache.get("a", slow) == ("a", 2)  # the refresh will call slow
    await entered.wait()  # the refresh is waiting in slow
    cache.drop_local("a")
    version[0] = 3
    gate.set()
    await _refreshed(cache)
    assert await cache.get("a", loader("a")) == ("a", 3)

    # closing stops a refresh that is waiting to run
    clock[0] += 25
    await cache.get("a", loader("a"))
    refresher = cache._refresher
    assert refresher is not None and not refresher.done()
    await cache.close()
    assert refresher.cancelled() and cache._refresher is None
