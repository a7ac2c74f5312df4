"""Time helpers. Internally every instant is an int of UTC epoch microseconds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")
KST_OFFSET_US = 9 * 3600 * 1_000_000  # Korea has no DST since 1988
US_PER_S = 1_000_000
US_PER_DAY = 86_400 * US_PER_S


def now_us() -> int:
    return int(datetime.now(UTC).timestamp() * US_PER_S)


def to_us(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: give a UTC offset")
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds


def from_us(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def iso_z(us: int) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as in the API documents."""
    return from_us(us).strftime("%Y-%m-%dT%H:%M:%S.") + f"{(us // 1000) % 1000:03d}Z"


def kst_day(us: int) -> date:
    """The KST calendar day (= KRX trading day) an instant falls on."""
    return date.fromordinal(date(1970, 1, 1).toordinal() + (us + KST_OFFSET_US) // US_PER_DAY)


def kst_midnight_us(d: date) -> int:
    return (d.toordinal() - date(1970, 1, 1).toordinal()) * US_PER_DAY - KST_OFFSET_US


def parse_instant(text: str) -> int:
    """ISO 8601 (offset required, a bare date is taken as KST midnight) or epoch seconds."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text) * US_PER_S
    if len(text) == 10:
        return kst_midnight_us(date.fromisoformat(text))
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=KST)
    return to_us(dt)
