"""KRX session phases (KST) as the order path sees them. The clock is the tape's: the exchange
time of the latest trade, so a simulated day played in the past trades like a live one.

Phases: opening auction (orders 08:30–09:00, matched at 09:00), continuous 09:00–15:20, closing
auction (15:20–15:30, matched at 15:30), closed otherwise (off-hours sessions are not traded).
Weekends are closed; KRX holidays are not modelled.
"""

from __future__ import annotations

from enum import StrEnum

from aegis.core.timeutil import KST_OFFSET_US, US_PER_DAY, kst_day, kst_midnight_us
from aegis.domain.calendar import is_trading_day, next_trading_day

US_PER_MIN = 60_000_000
_AUCTION_OPEN = (8 * 60 + 30) * US_PER_MIN
_OPEN = 9 * 60 * US_PER_MIN
_CLOSE_AUCTION = (15 * 60 + 20) * US_PER_MIN
_CLOSE = (15 * 60 + 30) * US_PER_MIN


class Phase(StrEnum):
    OPENING_AUCTION = "OPENING_AUCTION"
    CONTINUOUS = "CONTINUOUS"
    CLOSING_AUCTION = "CLOSING_AUCTION"
    CLOSED = "CLOSED"


def _minute_of_day(ts: int) -> int:
    return (ts + KST_OFFSET_US) % US_PER_DAY


def phase(ts: int) -> Phase:
    if kst_day(ts).weekday() >= 5:
        return Phase.CLOSED
    t = _minute_of_day(ts)
    if _AUCTION_OPEN <= t < _OPEN:
        return Phase.OPENING_AUCTION
    if _OPEN <= t < _CLOSE_AUCTION:
        return Phase.CONTINUOUS
    if _CLOSE_AUCTION <= t < _CLOSE:
        return Phase.CLOSING_AUCTION
    return Phase.CLOSED


def day_start(ts: int) -> int:
    """KST midnight of the day ``ts`` falls on."""
    return ts - _minute_of_day(ts)


def auction_match_time(ts: int) -> int | None:
    """When an order entered at ``ts`` during an auction is matched (09:00 or 15:30)."""
    p = phase(ts)
    if p is Phase.OPENING_AUCTION:
        return day_start(ts) + _OPEN
    if p is Phase.CLOSING_AUCTION:
        return day_start(ts) + _CLOSE
    return None


def session_close(ts: int) -> int:
    """The closing auction match of the day of ``ts``: day orders expire after it."""
    return day_start(ts) + _CLOSE


def day_order_close(entered: int) -> int:
    """The close a day order entered at ``entered`` works until: that day's, when entered on a
    trading day before it; else the next trading day's (an order taken after the close, on a
    weekend or a holiday waits for the next session, it is not over already)."""
    day = kst_day(entered)
    if is_trading_day(day) and entered < session_close(entered):
        return session_close(entered)
    return kst_midnight_us(next_trading_day(day)) + _CLOSE
