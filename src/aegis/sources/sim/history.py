"""The previous sessions at full resolution: each simulated day the chain played before the
current one, generated whole (the same engine as a live day, all at once, no ``Tick`` objects)
and folded into candles of every stored interval. Only candles are kept, not ticks (five
sessions of the whole market would be tens of millions of rows). The folded 1d candle replaces
the day's seeded daily candle, so a day's 1-minute candles aggregate exactly to the daily candle
shown for it (open/high/low/close are the chain's by construction; volume is the generated one).

Days and stocks that are real in the store (before each one's anchor) are not touched."""

from __future__ import annotations

from datetime import date

import numpy as np
from numpy.typing import NDArray

from aegis.aggregator.batch import CandleTable, fold_columns
from aegis.core.timeutil import KST_OFFSET_US
from aegis.domain import krx
from aegis.domain.sources import SIM
from aegis.sources.sim.calendar import US_PER_MIN
from aegis.sources.sim.daily import DailyChain
from aegis.sources.sim.session import normal_day
from aegis.sources.sim.universe import Universe

RATE = 50.0  # their trades per simulated second (at most the live rate): same volume, fewer prints
SESSION_CHUNK_US = 60_000_000


def regular_session(ts: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which KRX trade times are not in an off-hours session (``krx.off_hours``, vectorised)."""
    minute = (ts + KST_OFFSET_US) // US_PER_MIN % (24 * 60)
    off = np.zeros(len(ts), dtype=bool)
    for a, b in krx.OFF_HOURS_MINUTES:
        off |= (minute >= a) & (minute < b)
    return ~off


def session_candles(
    u: Universe, chain: DailyChain, seed: int, day: date, rate: float, emit: NDArray[np.bool_]
) -> CandleTable:
    """Every stored interval's candles of the simulated session ``day`` (source ``sim``), as
    columns (no ``Candle`` per candle: a whole-market session is ~600,000 of them), each
    interval's by symbol in text order (the store's key order), then by start."""
    if day <= chain.anchors.first_day:
        return CandleTable([])  # before the chain: real data, or nothing
    engine = normal_day(u, chain, seed, day, rate, emit, chunk_us=SESSION_CHUNK_US)
    cols = engine.session_columns()
    m = regular_session(cols.ts)  # off-hours trades are in no candle (``krx.off_hours``)
    # codes renumbered in the symbols' text order: the candles come out in key order
    names = engine.names
    by_text = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), np.int64)
    rank[by_text] = np.arange(len(names))
    parts = fold_columns(
        rank[cols.code[m]], [names[i] for i in by_text], cols.ts[m], cols.seq[m],
        cols.price[m], cols.volume[m], SIM,
    )  # fmt: skip
    # an index whose real series reaches this day keeps it
    real_index = {ix.symbol for ix in u.indices if not chain.index_live(ix.symbol, day)}
    real = [int(rank[k]) for k, s in enumerate(names) if s in real_index]
    if real:
        parts = [p.take(~np.isin(p.code, real)) for p in parts]
    return CandleTable(parts)
