"""A benchmark-only source: simulator ticks re-stamped with the wall clock and paced at a fixed
rate, so that tick-to-client latency can be measured from the tick's own timestamp. Used by
``aegis bench fanout``; never by ``aegis serve``."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence

from aegis.core.timeutil import now_us
from aegis.domain.instruments import Instrument
from aegis.domain.ticks import Tick
from aegis.sources.base import Source, SourceState, TickSink

POOL_SIZE = 200_000


class PacedSource(Source):
    name = "bench"
    simulated = True

    def __init__(
        self,
        instruments: Sequence[Instrument],
        rate: float,
        seed: int = 7,
    ) -> None:
        super().__init__()
        self._pool = _pool(instruments, seed)
        self.rate = rate

    async def run(self, sink: TickSink) -> None:
        self.set_state(SourceState.LIVE)
        step = 0.02  # 50 batches a second
        rate = self.rate
        per_batch = max(1, round(rate * step))
        # the pool's fields as plain tuples, each tick built by ``tuple.__new__``: this source
        # shares the server's event loop, and NamedTuple's Python ``__new__`` was a visible
        # part of it at 5,000 ticks/s
        pool = [(t.symbol, t.price, t.volume, t.side) for t in self._pool]
        new = tuple.__new__
        i = 0
        seq = 0
        start = time.monotonic()
        k = 0
        while True:
            if self.rate != rate:  # changed (bench: connect phase → measured rate): re-paced
                rate = self.rate
                per_batch = max(1, round(rate * step))
                start = time.monotonic()
                k = 0
            now = now_us()
            chunk: list[tuple[str, int, int, int]] = []
            while len(chunk) < per_batch:  # the pool's next ticks, round and round
                take = pool[i : i + per_batch - len(chunk)]
                chunk += take
                i = (i + len(take)) % len(pool)
            batch: list[Tick] = [
                new(Tick, (sym, now, price, vol, side, seq + j, "sim"))
                for j, (sym, price, vol, side) in enumerate(chunk, 1)
            ]
            seq += per_batch
            await sink.ticks(batch)
            self.status.messages += len(batch)
            self.status.last_message_us = now
            k += 1
            delay = start + k * step - time.monotonic()
            await asyncio.sleep(max(0.0, delay))


def _pool(instruments: Sequence[Instrument], seed: int) -> list[Tick]:
    from aegis.sources.sim.generate import generate_ticks

    return generate_ticks(instruments, seed, POOL_SIZE)


def traded_symbols(
    instruments: Sequence[Instrument], top: int | None = None, seed: int = 7
) -> list[str]:
    """The symbols the paced market trades, most traded first (all of them, or the ``top``
    ones): what bench clients watch, since a symbol that never trades would measure nothing."""
    counts = Counter(t.symbol for t in _pool(instruments, seed))
    return [sym for sym, _ in counts.most_common(top)]
