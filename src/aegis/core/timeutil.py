"""Time helpers. Internally every instant is an int of UTC epoch microseconds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")
KST_OFFSET_US = 9 * 3600 * 1_000_000  # Korea has no DST since 1988
US_PER_S = 1_000_000
US_PER_DAY = 86_400 * US_PER_S
# the instants a query may name: years 1 … 9999 (what datetime and a 64-bit column both hold)
MIN_US = -62_135_596_800 * US_PER_S
MAX_US = 253_402_300_799 * US_PER_S


def now_us() -> int:
    return int(datetime.now(UTC).timestamp() * US_PER_S)


def to_us(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: give a UTC offset")
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds


def from_us(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


@lru_cache(maxsize=4096)  # polled quotes format the same last-trade instants over and over
def iso_z(us: int) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as in the API documents."""
    return from_us(us).strftime("%Y-%m-%dT%H:%M:%S.") + f"{(us // 1000) % 1000:03d}Z"


EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def kst_day(us: int) -> date:
    """The KST calendar day (= KRX trading day) an instant falls on."""
    return date.fromordinal(EPOCH_ORDINAL + (us + KST_OFFSET_US) // US_PER_DAY)


def kst_midnight_us(d: date) -> int:
    return (d.toordinal() - EPOCH_ORDINAL) * US_PER_DAY - KST_OFFSET_US


def parse_instant(text: str) -> int:
    """ISO 8601 (offset required, a bare date is taken as KST midnight) or epoch seconds.
    ValueError for anything else, and for instants outside years 1 … 9999."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        if len(text) > 13:  # more digits than any second before year 9999
            raise ValueError("epoch seconds out of range")
        us = int(text) * US_PER_S
    elif len(text) == 10:
        us = kst_midnight_us(date.fromisoformat(text))
    else:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=KST)
        try:
            us = to_us(dt)
        except OverflowError as exc:  # e.g. 0001-01-01T00:00-01:00 is before year 1 in UTC
            raise ValueError("instant out of range") from exc
    if not MIN_US <= us <= MAX_US:
        raise ValueError("instant out of range (years 1 to 9999)")
    return us
