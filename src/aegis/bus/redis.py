"""Redis Streams bus, server mode (``AEGIS_REDIS_URL=redis://…``).

Each topic is a stream (``XADD … MAXLEN ~ N``), so the bus is no longer at-most-once: a process
that loses Redis for a while reads on from the last entry id it saw, and misses nothing that is
still in the stream. Every entry carries its publisher's id and a per-topic sequence number, so a
subscriber *knows* when something is gone (it fell further behind than the stream keeps, Redis
restarted and lost the stream, or the publisher had to drop payloads): it yields :data:`GAP`
there and the consumer refills from the store. A payload published twice (a retry after a lost
reply) has the same number and is delivered once.

One connection publishes; one connection reads every wanted stream with a blocking ``XREAD`` and
fans each entry out to the local subscribers' bounded queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aegis.bus.base import GAP, Bus, Subscription
from aegis.core.errors import StreamUnavailable
from aegis.core.redact import redact_url

log = logging.getLogger(__name__)

_NETWORK_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
BACKOFF_START_S = 0.05
BACKOFF_MAX_S = 2.0
BLOCK_MS = 1000  # a blocking read returns at least this often, to notice new topics
READ_COUNT = 1000
DEFAULT_MAXLEN = 100_000  # entries kept per stream (about an hour of tick batches)
PAYLOAD, NUMBER = b"p", b"n"
MAX_PUBLISHERS = 256  # per topic: one per process start that published on it


class _RedisSubscription(Subscription):
    def __init__(self, bus: RedisBus, topic: str, maxsize: int) -> None:
        self._bus = bus
        self.topic = topic
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize)
        self._closed = False
        self._gap_owed = False
        self.dropped = 0

    def offer(self, payload: bytes) -> None:
        if self._gap_owed:
            try:
                self._queue.put_nowait(GAP)
                self._gap_owed = False
            except asyncio.QueueFull:
                pass
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            # this subscriber lost a payload: it must hear so before the next one it gets
            self._gap_owed = True
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning(
                    "redis bus subscriber on %r is behind: %d payloads dropped",
                    self.topic,
                    self.dropped,
                )

    def end(self) -> None:
        """Let the iterator finish after what is already queued."""
        if self._closed:
            return
        self._closed = True
        while True:
            try:
                self._queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                # Make room for the end marker: the oldest payload goes (and is counted).
                self._queue.get_nowait()
                self.dropped += 1

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            yield item

    async def close(self) -> None:
        self.end()
        await self._bus._remove(self)


class _Cursor:
    """Where this process reads a stream: the last entry id, and the last number seen of each
    publisher (to tell a gap or a repeat). Per publisher: a topic every API process publishes
    on (``watch``) interleaves several numberings, none of them with a hole."""

    __slots__ = ("last_id", "numbers")

    def __init__(self, last_id: str) -> None:
        self.last_id = last_id
        self.numbers: dict[str, int] = {}


class RedisBus(Bus):
    kind = "redis"

    def __init__(self, url: str, *, prefix: str = "aegis:", maxlen: int = DEFAULT_MAXLEN) -> None:
        self.url = url
        self.prefix = prefix
        self.maxlen = maxlen
        self.publisher_id = secrets.token_hex(6)
        self._numbers: dict[str, int] = defaultdict(int)
        self._pub: aioredis.Redis | None = None
        self._read_client: aioredis.Redis | None = None
        self._reader: asyncio.Task[None] | None = None
        self._subs: dict[str, list[_RedisSubscription]] = defaultdict(list)
        self._cursors: dict[str, _Cursor] = {}
        self._closing = False
        self._wanted_changed = asyncio.Event()
        self.connected = False
        self.published = 0
        self.publish_failed = 0
        self.received = 0
        self.repeats = 0
        self.gaps = 0
        self.reconnects = 0

    def _key(self, topic: str) -> str:
        return self.prefix + topic

    # --- life cycle ---------------------------------------------------------------------
    async def start(self) -> None:
        self._closing = False  # a start after a failed one (Redis was down) begins afresh
        # Publishing retries a failed command once on a fresh connection, which hides a
        # Redis restart from the publisher (a repeat is recognised by its number).
        self._pub = aioredis.Redis.from_url(
            self.url,
            single_connection_client=True,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 1),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            socket_connect_timeout=5,
        )
        # The reader reconnects in its own loop, where it keeps its cursors and counts.
        self._read_client = aioredis.Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=5,
            socket_timeout=BLOCK_MS / 1000 + 10,
        )
        try:
            await self._pub.ping()
        except (*_NETWORK_ERRORS, RedisError) as exc:
            await self.close()
            raise StreamUnavailable(f"cannot reach Redis at {redact_url(self.url)}: {exc}") from exc
        self._reader = asyncio.create_task(self._read_loop(), name="redis-bus-reader")

    async def close(self) -> None:
        self._closing = True
        self._wanted_changed.set()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        for subs in self._subs.values():
            for sub in subs:
                sub.end()
        self._subs.clear()
        for client in (self._pub, self._read_client):
            if client is not None:
                with contextlib.suppress(*_NETWORK_ERRORS, RedisError):
                    await client.aclose()
        self._pub = self._read_client = None
        self.connected = False

    # --- publishing -----------------------------------------------------------------------
    async def publish(self, topic: str, payload: bytes) -> None:
        if self._pub is None:
            raise StreamUnavailable("redis bus is not started")
        number = self._numbers[topic] + 1
        try:
            await self._pub.xadd(
                self._key(topic),
                {PAYLOAD: payload, NUMBER: f"{self.publisher_id}:{number}"},
                maxlen=self.maxlen,
                approximate=True,  # trims whole nodes: O(1) per add
            )
        except (*_NETWORK_ERRORS, RedisError) as exc:
            self.publish_failed += 1
            raise StreamUnavailable(f"redis publish on {topic!r} failed: {exc}") from exc
        self._numbers[topic] = number  # only once stored: a retry re-sends the same number
        self.published += 1

    def skip(self, topic: str, count: int) -> None:
        self._numbers[topic] += count

    # --- subscribing ----------------------------------------------------------------------
    async def subscribe(self, topic: str, maxsize: int = 10_000) -> Subscription:
        """Everything published after this returns is delivered (from the stream's current
        end; when Redis is down, from now)."""
        if self._read_client is None:
            raise StreamUnavailable("redis bus is not started")
        sub = _RedisSubscription(self, topic, maxsize)
        if topic not in self._cursors:
            self._cursors[topic] = _Cursor(await self._stream_end(topic))
        self._subs[topic].append(sub)
        self._wanted_changed.set()
        return sub

    async def _stream_end(self, topic: str) -> str:
        assert self._pub is not None
        try:
            last = await self._pub.xrevrange(self._key(topic), count=1)
        except (*_NETWORK_ERRORS, RedisError):
            # unreachable: entries are numbered by Redis's clock in ms, so start from now
            return f"{int(time.time() * 1000)}-0"
        if last:
            entry_id = last[0][0]
            return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        return "0-0"  # empty: whatever is added next

    async def _remove(self, sub: _RedisSubscription) -> None:
        subs = self._subs.get(sub.topic)
        if not subs or sub not in subs:
            return
        subs.remove(sub)
        if not subs:
            del self._subs[sub.topic]
            self._cursors.pop(sub.topic, None)

    # --- the reader -----------------------------------------------------------------------
    async def _read_loop(self) -> None:
        backoff = BACKOFF_START_S
        while not self._closing:
            if not self._subs:
                self._wanted_changed.clear()
                await self._wanted_changed.wait()
                continue
            try:
                await self._read_once()
                if not self.connected:
                    self.connected = True
                backoff = BACKOFF_START_S
            except _NETWORK_ERRORS as exc:
                if self.connected:
                    self.reconnects += 1
                    log.warning(
                        "redis bus lost its connection (%s); reading on from the last id", exc
                    )
                self.connected = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _read_once(self) -> None:
        assert self._read_client is not None
        streams = {self._key(t): c.last_id for t, c in self._cursors.items()}
        if not streams:
            return
        self._wanted_changed.clear()
        reply: Any = await self._read_client.xread(
            streams,  # type: ignore[arg-type]  # redis-py's stubs want a narrower mapping
            count=READ_COUNT,
            block=BLOCK_MS,
        )
        prefix_len = len(self.prefix)
        handled = 0
        for key, entries in reply or ():
            name = key.decode() if isinstance(key, bytes) else str(key)
            topic = name[prefix_len:]
            cursor = self._cursors.get(topic)
            if cursor is None:
                continue  # unsubscribed meanwhile
            for entry_id, fields in entries:
                cursor.last_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                self._deliver(topic, cursor, fields)
                handled += 1
                if handled % 256 == 0:
                    await asyncio.sleep(0)  # a full read is handled without suspending

    def _deliver(self, topic: str, cursor: _Cursor, fields: dict[bytes, bytes]) -> None:
        payload = fields.get(PAYLOAD)
        tag = fields.get(NUMBER, b"")
        if payload is None:
            return
        publisher, _, number_text = tag.decode().rpartition(":")
        number = int(number_text) if number_text.isdigit() else 0
        seen = cursor.numbers
        last = seen.get(publisher)
        if last is not None and number <= last:
            self.repeats += 1  # a publisher's retry after a lost reply: already delivered
            return
        # a publisher not heard before (an ingester restarted or a standby took over; the first
        # one a reader hears sets its start), or numbers missing in between: what came between
        # is not known to have reached us
        gap = number != last + 1 if last is not None else bool(seen)
        seen.pop(publisher, None)  # kept in the order last heard
        seen[publisher] = number
        if len(seen) > MAX_PUBLISHERS:  # processes long gone: forget the one silent longest
            del seen[next(iter(seen))]
        if gap:
            self.gaps += 1
            log.warning("redis bus: payloads on %r were lost; subscribers refill", topic)
        self.received += 1
        for sub in self._subs.get(topic, ()):
            if gap:
                sub.offer(GAP)
            sub.offer(payload)

    def describe(self) -> dict[str, object]:
        subs = [s for group in self._subs.values() for s in group]
        return {
            "kind": self.kind,
            "url": redact_url(self.url),
            "connected": self.connected,
            "published": self.published,
            "publishFailed": self.publish_failed,
            "received": self.received,
            "repeats": self.repeats,
            "gaps": self.gaps,
            "subscribers": len(subs),
            "topics": sorted(self._subs),
            "dropped": sum(s.dropped for s in subs),
            "reconnects": self.reconnects,
            "maxlen": self.maxlen,
        }
