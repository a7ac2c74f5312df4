"""Parsing KIS realtime frames: ``<enc>|<tr_id>|<count>|<f^f^f...>`` (protocols.md §A.6).

This is the hot path (≥300k records/s): one ``split`` per frame, fixed-stride indexing, and a
cache of KST date+time → UTC µs so that most records cost one dict lookup for the timestamp.
"""

from __future__ import annotations

from datetime import date

from aegis.core.errors import SourceError
from aegis.core.timeutil import US_PER_S, kst_midnight_us
from aegis.domain.ticks import BUY, SELL, UNKNOWN_SIDE, Tick
from aegis.sources.base import BookLevel, OrderBook
from aegis.sources.kis.fields import (
    N_BOOK,
    N_TRADE,
    T_ACML_VOL,
    T_BSOP_DATE,
    T_CCLD_DVSN,
    T_CNTG_VOL,
    T_HOUR,
    T_PRICE,
    T_SYMBOL,
)

SOURCE = "kis"
_SIDES = {"1": BUY, "5": SELL}


class MalformedFrame(SourceError):
    code = "SOURCE_MALFORMED"


def split_frame(text: str) -> tuple[str, str, int, str]:
    """(encrypted flag, tr_id, record count, payload) of a data frame."""
    parts = text.split("|", 3)
    if len(parts) != 4 or not parts[2].isdigit():
        raise MalformedFrame(f"not a KIS data frame: {text[:40]!r}")
    return parts[0], parts[1], int(parts[2]), parts[3]


_day_cache: dict[str, int] = {}


def kst_instant_us(yyyymmdd: str, hhmmss: str) -> int:
    """UTC µs of a KST date (YYYYMMDD) and time (HHMMSS)."""
    base = _day_cache.get(yyyymmdd)
    if base is None:
        base = kst_midnight_us(date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8])))
        if len(_day_cache) > 64:
            _day_cache.clear()
        _day_cache[yyyymmdd] = base
    secs = int(hhmmss[:2]) * 3600 + int(hhmmss[2:4]) * 60 + int(hhmmss[4:6])
    return base + secs * US_PER_S


def parse_trades(payload: str, count: int) -> list[Tick]:
    """H0STCNT0 records → ticks. ``seq`` is ACML_VOL (cumulative volume): it grows with every
    trade, so a trade seen again after a reconnect (or via REST backfill) has the same
    (ts, seq), and ``seq - volume`` is the previous trade's seq, which reveals gaps."""
    f = payload.split("^")
    if len(f) != count * N_TRADE:
        raise MalformedFrame(
            f"H0STCNT0: {len(f)} fields for {count} records (expected {count * N_TRADE})"
        )
    out: list[Tick] = []
    append = out.append
    cache: dict[str, int] = {}
    sides = _SIDES
    try:
        for i in range(0, len(f), N_TRADE):
            day = f[i + T_BSOP_DATE]
            hour = f[i + T_HOUR]
            key = day + hour
            ts = cache.get(key)
            if ts is None:
                ts = cache[key] = kst_instant_us(day, hour)
            append(
                Tick(
                    f[i + T_SYMBOL],
                    ts,
                    int(f[i + T_PRICE]),
                    int(f[i + T_CNTG_VOL]),
                    sides.get(f[i + T_CCLD_DVSN], UNKNOWN_SIDE),
                    int(f[i + T_ACML_VOL]),
                    SOURCE,
                )
            )
    except (ValueError, IndexError) as exc:
        raise MalformedFrame(f"H0STCNT0: bad field value ({exc})") from None
    return out


def parse_books(payload: str, count: int, trading_day: str) -> list[OrderBook]:
    """H0STASP0 records → 10-level books. The record has no date: ``trading_day`` (YYYYMMDD,
    from the latest trade record) supplies it."""
    f = payload.split("^")
    if len(f) != count * N_BOOK:
        raise MalformedFrame(
            f"H0STASP0: {len(f)} fields for {count} records (expected {count * N_BOOK})"
        )
    books: list[OrderBook] = []
    try:
        for i in range(0, len(f), N_BOOK):
            asks = [BookLevel(int(f[i + 3 + k]), int(f[i + 23 + k])) for k in range(10)]
            bids = [BookLevel(int(f[i + 13 + k]), int(f[i + 33 + k])) for k in range(10)]
            books.append(
                OrderBook(
                    f[i],
                    kst_instant_us(trading_day, f[i + 1]),
                    [lv for lv in asks if lv.price > 0],
                    [lv for lv in bids if lv.price > 0],
                    SOURCE,
                )
            )
    except (ValueError, IndexError) as exc:
        raise MalformedFrame(f"H0STASP0: bad field value ({exc})") from None
    return books
