"""``generate_ticks``: a realistic tick stream without asyncio or a clock, for benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from aegis.domain.instruments import Instrument
from aegis.domain.ticks import Tick
from aegis.sources.sim.calendar import CONT_END_MIN, OPEN_MIN, next_trading_day
from aegis.sources.sim.daily import ANCHOR_DAY, DailyChain
from aegis.sources.sim.session import emit_mask, normal_day
from aegis.sources.sim.universe import Universe

_CONT_SECONDS = (CONT_END_MIN - OPEN_MIN) * 60
_TICKS_PER_CHUNK = 4_000  # big chunks keep per-chunk numpy overhead small


def generate_ticks(
    instruments: Sequence[Instrument],
    seed: int,
    n: int,
    *,
    first_day: date | None = None,
    rate: float | None = None,
    symbols: Sequence[str] | None = None,
) -> list[Tick]:
    """Exactly ``n`` ticks (trades, auction prints and index ticks) of whole simulated sessions
    from ``first_day`` (default: the first trading day after the real snapshot), in time order.
    By default the rate spreads ``n`` over one session, so candles of every interval fill."""
    u = Universe.build(instruments, seed)
    chain = DailyChain(u, seed)
    emit = emit_mask(u, symbols)
    per_s = rate if rate is not None else max(n / _CONT_SECONDS, 1.0)
    chunk_us = int(min(max(_TICKS_PER_CHUNK / per_s, 0.1), 600.0) * 1e6)
    day = first_day or next_trading_day(ANCHOR_DAY)
    out: list[Tick] = []
    while len(out) < n:
        engine = normal_day(u, chain, seed, day, per_s, emit, chunk_us=chunk_us)
        while not engine.done and len(out) < n:
            for batch in engine.advance(engine.chunk_end(engine.next_chunk)):
                out.extend(batch)
        day = next_trading_day(day)
    del out[n:]
    return out
