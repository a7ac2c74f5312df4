"""Real daily prices after the older shipped series (see data/SOURCE.md, "Recent daily prices"):

- ``ohlcv_daily_top36_…_stitched.csv.gz``: 2024-01-02 → 2026-07-24 (005930 → 2026-10-02) for the
  36 largest stocks, stitched from several feeds (column ``source``, ``price_basis``, ``flags``);
- ``ohlcv_daily_top200_…_miyoo1016.csv.gz``: 2025-02-12 → 2026-05-06 for the 200 largest, raw.

What this module does to make one series per stock without a seam, each step as the sources
describe the data (``shared/data/SOURCES-2026-12.md`` §1):

1. Halt rows (O = H = L = 0, volume 0, close = reference price) become flat bars at the reference
   price with volume 0, as the older shipped series write halts.
2. Five stocks (068270, 006400, 003670, 086520, 012450) are Naver-adjusted (as of 2025-06-17) in
   the stitched file's first window (2024-01-02 → 2025-02-11) and raw after it: that window is
   divided by the constant factor between the two bases (``NAVER_FACTOR``), so the series joins the
   raw prices from 2025-02-12 on. Events before 2025 that Naver had already adjusted (086520's 5:1
   split, 012450's spin-off, both 2024) stay adjusted: continuous, not raw.
3. Two corporate events show as jumps in the raw data and are back-adjusted as the split/spin-off
   adjusted feed does: 207940 (spin-off, relisted 2025-11-24: earlier prices × 1.5375) and 010120
   (1:5 split, relisted 2026-04-13: earlier prices ÷ 5). Volumes are scaled inversely; traded value
   (won) is unchanged.
4. The 200-stock file's last day (2026-05-06) was written the same evening and is provisional: it
   is left out. Where both files have a stock, the stitched file wins.

Prices off the KRX tick grid (NXT mid-point prints) and NXT-era volume differences between feeds
are kept as published: they are real prints, not errors to correct.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from datetime import date
from fractions import Fraction
from functools import cache

from aegis.history.types import DailyBar
from aegis.reference.history import DATA_DIR

STITCHED = DATA_DIR / "ohlcv_daily_top36_2024-01-02_2026-07-24_stitched.csv.gz"
TOP200 = DATA_DIR / "ohlcv_daily_top200_2025-02-12_2026-05-06_miyoo1016.csv.gz"
TOP200_PROVISIONAL = date(2026, 5, 6)
RAW_FROM = date(2025, 2, 12)
# the newest bar shipped: once a store has it (as ``import``), the data are seeded there
PROBE = ("005930", date(2026, 10, 2))  # the stitched file is raw from here on for every stock

# adjusted / raw close of the Naver-adjusted window's basis: valuation_daily_…_hsh2578.csv's
# close_adj (same Naver basis) over the raw close on 2025-02-12 and 2025-02-13, both days giving
# the same ratio to 4 digits (tests/reference/test_recent.py checks them against shared/data)
NAVER_FACTOR: dict[str, Fraction] = {
    "068270": Fraction(172_126, 178_700),
    "006400": Fraction(204_617, 209_000),
    "003670": Fraction(122_618, 126_500),
    "086520": Fraction(58_468, 59_600),
    "012450": Fraction(512_047, 520_000),
}


class _Event:
    def __init__(self, day: date, price_factor: Fraction) -> None:
        self.day = day  # first day on the new basis; earlier bars are adjusted
        self.price_factor = price_factor


EVENTS: dict[str, _Event] = {
    "207940": _Event(date(2025, 11, 24), Fraction(15_375, 10_000)),
    "010120": _Event(date(2026, 4, 13), Fraction(1, 5)),
}


def _scaled(value: int, factor: Fraction) -> int:
    return round(value * factor)


def _bar(day: date, o: int, h: int, lo: int, c: int, v: int, amount: int | None) -> DailyBar:
    if o == 0 or h == 0 or lo == 0:  # a halt: no trade, the reference price as a flat bar
        return DailyBar(day, c, c, c, c, 0, None if amount is None else 0)
    return DailyBar(day, o, h, lo, c, v, amount)


def _adjusted(bar: DailyBar, price: Fraction) -> DailyBar:
    if price == 1:
        return bar
    return DailyBar(
        bar.day,
        _scaled(bar.open, price),
        _scaled(bar.high, price),
        _scaled(bar.low, price),
        _scaled(bar.close, price),
        _scaled(bar.volume, 1 / price),
        bar.amount,
    )


def _rows(path: str, *names: str) -> Iterator[list[str]]:
    """The ``names`` columns of each row, in that order (a list per row, not a dict: these
    files are read at every fresh start)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        at = [header.index(n) for n in names]
        for r in rows:
            yield [r[i] for i in at]


def _int(text: str) -> int:
    return int(float(text)) if "." in text else int(text)


@cache
def _series() -> dict[str, tuple[DailyBar, ...]]:
    out: dict[str, list[DailyBar]] = {}
    ohlcv = ("open", "high", "low", "close", "volume")
    stitched_rows = _rows(str(STITCHED), "code", "date", "turnover_krw", *ohlcv)
    for code, when, turnover, *prices in stitched_rows:
        day = date.fromisoformat(when)
        turnover = turnover.strip()
        o, h, lo, c, v = (_int(x) for x in prices)
        bar = _bar(day, o, h, lo, c, v, _int(turnover) if turnover else None)
        factor = NAVER_FACTOR.get(code)
        if factor is not None and day < RAW_FROM:
            bar = _adjusted(bar, 1 / factor)
        out.setdefault(code, []).append(bar)
    stitched = set(out)
    for code, when, *prices in _rows(str(TOP200), "code", "date", *ohlcv):
        day = date.fromisoformat(when)
        if code in stitched or day >= TOP200_PROVISIONAL:
            continue
        o, h, lo, c, v = (_int(x) for x in prices)
        out.setdefault(code, []).append(_bar(day, o, h, lo, c, v, None))
    result: dict[str, tuple[DailyBar, ...]] = {}
    for code, bars in out.items():
        bars.sort(key=lambda b: b.day)
        ev = EVENTS.get(code)
        if ev is not None:
            bars = [_adjusted(b, ev.price_factor) if b.day < ev.day else b for b in bars]
        result[code] = tuple(bars)
    return result


def recent_symbols() -> list[str]:
    return sorted(_series())


def load_recent_history(symbol: str) -> list[DailyBar]:
    """The symbol's recent real daily bars, oldest first; empty when none ship."""
    return list(_series().get(symbol, ()))
