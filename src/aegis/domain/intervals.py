"""Candle intervals: the five stored ones and any other, downsampled from them.

Buckets are aligned to KST midnight, so a 1d candle is one KRX trading day (a KST day), a 1h
candle is a KST hour, 1w starts on Monday (KST) and 1M on the first of the KST month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from aegis.core.errors import InvalidRequest
from aegis.core.timeutil import KST_OFFSET_US, US_PER_DAY, kst_day, kst_midnight_us

US_PER_MIN = 60_000_000
STORED = ("1m", "5m", "15m", "1h", "1d")
_STORED_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 1440}
PATTERN = r"^\d{1,4}[mhdwM]$"  # as documented in OpenAPI; names are then made canonical
_PATTERN = re.compile(r"(\d{1,4})(m|h|d|w|M)", re.ASCII)
ALLOWED_TEXT = (
    "Nm with N dividing 1440 (1m 3m 5m 10m 15m 30m …), Nh with N dividing 24 (1h 2h 4h …), "
    "1d, 1w or 1M"
)


@dataclass(frozen=True, slots=True)
class Interval:
    name: str
    unit: str  # "m" (fixed length, minutes) | "w" | "M"
    minutes: int  # length for fixed intervals; 0 for calendar ones
    base: str  # the stored interval it is built from (itself when stored)

    @property
    def stored(self) -> bool:
        return self.name in _STORED_MINUTES

    @property
    def length_us(self) -> int:
        return self.minutes * US_PER_MIN

    def bucket(self, ts: int) -> int:
        """Start (UTC µs) of the bucket holding instant ``ts``."""
        if self.unit == "m":
            size = self.minutes * US_PER_MIN
            local = ts + KST_OFFSET_US
            return local - local % size - KST_OFFSET_US
        d = kst_day(ts)
        if self.unit == "w":
            return kst_midnight_us(date.fromordinal(d.toordinal() - d.weekday()))
        return kst_midnight_us(d.replace(day=1))

    def next_bucket(self, start: int) -> int:
        if self.unit == "m":
            return start + self.length_us
        if self.unit == "w":
            return start + 7 * US_PER_DAY
        d = kst_day(start)
        nxt = date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)
        return kst_midnight_us(nxt)


def canonical_name(minutes: int) -> str:
    if minutes == 1440:
        return "1d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def parse_interval(text: str) -> Interval:
    """One ``Interval`` per length, whatever the spelling: ``2m``, ``02m`` and ``002m`` are all
    ``2m``; ``60m`` is ``1h`` and ``24h`` is ``1d`` (one cache entry, one subscription)."""
    m = _PATTERN.fullmatch(text)
    if not m:
        raise InvalidRequest(
            f"unknown interval {text!r}; allowed: {ALLOWED_TEXT}", details={"allowed": ALLOWED_TEXT}
        )
    n, unit = int(m.group(1)), m.group(2)
    if unit in ("w", "M"):
        if n != 1:
            raise InvalidRequest(
                f"interval {text!r}: only 1{unit} is supported; allowed: {ALLOWED_TEXT}"
            )
        return Interval(f"1{unit}", unit, 0, "1d")
    minutes = n * {"m": 1, "h": 60, "d": 1440}[unit]
    if unit == "d" and n != 1:
        raise InvalidRequest(f"interval {text!r}: use 1d or 1w; allowed: {ALLOWED_TEXT}")
    if minutes == 0 or 1440 % minutes != 0:
        raise InvalidRequest(f"interval {text!r} does not divide a day; allowed: {ALLOWED_TEXT}")
    name = canonical_name(minutes)
    base = max(
        (s for s, sm in _STORED_MINUTES.items() if minutes % sm == 0),
        key=_STORED_MINUTES.__getitem__,
    )
    return Interval(name, "m", minutes, base)


STORED_INTERVALS = tuple(parse_interval(s) for s in STORED)
