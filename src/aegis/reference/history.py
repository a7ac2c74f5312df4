"""Daily OHLCV of the five stocks whose history ships with AEGIS (minimal readers for the two
shipped formats; ``aegis.history`` has the general readers).

- QuantKang files (005930, 000660, 005380, 035420, to 2023-12-22) are **split-adjusted**, prices
  and volumes alike: before a split the prices are not real quotes and not on the tick grid.
- The arclien file (035720 카카오, to 2022-09-19) has no header, one row per calendar day
  (all-zero rows on closed days, dropped here) and is **not** split-adjusted. Its halt rows have
  O = H = L = 0 and are normalized to O = H = L = C, volume 0, as the QuantKang files write halts.
"""

from __future__ import annotations

import csv
from datetime import date
from functools import cache
from pathlib import Path

from aegis.history.types import DailyBar

DATA_DIR = Path(__file__).parent / "data"
_QUANTKANG = {
    code: DATA_DIR / f"ohlcv_daily_{code}_quantkang.csv"
    for code in ("005930", "000660", "005380", "035420")
}
_ARCLIEN = {"035720": DATA_DIR / "ohlcv_daily_035720_arclien.csv"}


def history_symbols() -> list[str]:
    """Codes that have shipped daily history."""
    return sorted([*_QUANTKANG, *_ARCLIEN])


def _read_quantkang(path: Path) -> list[DailyBar]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [
            DailyBar(
                day=date(int(r["date"][:4]), int(r["date"][4:6]), int(r["date"][6:8])),
                open=int(r["open"]),
                high=int(r["high"]),
                low=int(r["low"]),
                close=int(r["close"]),
                volume=int(r["volume"]),
            )
            for r in csv.DictReader(f)
        ]


def _read_arclien(path: Path) -> list[DailyBar]:
    out: list[DailyBar] = []
    with path.open(encoding="utf-8", newline="") as f:
        for fields in csv.reader(f):
            day, o, h, lo, c, v = fields[0], *(int(float(x)) for x in fields[1:6])
            if c == 0:
                continue  # calendar filler for weekends and holidays
            if o == 0 or h == 0 or lo == 0:
                o = h = lo = c  # trading halt
            out.append(DailyBar(date.fromisoformat(day), o, h, lo, c, v))
    return out


@cache
def _cached(symbol: str) -> tuple[DailyBar, ...]:
    if symbol in _QUANTKANG:
        return tuple(_read_quantkang(_QUANTKANG[symbol]))
    if symbol in _ARCLIEN:
        return tuple(_read_arclien(_ARCLIEN[symbol]))
    return ()


def load_daily_history(symbol: str) -> list[DailyBar]:
    """The symbol's shipped daily bars, oldest first; an empty list when none ship."""
    return list(_cached(symbol))


def bar_on(symbol: str, day: date) -> tuple[DailyBar, DailyBar] | None:
    """(previous trading day's bar, that day's bar) when the shipped history has both."""
    bars = _cached(symbol)
    lo, hi = 0, len(bars)
    while lo < hi:  # bisect on day
        mid = (lo + hi) // 2
        if bars[mid].day < day:
            lo = mid + 1
        else:
            hi = mid
    if lo == 0 or lo >= len(bars) or bars[lo].day != day:
        return None
    return bars[lo - 1], bars[lo]
