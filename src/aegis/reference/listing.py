"""The KRX stock listing: ``krx_listing_desc`` (names, industry, listing date, products) joined
with ``krx_daily_snapshot`` (shares outstanding and the close used as previous close)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from aegis.core.errors import ImportFormatError

DATA_DIR = Path(__file__).parent / "data"
LISTING_FILE = DATA_DIR / "krx_listing_desc_2026-03-22.csv"
SNAPSHOT_FILE = DATA_DIR / "krx_daily_snapshot_2026-03-20.csv"
SNAPSHOT_DAY = "2026-03-20"


@dataclass(frozen=True, slots=True)
class ListedStock:
    code: str
    name: str
    market: str
    industry: str | None
    products: str | None
    listing_date: str | None
    shares: int
    open: int  # snapshot day open/high/low, won (0 when suspended that day)
    high: int
    low: int
    close: int  # snapshot close, won: the previous close for the next session
    volume: int  # snapshot day volume (shares)
    amount: int  # snapshot day traded value (won)


def _blank_to_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def read_listing(
    listing_path: Path = LISTING_FILE, snapshot_path: Path = SNAPSHOT_FILE
) -> list[ListedStock]:
    """Every listed stock, in listing-file order. Codes stay strings (``00104K``, ``0126Z0``)."""
    # utf-8-sig: both files start with a BOM; newline="" because quoted fields hold line breaks.
    with snapshot_path.open(encoding="utf-8-sig", newline="") as f:
        snap = {row["Code"]: row for row in csv.DictReader(f)}
    out: list[ListedStock] = []
    with listing_path.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            code = row["Code"]
            s = snap.get(code)
            if s is None or len(code) != 6:
                raise ImportFormatError(f"listing row {code!r} has no snapshot row or a bad code")
            out.append(
                ListedStock(
                    code=code,
                    name=row["Name"],
                    market=row["Market"],
                    industry=_blank_to_none(row["Industry"]),
                    products=_blank_to_none(row["Products"]),
                    listing_date=_blank_to_none(row["ListingDate"]),
                    shares=int(s["Stocks"]),
                    open=int(s["Open"]),
                    high=int(s["High"]),
                    low=int(s["Low"]),
                    close=int(s["Close"]),
                    volume=int(s["Volume"]),
                    amount=int(s["Amount"]),
                )
            )
    return out
