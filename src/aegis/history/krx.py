"""Keyless daily history of any KRX stock, as Korean quants fetch it: FinanceDataReader
(``pip install 'aegis[krx]'``; optional, never needed offline), whose default source for KRX codes
is Naver's daily chart (``fchart.stock.naver.com``, up to 6,000 trading days, prices adjusted for
splits as Naver publishes them, no traded value).

FinanceDataReader is better kept than pykrx for this: pykrx 1.2.9 fails at import on a plain
install (it imports ``pkg_resources``), and reads KRX's data portal, which now wants a login for
its OHLCV screens."""

from __future__ import annotations

import math
import warnings
from datetime import date
from typing import Any

from aegis.core.errors import SourceError
from aegis.core.timeutil import kst_day, now_us
from aegis.history.types import DailyBar

EARLIEST = date(1980, 1, 4)  # before the first KRX day Naver serves: "the whole history"
INSTALL_HINT = "pip install 'aegis[krx]' (FinanceDataReader)"


class KrxHistoryUnavailable(SourceError):
    """The optional FinanceDataReader package is not installed."""


def _reader() -> Any:
    try:
        import FinanceDataReader
    except ImportError as exc:
        raise KrxHistoryUnavailable(
            f"KRX backfill needs FinanceDataReader, which is not installed: {INSTALL_HINT}"
        ) from exc
    return FinanceDataReader


def _int(value: object, what: str, day: date) -> int:
    x = float(value)  # type: ignore[arg-type]  # numpy/pandas scalars
    if math.isnan(x) or x < 0 or x != int(x):
        raise SourceError(f"KRX daily {what} on {day} is not a whole non-negative number: {value}")
    return int(x)


def fetch_krx_daily(
    symbol: str, start: date | None = None, end: date | None = None
) -> list[DailyBar]:
    """Daily bars of ``symbol`` (a 6-character KRX code) from ``start`` (default: the whole
    history) to ``end`` inclusive, oldest first. Blocking: run it in a thread."""
    if len(symbol) != 6 or not symbol.isalnum():
        raise SourceError(f"{symbol!r} is not a KRX stock code (6 characters, e.g. 005930)")
    fdr = _reader()
    first = (start or EARLIEST).isoformat()
    last = (end or kst_day(now_us())).isoformat()  # KRX days are KST days
    try:
        import requests

        with warnings.catch_warnings():
            # the library's own pandas deprecations: its concern, not a user's
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            frame = fdr.DataReader(symbol, first, last)
    except requests.RequestException as exc:
        raise SourceError(f"KRX daily history of {symbol} could not be fetched: {exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:  # a reply the reader could not parse
        raise SourceError(f"KRX daily history of {symbol}: unexpected reply ({exc})") from exc
    if frame is None or len(frame) == 0:
        raise SourceError(f"KRX daily history of {symbol}: no data (unknown code or no trades)")
    bars: list[DailyBar] = []
    columns = ("Open", "High", "Low", "Close", "Volume")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SourceError(f"KRX daily history of {symbol}: reply lacks {missing}")
    for stamp, o, h, lo, c, v in zip(frame.index, *(frame[c] for c in columns), strict=True):
        day = stamp.date()
        o, h, lo, c, v = (_int(x, n, day) for x, n in zip((o, h, lo, c, v), columns, strict=True))
        if c == 0:
            continue  # nothing known that day
        if o == 0 or h == 0 or lo == 0:  # a halt: the reference price, no trade
            o = h = lo = c
            v = 0
        if not lo <= min(o, c) <= max(o, c) <= h:
            raise SourceError(
                f"KRX daily bar of {symbol} on {day} is inconsistent: {o}/{h}/{lo}/{c}"
            )
        bars.append(DailyBar(day, o, h, lo, c, v))
    return bars
