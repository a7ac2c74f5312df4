"""The bus: topic pub/sub of already-serialized payloads, so that a message is encoded once
however many processes and clients receive it. Topics are plain names ("ticks", "candles",
"books", later "orders", "events"); payloads are bytes (see ``aegis.bus.codec``)."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

from aegis.core.errors import StreamUnavailable

log = logging.getLogger(__name__)

TICKS = "ticks"
CANDLES = "candles"
BOOKS = "books"
STATUS = "status"


# Yielded by a subscription in place of payloads it knows were lost (the subscriber fell behind
# the stream's retention, or Redis lost the stream): the consumer refills from the store.
GAP = b""


class Subscription(ABC):
    """An async iterator of payloads with a bounded buffer. ``dropped`` counts payloads lost
    because this subscriber fell more than its buffer behind (they are logged, never silent).
    A :data:`GAP` item says that payloads were lost just before the next one."""

    dropped: int = 0

    @abstractmethod
    def __aiter__(self) -> AsyncIterator[bytes]: ...

    @abstractmethod
    async def close(self) -> None: ...


class Bus(ABC):
    kind: str = "abstract"
    # payloads reach subscribers as the very objects published (see ``codec.TickPayload``)
    in_process: bool = False

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect; the default bus has nothing to do."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Disconnect; the default bus has nothing to do."""

    @abstractmethod
    async def publish(self, topic: str, payload: bytes) -> None: ...

    @abstractmethod
    async def subscribe(self, topic: str, maxsize: int = 10_000) -> Subscription: ...

    def skip(self, topic: str, count: int) -> None:  # noqa: B027 - optional hook
        """The publisher dropped ``count`` payloads it could not publish: a bus that numbers
        payloads makes subscribers see a :data:`GAP`."""

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind}


START_RETRY_MAX_S = 10.0


async def start_when_reachable(bus: Bus, *, first_delay: float = 0.5) -> None:
    """Start ``bus``, waiting for it when it is down (Redis not up yet at boot, or restarting):
    each failed attempt says why and when the next one is; the process does not exit, so a
    stack started in any order comes up on its own."""
    delay = first_delay
    attempts = 0
    while True:
        try:
            await bus.start()
        except StreamUnavailable as exc:
            attempts += 1
            log.error("%s; retrying in %.1f s (attempt %d)", exc, delay, attempts)
            await asyncio.sleep(delay)
            delay = min(delay * 2, START_RETRY_MAX_S)
            continue
        if attempts:
            log.warning("bus reachable after %d failed attempts", attempts)
        return
