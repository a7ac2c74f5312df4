"""A trade print, normalized across sources."""

from __future__ import annotations

from typing import NamedTuple

BUY = 1
SELL = -1
UNKNOWN_SIDE = 0


class Tick(NamedTuple):
    """One trade. A NamedTuple because the ingest path builds millions of them.

    ``price`` and ``volume`` are exact integers in the instrument's minor units: won for KRX
    stocks (scale 0), 1/100 point for indices, 10^-8 for crypto (see ``Instrument``).
    ``seq`` orders ticks with the same ``ts``; together with ``symbol`` it identifies a tick,
    so a replayed tick is recognized and never counted twice.
    """

    symbol: str
    ts: int  # exchange time, UTC epoch microseconds
    price: int
    volume: int
    side: int  # BUY, SELL or UNKNOWN_SIDE
    seq: int
    source: str


def tick_key(t: Tick) -> tuple[int, int]:
    """The order of ticks within a symbol: exchange time, then sequence."""
    return (t.ts, t.seq)
