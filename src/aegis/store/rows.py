"""Row ↔ domain conversions shared by the store implementations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
