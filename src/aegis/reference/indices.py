"""KOSPI and KOSDAQ daily closes from the shipped index files (points, two decimals)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
INDEX_FILES = {
    "KOSPI": DATA_DIR / "kospi_index_daily.csv",
    "KOSDAQ": DATA_DIR / "kosdaq_index_daily.csv",
}
INDEX_NAMES = {"KOSPI": "코스피", "KOSDAQ": "코스닥"}
# Which listing markets make up each index. The index files' MarCap on 2026-03-20 equals the sum
# of the snapshot's Marcap over exactly these markets (preferred shares included).
INDEX_MARKETS = {"KOSPI": ("KOSPI",), "KOSDAQ": ("KOSDAQ", "KOSDAQ GLOBAL")}
INDEX_PRICE_SCALE = 2


@dataclass(frozen=True, slots=True)
class IndexDay:
    day: date
    open: int  # 1/100 points
    high: int
    low: int
    close: int
    volume: int
    amount: int | None  # traded value in won, as the file gives it (None where empty)


def _centi(text: str) -> int:
    return int(Decimal(text).scaleb(INDEX_PRICE_SCALE).to_integral_value())


def read_index_daily(symbol: str) -> list[IndexDay]:
    """All rows of one index file, oldest first, prices in 1/100 points. Rows before 1995 have
    no open/high/low in other index files; here those fall back to the close."""
    out: list[IndexDay] = []
    with INDEX_FILES[symbol].open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            close = _centi(row["Close"])
            out.append(
                IndexDay(
                    day=date.fromisoformat(row["Date"]),
                    open=_centi(row["Open"]) if row["Open"] else close,
                    high=_centi(row["High"]) if row["High"] else close,
                    low=_centi(row["Low"]) if row["Low"] else close,
                    close=close,
                    volume=int(row["Volume"] or 0),
                    amount=int(Decimal(row["Amount"])) if row.get("Amount") else None,
                )
            )
    return out


def last_close(symbol: str) -> tuple[date, int]:
    """The newest row's day and close (1/100 points), read from the file's tail only."""
    with INDEX_FILES[symbol].open("rb") as f:
        f.seek(0, 2)
        f.seek(max(0, f.tell() - 512))
        tail = f.read().decode("utf-8").strip().splitlines()[-1]
    fields = tail.split(",")
    return date.fromisoformat(fields[0]), _centi(fields[1])
