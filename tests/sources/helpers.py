"""Shared test helpers: a sink that records what a source delivers, and candle folding."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence

from aegis.domain.candles import Candle
from aegis.domain.intervals import parse_interval
from aegis.domain.ticks import Tick
from aegis.sources.base import OrderBook

ONE_MINUTE = parse_interval("1m")


class CollectSink:
    def __init__(self) -> None:
        self.received: list[Tick] = []
        self.books: list[OrderBook] = []
        self.batches = 0
        self._changed = asyncio.Event()

    async def ticks(self, batch: Sequence[Tick]) -> None:
        self.batches += 1
        self.received.extend(batch)
        self._changed.set()

    async def book(self, book: OrderBook) -> None:
        self.books.append(book)
        self._changed.set()

    async def wait_until(self, pred: Callable[[], bool], limit_s: float = 15.0) -> None:
        async def loop() -> None:
            while not pred():
                self._changed.clear()
                try:
                    async with asyncio.timeout(0.05):
                        await self._changed.wait()
                except TimeoutError:
                    pass

        async with asyncio.timeout(limit_s):
            await loop()


def candles_1m(ticks: Iterable[Tick]) -> dict[tuple[str, int], Candle]:
    out: dict[tuple[str, int], Candle] = {}
    for t in ticks:
        start = ONE_MINUTE.bucket(t.ts)
        c = out.get((t.symbol, start))
        if c is None:
            out[(t.symbol, start)] = Candle.from_tick("1m", start, t)
        else:
            c.add(t)
    return out


def identities(ticks: Iterable[Tick]) -> list[tuple[str, int, int]]:
    return [(t.symbol, t.ts, t.seq) for t in ticks]
