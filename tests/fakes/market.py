"""A deterministic fake KRX market: trade k is a pure function of (seed, k), so two runs with
the same seed produce the same trades however the wall clock batches them."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aegis.domain.krx import round_down, tick_size


@dataclass(frozen=True, slots=True)
class Trade:
    symbol: str
    hhmmss: str
    price: int
    qty: int
    acml: int  # cumulative volume of the symbol after this trade
    buy: bool
    ask: int
    bid: int
    index: int  # market-wide trade number


def _hhmmss(seconds: int) -> str:
    return f"{seconds // 3600:02d}{seconds % 3600 // 60:02d}{seconds % 60:02d}"


class FakeMarket:
    def __init__(
        self,
        symbols: Sequence[str] = ("005930", "000660", "035420"),
        *,
        seed: int = 7,
        rate: float = 500.0,  # trades per wall second
        trades_per_vsecond: int = 20,  # trades per second of exchange time
        start: str = "090000",
        day: str = "20250103",
        total: int | None = None,
    ) -> None:
        self.symbols = list(symbols)
        self.rate = rate
        self.per_vsec = trades_per_vsecond
        self.start_s = int(start[:2]) * 3600 + int(start[2:4]) * 60 + int(start[4:6])
        self.day = day
        self.total = total
        self._rng = random.Random(seed)
        self._price = {s: 50_000 + 1_000 * i for i, s in enumerate(self.symbols)}
        self._acml = dict.fromkeys(self.symbols, 0)
        self.trades: dict[str, list[Trade]] = {s: [] for s in self.symbols}
        self.count = 0
        self.listeners: list[Callable[[list[Trade]], None]] = []
        self._task: asyncio.Task[None] | None = None
        self.done = asyncio.Event()

    def next_trade(self) -> Trade:
        rng = self._rng
        sym = self.symbols[rng.randrange(len(self.symbols))]
        p = self._price[sym]
        step = rng.choice((-2, -1, -1, 0, 0, 0, 1, 1, 2)) * tick_size(p)
        p = round_down(max(1_000, p + step))
        self._price[sym] = p
        qty = rng.randint(1, 300)
        buy = rng.random() < 0.5
        self._acml[sym] += qty
        t = tick_size(p)
        ask, bid = (p, p - t) if buy else (p + t, p)
        tr = Trade(sym, _hhmmss(self.start_s + self.count // self.per_vsec), p, qty,
                   self._acml[sym], buy, ask, bid, self.count)  # fmt: skip
        self.count += 1
        self.trades[sym].append(tr)
        return tr

    def generate(self, n: int) -> list[Trade]:
        if self.total is not None:
            n = min(n, self.total - self.count)
        return [self.next_trade() for _ in range(max(0, n))]

    def start(self, tick_s: float = 0.01) -> None:
        self._task = asyncio.create_task(self._run(tick_s))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, tick_s: float) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while self.total is None or self.count < self.total:
            await asyncio.sleep(tick_s)
            due = int((loop.time() - t0) * self.rate) - self.count
            batch = self.generate(due)
            if batch:
                for fn in list(self.listeners):
                    fn(batch)
        self.done.set()

    def hhmmss_now(self) -> str:
        return _hhmmss(self.start_s + max(0, self.count - 1) // self.per_vsec)
