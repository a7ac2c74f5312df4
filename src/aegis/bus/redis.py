"""Redis pub/sub bus, server mode (``AEGIS_REDIS_URL=redis://…``).

One connection publishes; one connection carries every subscription of this process, and a
reader task fans each message out to the local subscribers' bounded queues. When Redis goes
away the reader reconnects with backoff and subscribes again to every topic still wanted.
Redis pub/sub is at-most-once: what is published while a subscriber is disconnected is lost
to it (the ticks themselves are safe in the store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aegis.bus.base import Bus, Subscription
from aegis.core.errors import StreamUnavailable
from aegis.core.redact import redact_url

log = logging.getLogger(__name__)

_NETWORK_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
BACKOFF_START_S = 0.05
BACKOFF_MAX_S = 2.0
CONFIRM_TIMEOUT_S = 5.0


class _RedisSubscription(Subscription):
    def __init__(self, bus: RedisBus, topic: str, maxsize: int) -> None:
        self._bus = bus
        self.topic = topic
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize)
        self._closed = False
        self.dropped = 0

    def offer(self, payload: bytes) -> None:
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
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


class RedisBus(Bus):
    kind = "redis"

    def __init__(self, url: str, *, prefix: str = "aegis:") -> None:
        self.url = url
        self.prefix = prefix
        self._pub: aioredis.Redis | None = None
        self._sub_client: aioredis.Redis | None = None
        self._pubsub: Any = None  # redis.asyncio.client.PubSub of the live connection
        self._reader: asyncio.Task[None] | None = None
        self._subs: dict[str, list[_RedisSubscription]] = defaultdict(list)
        self._confirmed: dict[str, asyncio.Event] = {}
        self._wanted_changed = asyncio.Event()
        self._closing = False
        self.connected = False
        self.published = 0
        self.publish_failed = 0
        self.received = 0
        self.reconnects = 0

    def _channel(self, topic: str) -> str:
        return self.prefix + topic

    # --- life cycle ---------------------------------------------------------------------
    async def start(self) -> None:
        # Publishing retries a failed command once on a fresh connection, which hides a
        # Redis restart from the publisher (a payload may then be sent twice, never lost
        # silently).
        self._pub = aioredis.Redis.from_url(
            self.url,
            single_connection_client=True,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 1),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            socket_connect_timeout=5,
        )
        # The subscriber reconnects in its own loop, where it can resubscribe and count.
        self._sub_client = aioredis.Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=5,
            health_check_interval=10,  # PING finds a silently dead connection
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
        await self._drop_pubsub()
        for client in (self._pub, self._sub_client):
            if client is not None:
                with contextlib.suppress(*_NETWORK_ERRORS, RedisError):
                    await client.aclose()
        self._pub = self._sub_client = None
        self.connected = False

    # --- publishing -----------------------------------------------------------------------
    async def publish(self, topic: str, payload: bytes) -> None:
        if self._pub is None:
            raise StreamUnavailable("redis bus is not started")
        try:
            await self._pub.publish(self._channel(topic), payload)
        except (*_NETWORK_ERRORS, RedisError) as exc:
            self.publish_failed += 1
            raise StreamUnavailable(f"redis publish on {topic!r} failed: {exc}") from exc
        self.published += 1

    # --- subscribing ----------------------------------------------------------------------
    async def subscribe(self, topic: str, maxsize: int = 10_000) -> Subscription:
        """Returns once Redis confirmed the subscription, so that nothing published after
        this returns is missed; when Redis is down, returns after a bounded wait and the
        subscription starts with the reconnection."""
        if self._sub_client is None:
            raise StreamUnavailable("redis bus is not started")
        sub = _RedisSubscription(self, topic, maxsize)
        channel = self._channel(topic)
        first = not self._subs[topic]
        self._subs[topic].append(sub)
        confirmed = self._confirmed.setdefault(channel, asyncio.Event())
        if first:
            pubsub = self._pubsub
            if pubsub is not None:
                with contextlib.suppress(*_NETWORK_ERRORS):
                    await pubsub.subscribe(channel)  # the reader loop handles a failure
            self._wanted_changed.set()
        try:
            async with asyncio.timeout(CONFIRM_TIMEOUT_S):
                await confirmed.wait()
        except TimeoutError:
            log.warning(
                "redis subscription to %r not confirmed yet; it starts on reconnect", channel
            )
        return sub

    async def _remove(self, sub: _RedisSubscription) -> None:
        subs = self._subs.get(sub.topic)
        if not subs or sub not in subs:
            return
        subs.remove(sub)
        if subs:
            return
        del self._subs[sub.topic]
        channel = self._channel(sub.topic)
        self._confirmed.pop(channel, None)
        pubsub = self._pubsub
        if pubsub is not None:
            with contextlib.suppress(*_NETWORK_ERRORS, RedisError):
                await pubsub.unsubscribe(channel)

    # --- the reader -----------------------------------------------------------------------
    async def _read_loop(self) -> None:
        backoff = BACKOFF_START_S
        while not self._closing:
            if not self._subs:
                self._wanted_changed.clear()
                await self._wanted_changed.wait()
                continue
            try:
                await self._connect_pubsub()
                backoff = BACKOFF_START_S
                await self._pump()
            except _NETWORK_ERRORS as exc:
                was_connected = self.connected
                self.connected = False
                for event in self._confirmed.values():
                    event.clear()
                await self._drop_pubsub()
                if was_connected:
                    self.reconnects += 1
                    log.warning("redis bus lost its connection (%s); reconnecting", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _connect_pubsub(self) -> None:
        assert self._sub_client is not None
        pubsub = self._sub_client.pubsub()
        self._pubsub = pubsub
        await pubsub.subscribe(*[self._channel(t) for t in list(self._subs)])
        self.connected = True

    async def _pump(self) -> None:
        pubsub = self._pubsub
        prefix_len = len(self.prefix)
        while self._subs:
            # A timeout lets the loop notice an idle bus with no subscriptions left.
            msg = await pubsub.get_message(timeout=1.0)
            if msg is None:
                continue
            kind = msg["type"]
            channel = msg["channel"]
            if isinstance(channel, bytes):
                channel = channel.decode()
            if kind == "message":
                self.received += 1
                if self.received % 256 == 0:
                    # Buffered messages are read without suspending; let other tasks run.
                    await asyncio.sleep(0)
                for sub in self._subs.get(channel[prefix_len:], ()):
                    sub.offer(msg["data"])
            elif kind == "subscribe":
                event = self._confirmed.get(channel)
                if event is not None:
                    event.set()
        self.connected = False
        await self._drop_pubsub()

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(*_NETWORK_ERRORS, RedisError):
                await pubsub.aclose()

    def describe(self) -> dict[str, object]:
        subs = [s for group in self._subs.values() for s in group]
        return {
            "kind": self.kind,
            "url": redact_url(self.url),
            "connected": self.connected,
            "published": self.published,
            "publishFailed": self.publish_failed,
            "received": self.received,
            "subscribers": len(subs),
            "topics": sorted(self._subs),
            "dropped": sum(s.dropped for s in subs),
            "reconnects": self.reconnects,
        }
