"""KRX market holidays (휴장일): weekdays on which KOSPI and KOSDAQ do not trade.

From the public KRX holiday lists (KRX 휴장일 안내, reported in the press each December):
public holidays, their substitute days, election days, Labour Day (1 May), the year-end close
(31 December) and, from 2026, Constitution Day (17 July) again. 2024–2026 were checked against
the real daily bars in ``shared/data``: every weekday missing from the top-36 series
2024-01-02 … 2026-07-24 (005930 to 2026-10-02) is in this list, and no listed day has a bar.
2027 follows the announced public-holiday calendar and is not yet confirmed by KRX; extend the
table each year.
"""

from __future__ import annotations

from datetime import date

_DAYS = {
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
