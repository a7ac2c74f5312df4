"""Row ↔ domain conversions shared by the store implementations."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np

from aegis.domain.candles import Candle
from aegis.domain.instruments import Instrument

INSTRUMENT_COLS = (
    "symbol, name, name_en, market, kind, industry, shares, price_scale, qty_scale, "
    "prev_close, listing_date, products"
)


def instrument_row(i: Instrument) -> tuple[Any, ...]:
    """Values in ``INSTRUMENT_COLS`` order."""
    return (i.symbol, i.name, i.name_en, i.market, i.kind, i.industry, i.shares, i.price_scale,
            i.qty_scale, i.prev_close, i.listing_date, i.products)  # fmt: skip


def instrument_from_row(r: Sequence[Any]) -> Instrument:
    """From ``SELECT company_id, <INSTRUMENT_COLS>``."""
    return Instrument(
        symbol=r[1], name=r[2], name_en=r[3], market=r[4], kind=r[5], industry=r[6],
        shares=r[7], price_scale=r[8], qty_scale=r[9], prev_close=r[10], listing_date=r[11],
        products=r[12], company_id=r[0],
    )  # fmt: skip


def candle_from_row(r: Sequence[Any]) -> Candle:
    """From the 15 candle columns in ``Candle`` field order; amount may come back as text or
    Decimal (beyond int64) and is made an exact int, or is NULL (not given by the data)."""
    amount = None if r[8] is None else int(r[8])
    return Candle(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], amount, r[9], r[10], r[11],
                  r[12], r[13], r[14])  # fmt: skip


def in_key_order(rows: list[tuple[Any, ...]], last_only: bool = False) -> list[tuple[Any, ...]]:
    """Candle rows (``Candle`` field order) sorted by (symbol, interval, start), stably:
    ``sorted`` on those three, with the texts replaced by their ranks and numpy's lexsort
    (stable too) doing the sort. ``last_only``: of the rows of one key only the last given
    (the newest state of that candle), as ``{key: row}`` then sorted keys would keep.
    Python's sort compared tuples of texts: about 1 µs per row of a sparse flush, on the
    thread that writes (the event loop itself for PostgreSQL); this takes about a fifth."""
    n = len(rows)
    if n < 2:
        return rows
    keys = []
    for j in (2, 1, 0):  # lexsort: the last key is the first to sort by
        col = list(map(itemgetter(j), rows))
        if j < 2:  # a text: its rank in Python's (code point) order, as the tuple sort compares
            col = list(map({v: i for i, v in enumerate(sorted(set(col)))}.__getitem__, col))
        keys.append(np.fromiter(col, np.int64, n))
    order = np.lexsort(keys)
    if last_only:
        # in key order, a row is the last of its key where the next row's key differs
        start, interval, symbol = (k[order] for k in keys)
        last = np.ones(n, dtype=bool)
        last[:-1] = symbol[1:] != symbol[:-1]
        last[:-1] |= interval[1:] != interval[:-1]
        last[:-1] |= start[1:] != start[:-1]
        order = order[last]
    return list(map(rows.__getitem__, order.tolist()))
