"""The simulator's session calendar and the rule that picks which session to play.

Sessions are weekdays (KRX holidays are not modelled), KST: opening auction match at 09:00,
continuous trading to 15:20, closing auction match at 15:30.

**Clock rule.** Session time runs at ``speed`` × wall time and a tick is never stamped later
than the wall clock. At start-up the sim plays the latest weekday it can:
- if the wall clock is past that day's 15:30 (evening, night, weekend), it plays that whole
  day from 09:00, entirely in the past, so the market is open in the demo at any hour;
- inside real trading hours it joins the day as late as it can while never overtaking the
  wall clock: at speed 1 session time equals wall time; at N× it starts far enough back;
- when even 09:00 is too late for that (fast speed early in the day), it plays the previous
  weekday.
After a close the next weekday starts as soon as it can be played without overtaking the wall
clock (at speed 1: at its real 09:00), so a long-running sim settles onto the real timetable.
"""

from __future__ import annotations

from datetime import date, timedelta

from aegis.core.timeutil import kst_day, kst_midnight_us

US_PER_MIN = 60_000_000
OPEN_MIN = 9 * 60
CONT_END_MIN = 15 * 60 + 20
CLOSE_MIN = 15 * 60 + 30


def open_us(day: date) -> int:
    return kst_midnight_us(day) + OPEN_MIN * US_PER_MIN


def cont_end_us(day: date) -> int:
    return kst_midnight_us(day) + CONT_END_MIN * US_PER_MIN


def close_us(day: date) -> int:
    return kst_midnight_us(day) + CLOSE_MIN * US_PER_MIN


def is_weekday(day: date) -> bool:
    return day.weekday() < 5


def next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while not is_weekday(day):
        day += timedelta(days=1)
    return day


def prev_weekday(day: date) -> date:
    day -= timedelta(days=1)
    while not is_weekday(day):
        day -= timedelta(days=1)
    return day


def weekdays_between(first: date, last: date) -> list[date]:
    """Weekdays in [first, last]."""
    out: list[date] = []
    d = first
    while d <= last:
        if is_weekday(d):
            out.append(d)
        d += timedelta(days=1)
    return out


def earliest_wall_start(day: date, speed: float) -> int:
    """The first wall instant at which ``day`` can be played from 09:00 at ``speed`` without a
    tick ever stamped after the wall clock."""
    return max(open_us(day), close_us(day) - int((close_us(day) - open_us(day)) / speed))


def first_session(wall_us: int, speed: float) -> tuple[date, int]:
    """(session day, session time to start at) for a sim started at ``wall_us``."""
    day = kst_day(wall_us)
    if not is_weekday(day) or wall_us < open_us(day):
        day = prev_weekday(day)
    close = close_us(day)
    if wall_us >= close:
        return day, open_us(day)
    start = min(wall_us, close - int(speed * (close - wall_us)))
    if start >= open_us(day):
        return day, start
    day = prev_weekday(day)
    return day, open_us(day)
