"""Two-level cache.

- **L1**: this process's ``OrderedDict`` LRU with a TTL per entry (bounded by ``max_entries``).
- **L2** (server mode): Redis, shared by every API process, with the same TTL; values as JSON.
  A process that misses L1 asks L2 before recomputing, so one process's work serves all.
- **Stampede protection**: concurrent misses of one key in a process share one load.
- **Invalidation by events**: ``invalidate()`` bumps the cache's generation and announces it on
  the bus (topic ``cache``); every process drops its L1 entries and reads L2 under the new
  generation, so stale values are never served after, e.g., a DART refresh in the ingester.
  ``drop(key)`` does the same for one entry (a user's own data changed).
- **Refresh ahead** (optional): an entry read in the last ``refresh_ahead`` seconds of its life
  is reloaded in the background, with every other one found so within ``REFRESH_GATHER``
  seconds, so that values read all the time (the polled accounts) never expire under their
  readers: a reload burst at expiry held the event loop for a second with 1,000 users.
  Entries still never live longer than ``ttl_seconds`` unrefreshed.
- Counters per cache (hits, L2 hits, misses, evictions, coalesced loads) for ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import orjson

from aegis.bus.base import Bus, Subscription

log = logging.getLogger(__name__)

TOPIC = "cache"
REFRESH_GATHER = 0.5  # seconds during which entries due for a refresh are gathered


class TieredCache:
    def __init__(
        self,
        name: str,
        *,
        ttl_seconds: float = 60.0,
        max_entries: int = 4_096,
        redis: Any | None = None,  # redis.asyncio.Redis; None: L1 only (embedded mode)
        on_invalidate: Callable[[str, int], Awaitable[None]] | None = None,
        on_drop: Callable[[str, Hashable], Awaitable[None]] | None = None,
        refresh_ahead: float = 0.0,
    ) -> None:
        self.name = name
        self.refresh_ahead = refresh_ahead
        self._due: dict[Hashable, Callable[[], Awaitable[Any]]] = {}
        self._refresher: asyncio.Task[None] | None = None
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._redis = redis
        self._announce = on_invalidate
        self._announce_key = on_drop
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._loading: dict[Hashable, asyncio.Future[Any]] = {}
        self.generation = 0
        self._drops = 0  # entries dropped one by one (not a new generation: L2 keys stay)
        self.hits = 0
        self.l2_hits = 0
        self.misses = 0
        self.evictions = 0
        self.coalesced = 0
        self.l2_errors = 0
        self.refreshes = 0

    def __len__(self) -> int:
        return len(self._items)

    def _l2_key(self, key: Hashable) -> str:
        return f"aegis-cache:{self.name}:{self.generation}:{key!r}"

    async def get(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        now = time.monotonic()
        item = self._items.get(key)
        if item is not None:
            if item[0] > now:
                self.hits += 1
                self._items.move_to_end(key)
                if item[0] - now < self.refresh_ahead and key not in self._due:
                    self._due[key] = load
                    if self._refresher is None or self._refresher.done():
                        self._refresher = asyncio.create_task(self._refresh())
                return item[1]
            del self._items[key]
        pending = self._loading.get(key)
        if pending is not None:
            self.coalesced += 1
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        generation, drops = self.generation, self._drops
        try:
            value = await self._from_l2(key)
            if value is None:
                self.misses += 1
                value = await load()
                await self._to_l2(key, value)
            else:
                self.l2_hits += 1
            if (generation, drops) == (self.generation, self._drops):  # nothing changed meanwhile
                self._put(key, value)
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a failed load with no other waiter is not an error
            raise
        finally:
            del self._loading[key]

    async def _refresh(self) -> None:
        while self._due:
            await asyncio.sleep(REFRESH_GATHER)
            due, self._due = self._due, {}
            # at once: loads that batch (the accounts) go in one query
            await asyncio.gather(*(self._reload(k, load) for k, load in due.items()))

    async def _reload(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> None:
        if key in self._loading:
            return  # a reader is loading it already
        generation, drops = self.generation, self._drops
        try:
            value = await load()  # not from L2: its copy may be as old as this one
            await self._to_l2(key, value)
        except Exception as exc:  # the entry expires as usual; its next reader loads it
            log.debug("cache %s: refresh failed: %s", self.name, exc)
            return
        if (generation, drops) == (self.generation, self._drops):  # nothing changed meanwhile
            self.refreshes += 1
            self._put(key, value)

    def _put(self, key: Hashable, value: Any) -> None:
        self._items[key] = (time.monotonic() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)
            self.evictions += 1

    async def _from_l2(self, key: Hashable) -> Any:
        if self._redis is None:
            return None
        try:
            raw = await self._redis.get(self._l2_key(key))
        except Exception as exc:  # Redis down: compute locally, never fail the request
            self.l2_errors += 1
            log.debug("cache %s: L2 read failed: %s", self.name, exc)
            return None
        return None if raw is None else orjson.loads(raw)

    async def _to_l2(self, key: Hashable, value: Any) -> None:
        if self._redis is None or value is None:
            return
        try:
            raw = orjson.dumps(value)
        except TypeError:
            return  # not JSON: this value stays in L1 only
        try:
            await self._redis.set(self._l2_key(key), raw, ex=max(1, int(self.ttl)))
        except Exception as exc:
            self.l2_errors += 1
            log.debug("cache %s: L2 write failed: %s", self.name, exc)

    def clear_local(self, generation: int | None = None) -> None:
        self._items.clear()
        if generation is not None and generation > self.generation:
            self.generation = generation

    async def drop(self, key: Hashable) -> None:
        """One entry's data changed: drop it here and in every process (its L2 copy too)."""
        self.drop_local(key)
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.delete(self._l2_key(key))
        if self._announce_key is not None:
            await self._announce_key(self.name, key)

    def drop_local(self, key: Hashable) -> None:
        self._items.pop(key, None)
        # a load of this key in flight may have read the old data: it must not be stored
        self._drops += 1

    async def invalidate(self) -> None:
        """The data behind this cache changed: drop it here and in every process."""
        self.generation += 1
        self._items.clear()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                # the generation is shared, so a process starting later reads the new one
                self.generation = max(
                    self.generation, int(await self._redis.incr(f"aegis-cache:{self.name}:gen"))
                )
        if self._announce is not None:
            await self._announce(self.name, self.generation)

    async def load_generation(self) -> None:
        if self._redis is None:
            return
        with contextlib.suppress(Exception):
            raw = await self._redis.get(f"aegis-cache:{self.name}:gen")
            if raw is not None:
                self.generation = max(self.generation, int(raw))

    async def close(self) -> None:
        """Stop a background refresh (the entries stay usable)."""
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        self._due.clear()

    def stats(self) -> dict[str, int]:
        return {
            "entries": len(self._items),
            "hits": self.hits,
            "l2Hits": self.l2_hits,
            "misses": self.misses,
            "evictions": self.evictions,
            "coalesced": self.coalesced,
            "l2Errors": self.l2_errors,
        }


