"""Daily OHLCV CSV readers for the formats in shared/data:

* header ``date,open,high,low,close,volume,...`` (QuantKang: YYYYMMDD dates, split-adjusted);
* no header, ``Date,Open,High,Low,Close,Volume,Change`` (arclien: every calendar day, holidays as
  all-zero rows, halts as O=H=L=0 with the last close);
* index files ``Date,Close,UpDown,Comp,Change,Open,High,Low,Volume,Amount,MarCap`` (decimal
  points, early rows with close only).

Prices become exact integers: won for stocks, 1/100 point for indices (scale 2). A move between
two trading days that no KRX price limit allows and that matches a split ratio is reported as an
unadjusted split; the caller decides (refuse, back-adjust, or keep) — never silently.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from aegis.core.errors import ImportFormatError
from aegis.history.types import DailyBar

SplitPolicy = Literal["error", "adjust", "keep"]
SPLIT_RATIOS = (2, 2.5, 3, 4, 5, 10, 20, 25, 50, 100)
LIMIT_MOVE = 0.30  # KRX daily limit since 2015-06-15; earlier limits were tighter
_DATE = re.compile(r"^\d{4}-?\d{2}-?\d{2}")


@dataclass(frozen=True, slots=True)
class SplitEvent:
    day: date
    ratio: float  # > 1: split (price fell by this factor); < 1: reverse split
    prev_close: int
    close: int


@dataclass(slots=True)
class DailyFile:
    bars: list[DailyBar]
    price_scale: int
    symbol: str | None
    format: str
    holidays_skipped: int = 0
    halts: int = 0
    splits: list[SplitEvent] = field(default_factory=list)
    jumps: list[tuple[date, float]] = field(default_factory=list)  # beyond limit, no ratio


def _day(text: str) -> date:
    t = text.strip()[:10].replace("-", "")
    return date(int(t[:4]), int(t[4:6]), int(t[6:8]))


def _num(text: str | None) -> Decimal | None:
    t = (text or "").strip()
    if not t:
        return None
    try:
        return Decimal(t)
    except InvalidOperation:
        raise ImportFormatError(f"not a number: {t!r}") from None


def _scaled(d: Decimal, scale: int) -> int:
    v = d.scaleb(scale)
    if v != v.to_integral_value():
        raise ImportFormatError(f"{d} has more than {scale} decimal places")
    return int(v)


def read_daily(path: Path, *, symbol: str | None = None, on_split: SplitPolicy = "error"
               ) -> DailyFile:  # fmt: skip
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    if not rows:
        raise ImportFormatError(f"{path}: empty file")
    if _DATE.match(rows[0][0].strip()):
        header = ["date", "open", "high", "low", "close", "volume", "change"][: len(rows[0])]
        body, fmt = rows, "no-header Date,Open,High,Low,Close,Volume[,Change]"
    else:
        header = [h.strip().lower() for h in rows[0]]
        body, fmt = rows[1:], "header " + ",".join(rows[0])
    col = {name: i for i, name in enumerate(header)}
    for need in ("date", "close"):
        if need not in col:
            raise ImportFormatError(f"{path}: no {need!r} column (header: {rows[0]})")
    raw: list[tuple[date, list[Decimal | None]]] = []
    names = ("open", "high", "low", "close", "volume", "amount")
    for n, r in enumerate(body, start=2 if body is not rows else 1):
        try:
            vals = [_num(r[col[k]]) if k in col and col[k] < len(r) else None for k in names]
            raw.append((_day(r[col["date"]]), vals))
        except (ImportFormatError, ValueError, IndexError) as exc:
            raise ImportFormatError(f"{path}: line {n}: {exc}") from None
    decimals = any(v is not None and v != v.to_integral_value() for _, vs in raw for v in vs[:4])
    scale = 2 if decimals else 0
    sym = symbol or (body[0][col["code"]].strip() if "code" in col else None)
    if sym is None:
        m = re.search(r"(?<![0-9A-Z])([0-9][0-9A-Z]{5})(?![0-9A-Z])", path.name)
        sym = m.group(1) if m else None
    out = DailyFile([], scale, sym, fmt)
    for d, (o, h, lo, c, v, a) in raw:
        if c is None or c == 0:
            if all(x in (None, 0) for x in (o, h, lo, v)):
                out.holidays_skipped += 1  # weekend/holiday filler row
                continue
            raise ImportFormatError(f"{path}: {d}: traded volume but no close")
        close = _scaled(c, scale)
        vol = int(v) if v is not None else 0
        if not o or not h or not lo:
            if vol == 0:
                out.halts += 1  # halt: the last close carried, no trades
            o = h = lo = c
        bar = DailyBar(d, _scaled(o, scale), _scaled(h, scale), _scaled(lo, scale), close, vol,
                       int(a) if a is not None else None)  # fmt: skip
        out.bars.append(bar)
    out.bars.sort(key=lambda b: b.day)
    if scale == 0:
        _find_splits(out)
    if out.splits:
        listing = ", ".join(f"{s.day} ×{s.ratio:g} ({s.prev_close}→{s.close})" for s in out.splits)
        if on_split == "error":
            raise ImportFormatError(
                f"{path}: unadjusted split(s) detected: {listing}. Re-run with --adjust to "
                "back-adjust earlier prices, or --keep-unadjusted to load the series as is.",
                details={"splits": [str(s.day) for s in out.splits]},
            )
        if on_split == "adjust":
            out.bars = adjust(out.bars, out.splits)
    return out


def _find_splits(f: DailyFile) -> None:
    prev: DailyBar | None = None
    for b in f.bars:
        if prev is not None and b.volume > 0 and prev.close > 0:
            r = prev.close / b.open if b.open else prev.close / b.close
            move = b.close / prev.close - 1
            if abs(move) > LIMIT_MOVE + 0.01:
                ratio = next((k for k in SPLIT_RATIOS if abs(r / k - 1) < 0.08), None)
                inv = next((k for k in SPLIT_RATIOS if abs(r * k - 1) < 0.08), None)
                if ratio is not None:
                    f.splits.append(SplitEvent(b.day, float(ratio), prev.close, b.close))
                elif inv is not None:
                    f.splits.append(SplitEvent(b.day, 1 / inv, prev.close, b.close))
                else:
                    f.jumps.append((b.day, move))
        if b.volume > 0:
            prev = b


def adjust(bars: list[DailyBar], splits: list[SplitEvent]) -> list[DailyBar]:
    """Back-adjust: bars before each split get prices ÷ ratio (rounded to the won) and volume ×
    ratio, the convention of adjusted series such as QuantKang's."""
    out = []
    for b in bars:
        factor = 1.0
        for s in splits:
            if b.day < s.day:
                factor *= s.ratio
        if factor == 1.0:
            out.append(b)
            continue
        out.append(DailyBar(b.day, round(b.open / factor), round(b.high / factor),
                            round(b.low / factor), round(b.close / factor),
                            round(b.volume * factor), b.amount))  # fmt: skip
    return out
