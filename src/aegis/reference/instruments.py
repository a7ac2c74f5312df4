"""``load_instruments``: every listed KRX stock plus the KOSPI and KOSDAQ indices."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from aegis.domain.instruments import Instrument
from aegis.reference.indices import INDEX_NAMES, INDEX_PRICE_SCALE, last_close
from aegis.reference.listing import read_listing

INDEX_SYMBOLS = ("KOSPI", "KOSDAQ")


@lru_cache(maxsize=1)
def _load() -> tuple[Instrument, ...]:
    out = [
        Instrument(
            symbol=s.code,
            name=s.name,
            market=s.market,
            kind="stock",
            name_en=None,  # the shipped listing has no English names
            industry=s.industry,
            shares=s.shares,
            prev_close=s.close,
            listing_date=s.listing_date,
            products=s.products,
        )
        for s in read_listing()
    ]
    for sym in INDEX_SYMBOLS:
        _, close = last_close(sym)
        out.append(
            Instrument(
                symbol=sym,
                name=INDEX_NAMES[sym],
                market="INDEX",
                kind="index",
                name_en=sym,
                price_scale=INDEX_PRICE_SCALE,
                prev_close=close,
            )
        )
    return tuple(out)


def load_instruments() -> list[Instrument]:
    """Stocks in listing order, then KOSPI and KOSDAQ. Parsed once; each call returns fresh
    copies, because callers (the store) set ``company_id`` on them."""
    return [replace(i) for i in _load()]
