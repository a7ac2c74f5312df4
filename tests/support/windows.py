"""Compare what streaming clients saw with what the store holds, over the stretch of time the
clients surely listened through (server-mode tests with real processes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

import asyncpg

from aegis.core.timeutil import iso_z, to_us

TickKey = tuple[str, str, int, int]  # symbol, ISO timestamp (ms), price, volume
Windows = dict[str, tuple[int, int]]  # symbol → (lo, hi) in ms; lo and hi themselves excluded


def ms(iso: str) -> int:
    return to_us(datetime.fromisoformat(iso.replace("Z", "+00:00"))) // 1000


def listened(seen: Sequence[Sequence[TickKey]], symbols: Iterable[str] | None = None) -> Windows:
    """The window every client listened through: from the latest first tick to the earliest
    last tick. With ``symbols``, one window for all of them (ticks published in time order);
    without, one per symbol the clients saw (a symbol's ticks are in time order, but the
    simulator may publish its morning catch-up symbol by symbol). Boundary milliseconds are
    excluded by :func:`inside` and :func:`stored_inside`: a tick in the first or last one may
    have arrived just before a client subscribed."""
    if symbols is not None:
        lo = max(min(ms(k[1]) for k in s) for s in seen)
        hi = min(max(ms(k[1]) for k in s) for s in seen)
        return dict.fromkeys(symbols, (lo, hi))
    windows: Windows = {}
    for sym in {k[0] for s in seen for k in s}:
        lo = max(min(ms(k[1]) for k in s if k[0] == sym) for s in seen)
        hi = min(max(ms(k[1]) for k in s if k[0] == sym) for s in seen)
        windows[sym] = (lo, hi)
    return windows


def inside(seen: Iterable[TickKey], windows: Windows) -> Counter[TickKey]:
    return Counter(
        k for k in seen if k[0] in windows and windows[k[0]][0] < ms(k[1]) < windows[k[0]][1]
    )


async def stored_inside(database_url: str, windows: Windows) -> Counter[TickKey]:
    """The stored ticks inside the windows (wait until the store holds the newest first)."""
    conn = await asyncpg.connect(database_url)
    stored: Counter[TickKey] = Counter()
    try:
        for sym, (lo, hi) in windows.items():
            rows = await conn.fetch(
                "SELECT symbol, ts, price, volume FROM ticks WHERE symbol = $1 "
                "AND ts >= $2 AND ts < $3",
                sym,
                (lo + 1) * 1000,
                hi * 1000,
            )
            stored.update((r["symbol"], iso_z(r["ts"]), r["price"], r["volume"]) for r in rows)
    finally:
        await conn.close()
    return stored
