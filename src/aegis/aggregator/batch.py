"""Candles of a whole batch of ticks at once (``aegis import ticks``): the same candles the live
aggregator folds tick by tick (open/close by (ts, seq), first/last tick kept, amount exact), but
grouped with numpy. The result is exact; ``Candle.merge`` joins it with candles already stored."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from aegis.core.timeutil import KST_OFFSET_US
from aegis.domain.candles import Candle
from aegis.domain.intervals import STORED_INTERVALS, Interval
from aegis.domain.tick_arrays import Nums

Ints = npt.NDArray[np.int64]


def fold(
    sym: Ints,
    names: Sequence[str],
    ts: Ints,
    seq: Ints,
    price: Nums,
    volume: Nums,
    source: str,
    intervals: Sequence[Interval] = STORED_INTERVALS,
) -> list[Candle]:
    """Candles of ticks that all come from ``source``; each tick's symbol is given as an
    index into ``names``."""
    n = len(ts)
    if n == 0:
        return []
    order = np.lexsort((seq, ts, sym))  # per symbol in (ts, seq) order
    sym, ts, seq = sym[order], ts[order], seq[order]
    price, volume = price[order], volume[order]
    if volume.dtype == np.int64 and int(np.abs(volume).max()) * n >= 2**63:
        volume = volume.astype(object)
    amount = _amounts(price, volume)
    out: list[Candle] = []
    local = ts + KST_OFFSET_US
    for iv in intervals:
        size = iv.length_us
        start = local - local % size - KST_OFFSET_US
        new = np.empty(n, dtype=bool)
        new[0] = True
        new[1:] = (sym[1:] != sym[:-1]) | (start[1:] != start[:-1])
        first = np.flatnonzero(new)
        last = np.r_[first[1:] - 1, n - 1]
        rows = zip(
            sym[first].tolist(),
            start[first].tolist(),
            price[first].tolist(),
            np.maximum.reduceat(price, first).tolist(),
            np.minimum.reduceat(price, first).tolist(),
            price[last].tolist(),
            np.add.reduceat(volume, first).tolist(),
            np.add.reduceat(amount, first).tolist(),
            (last - first + 1).tolist(),
            ts[first].tolist(),
            seq[first].tolist(),
            ts[last].tolist(),
            seq[last].tolist(),
            strict=True,
        )
        name = iv.name
        out.extend(
            Candle(names[s], name, st, o, h, lo, c, v, a, k, fts, fsq, lts, lsq, source)
            for s, st, o, h, lo, c, v, a, k, fts, fsq, lts, lsq in rows
        )
    return out


def _amounts(price: Nums, volume: Nums) -> Nums:
    """price × volume, summed later: int64 only while no sum can overflow."""
    if price.dtype == np.int64 and volume.dtype == np.int64 and len(price):
        bound = int(np.abs(price).max()) * int(np.abs(volume).max()) * len(price)
        if bound < 2**63:
            exact: Nums = price * volume
            return exact
    big: Nums = price.astype(object) * volume.astype(object)
    return big
