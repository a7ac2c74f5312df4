"""The simulator's session calendar and the rule that picks which session to play.

Sessions are KRX trading days: weekdays that are not KRX holidays (``holidays``), KST. The
opening auction matches at 09:00 (10:00 on the year's first trading day), continuous trading
runs to 15:20, the closing auction matches at 15:30. Around them, the off-hours phases of
``phases`` (08:30–08:40 at the previous close, 15:40–16:00 at the close, 16:00–18:00
single-price matches every 10 minutes).

**Clock rule.** Session time runs at ``speed`` × wall time and a tick is never stamped later
than the wall clock. At start-up the sim plays the latest trading day it can:
- if the wall clock is past that day's 15:30 (evening, night, weekend, holiday), it plays that
  whole day from the open, entirely in the past, so the market is open in the demo at any hour;
- inside real trading hours it joins the day as late as it can while never overtaking the
  wall clock: at speed 1 session time equals wall time; at N× it starts far enough back;
- when even the open is too late for that (fast speed early in the day), it plays the previous
  trading day.
After a close the next trading day starts as soon as it can be played without overtaking the
wall clock (at speed 1: at its real open), so a long-running sim settles onto the real timetable.
"""

from __future__ import annotations

from datetime import date, timedelta

from aegis.core.timeutil import kst_day, kst_midnight_us
from aegis.domain.calendar import is_trading_day as is_trading_day
from aegis.domain.calendar import next_trading_day as next_trading_day
from aegis.domain.calendar import prev_trading_day as prev_trading_day

US_PER_MIN = 60_000_000
OPEN_MIN = 9 * 60
LATE_OPEN_MIN = 10 * 60  # the year's first trading day
CONT_END_MIN = 15 * 60 + 20
CLOSE_MIN = 15 * 60 + 30


def trading_days_between(first: date, last: date) -> list[date]:
    """Trading days in [first, last]."""
    out: list[date] = []
    d = first
    while d <= last:
        if is_trading_day(d):
            out.append(d)
        d += timedelta(days=1)
    return out


def open_minute(day: date) -> int:
    """Minutes after KST midnight of the opening match: 10:00 on the year's first trading day."""
    first = date(day.year, 1, 1)
    if not is_trading_day(first):
        first = next_trading_day(first)
    return LATE_OPEN_MIN if day == first else OPEN_MIN


def open_us(day: date) -> int:
    return kst_midnight_us(day) + open_minute(day) * US_PER_MIN


def cont_end_us(day: date) -> int:
    return kst_midnight_us(day) + CONT_END_MIN * US_PER_MIN


def close_us(day: date) -> int:
    return kst_midnight_us(day) + CLOSE_MIN * US_PER_MIN


def session_minutes(day: date) -> int:
    """Minutes from the opening match to the closing match (390, or 330 on a 10:00 open)."""
    return CLOSE_MIN - open_minute(day)


def first_session(wall_us: int, speed: float) -> tuple[date, int]:
    """(session day, session time to start at) for a sim started at ``wall_us``."""
    day = kst_day(wall_us)
    if not is_trading_day(day) or wall_us < open_us(day):
        day = prev_trading_day(day)
    close = close_us(day)
    if wall_us >= close:
        return day, open_us(day)
    start = min(wall_us, close - int(speed * (close - wall_us)))
    if start >= open_us(day):
        return day, start
    day = prev_trading_day(day)
    return day, open_us(day)