class CacheRegistry:
    """The caches of one process, wired to the bus for invalidation events."""

    def __init__(self, bus: Bus, redis_url: str | None = None) -> None:
        self.bus = bus
        self._redis: Any | None = None
        if redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(redis_url, socket_connect_timeout=2)
        self.caches: dict[str, TieredCache] = {}
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    def cache(
        self,
        name: str,
        *,
        ttl_seconds: float = 60.0,
        max_entries: int = 4_096,
        shared: bool = True,
        refresh_ahead: float = 0.0,
    ) -> TieredCache:
        """``shared=False``: no Redis level (values that are cheap to load, or not JSON); the
        invalidation events reach every process all the same."""
        if name not in self.caches:
            self.caches[name] = TieredCache(
                name,
                ttl_seconds=ttl_seconds,
                max_entries=max_entries,
                redis=self._redis if shared else None,
                on_invalidate=self._announce,
                on_drop=self._announce_drop,
                refresh_ahead=refresh_ahead,
            )
        return self.caches[name]

    async def start(self) -> None:
        for c in self.caches.values():
            await c.load_generation()
        self._sub = await self.bus.subscribe(TOPIC, maxsize=1_000)
        self._task = asyncio.create_task(self._listen(self._sub), name="cache-invalidation")

    async def _announce(self, name: str, generation: int) -> None:
        try:
            await self.bus.publish(TOPIC, orjson.dumps({"name": name, "gen": generation}))
        except Exception:
            log.exception("cache %s: invalidation not announced", name)

    async def _announce_drop(self, name: str, key: Hashable) -> None:
        try:
            await self.bus.publish(TOPIC, orjson.dumps({"name": name, "key": key}))
        except Exception:
            log.exception("cache %s: dropped key not announced", name)

    async def _listen(self, sub: Subscription) -> None:
        async for payload in sub:
            if not payload:  # a gap: what was announced is unknown, so drop everything
                for c in self.caches.values():
                    c.clear_local()
                continue
            try:
                doc = orjson.loads(payload)
                cache = self.caches.get(str(doc["name"]))
                if cache is None:
                    continue
                if "key" in doc:
                    key = doc["key"]
                    cache.drop_local(tuple(key) if isinstance(key, list) else key)
                else:
                    cache.clear_local(int(doc["gen"]))
            except (ValueError, KeyError, TypeError):
                log.warning("undecodable cache invalidation %r", payload[:100])

    async def close(self) -> None:
        for c in self.caches.values():
            await c.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sub is not None:
            await self._sub.close()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
