"""The bus: topic pub/sub of already-serialized payloads, so that a message is encoded once
however many processes and clients receive it. Topics are plain names ("ticks", "candles",
"books", later "orders", "events"); payloads are bytes (see ``aegis.bus.codec``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

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
