"""The KRX calendar: market holidays (휴장일), weekdays on which KOSPI and KOSDAQ do not trade,
and trading days (weekdays that are not holidays, KST).

From the public KRX holiday lists (KRX 휴장일 안내, reported in the press each December):
public holidays, their substitute days, election days, Labour Day (1 May), the year-end close
(31 December, or the last weekday before it when it falls on a weekend: 2022-12-30, 2023-12-29)
and, from 2026, Constitution Day (17 July) again. 2024–2026 were checked against the real daily
bars in ``shared/data``: every weekday missing from the top-36 series 2024-01-02 … 2026-07-24
(005930 to 2026-10-02) is in this list, and no listed day has a bar. 2020–2023 are the weekdays
without a close in the KOSPI index series (``kospi_index_daily.csv``). 2027 follows the
announced public-holiday calendar and is not yet confirmed by KRX; extend the table each year.
Years outside the table count every weekday as a trading day.
"""

from __future__ import annotations

from datetime import date, timedelta

_DAYS = {
    2020: [
        (1, 1), (1, 24), (1, 27), (4, 15), (4, 30), (5, 1), (5, 5), (8, 17), (9, 30), (10, 1),
        (10, 2), (10, 9), (12, 25), (12, 31),
    ],
    2021: [
        (1, 1), (2, 11), (2, 12), (3, 1), (5, 5), (5, 19), (8, 16), (9, 20), (9, 21), (9, 22),
        (10, 4), (10, 11), (12, 31),
    ],
    2022: [
        (1, 31), (2, 1), (2, 2), (3, 1), (3, 9), (5, 5), (6, 1), (6, 6), (8, 15), (9, 9),
        (9, 12), (10, 3), (10, 10), (12, 30),
    ],
    2023: [
        (1, 23), (1, 24), (3, 1), (5, 1), (5, 5), (5, 29), (6, 6), (8, 15), (9, 28), (9, 29),
        (10, 2), (10, 3), (10, 9), (12, 25), (12, 29),
    ],
    2024: [
        (1, 1), (2, 9), (2, 12), (3, 1), (4, 10), (5, 1), (5, 6), (5, 15), (6, 6), (8, 15),
        (9, 16), (9, 17), (9, 18), (10, 1), (10, 3), (10, 9), (12, 25), (12, 31),
    ],
    2025: [
        (1, 1), (1, 27), (1, 28), (1, 29), (1, 30), (3, 3), (5, 1), (5, 5), (5, 6), (6, 3),
        (6, 6), (8, 15), (10, 3), (10, 6), (10, 7), (10, 8), (10, 9), (12, 25), (12, 31),
    ],
    2026: [
        (1, 1), (2, 16), (2, 17), (2, 18), (3, 2), (5, 1), (5, 5), (5, 25), (6, 3), (7, 17),
        (8, 17), (9, 24), (9, 25), (10, 5), (10, 9), (12, 25), (12, 31),
    ],
    2027: [
        (1, 1), (2, 8), (2, 9), (3, 1), (5, 5), (5, 13), (8, 16), (9, 14), (9, 15), (9, 16),
        (10, 4), (10, 11), (12, 27), (12, 31),
    ],
}  # fmt: skip

HOLIDAYS: frozenset[date] = frozenset(date(y, m, d) for y, days in _DAYS.items() for m, d in days)
FIRST_YEAR, LAST_YEAR = min(_DAYS), max(_DAYS)


def is_holiday(day: date) -> bool:
    return day in HOLIDAYS


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def next_trading_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_trading_day(day):
        day += timedelta(days=1)
    return day


def prev_trading_day(day: date) -> date:
    day -= timedelta(days=1)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day
