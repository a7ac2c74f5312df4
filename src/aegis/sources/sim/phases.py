"""The KRX session phases of a trading day (KST), per ``shared/docs/krx_rules.md`` §3.

| phase | time | what trades |
|---|---|---|
| ``pre_off_hours`` | 08:30–08:40 | 장전 시간외 종가: at the previous close |
| ``opening_auction`` | 08:40 – open | orders for the opening single-price match (from 08:30) |
| ``continuous`` | open – 15:20 | 정규시장 (the open is 10:00 on the year's first trading day) |
| ``closing_auction`` | 15:20–15:30 | 종가 단일가, matched at 15:30 |
| ``post_off_hours`` | 15:40–16:00 | 장후 시간외 종가: at the day's close |
| ``after_hours_single_price`` | 16:00–18:00 | 시간외 단일가: every 10 min, ±10 % of the close |
| ``closed`` | otherwise, and all day on a holiday | |

The simulator trades all of them (``offhours``); the off-hours trades are stored and streamed but
left out of candles (``krx.off_hours``), as KRX keeps them out of the day's official prices.
"""

from __future__ import annotations

from aegis.core.timeutil import kst_day, kst_midnight_us
from aegis.sources.sim.calendar import US_PER_MIN, is_trading_day, open_minute


def phase_at(ts_us: int) -> str:
    """The KRX phase at instant ``ts_us``."""
    day = kst_day(ts_us)
    if not is_trading_day(day):
        return "closed"
    minute = (ts_us - kst_midnight_us(day)) / US_PER_MIN
    bounds = (
        (8 * 60 + 30, "closed"),
        (8 * 60 + 40, "pre_off_hours"),
        (open_minute(day), "opening_auction"),
        (15 * 60 + 20, "continuous"),
        (15 * 60 + 30, "closing_auction"),
        (15 * 60 + 40, "closed"),
        (16 * 60, "post_off_hours"),
        (18 * 60, "after_hours_single_price"),
    )
    for end, name in bounds:
        if minute < end:
            return name
    return "closed"
