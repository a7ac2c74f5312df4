"""In-process bus, the embedded default."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator

from aegis.bus.base import Bus, Subscription

log = logging.getLogger(__name__)


class _MemorySubscription(Subscription):
    def __init__(self, bus: MemoryBus, topic: str, maxsize: int) -> None:
        self._bus = bus
        self._topic = topic
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize)
        self.dropped = 0

    def offer(self, payload: bytes) -> None:
        try:
            self.queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning(
                    "bus subscriber on %r is behind: %d payloads dropped", self._topic, self.dropped
                )

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            yield item

    async def close(self) -> None:
        self._bus._remove(self._topic, self)
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


class MemoryBus(Bus):
    kind = "memory"
    in_process = True

    def __init__(self) -> None:
        self._subs: dict[str, list[_MemorySubscription]] = defaultdict(list)
        self.published = 0

    async def publish(self, topic: str, payload: bytes) -> None:
        self.published += 1
        for sub in self._subs.get(topic, ()):
            sub.offer(payload)

    async def subscribe(self, topic: str, maxsize: int = 10_000) -> Subscription:
        sub = _MemorySubscription(self, topic, maxsize)
        self._subs[topic].append(sub)
        return sub

    def _remove(self, topic: str, sub: _MemorySubscription) -> None:
        subs = self._subs.get(topic)
        if subs and sub in subs:
            subs.remove(sub)

    def describe(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "published": self.published,
            "subscribers": sum(len(v) for v in self._subs.values()),
        }
