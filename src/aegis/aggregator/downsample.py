"""Any interval from the largest stored interval that divides it."""

from __future__ import annotations

from collections.abc import Iterable

from aegis.domain.candles import Candle
from aegis.domain.intervals import Interval


def downsample(candles: Iterable[Candle], target: Interval) -> list[Candle]:
    """Fold ascending base candles into ``target`` buckets (ascending)."""
    out: list[Candle] = []
    cur: Candle | None = None
    for c in candles:
        start = target.bucket(c.start)
        if cur is not None and cur.start == start:
            cur.merge(c)
            continue
        cur = c.copy()
        cur.interval = target.name
        cur.start = start
        out.append(cur)
    return out
