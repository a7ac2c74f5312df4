"""KRX market rules (see shared docs/krx_rules.md): tick sizes in force since 2023-01-25,
the ±30 % daily price limit, and the regular session timetable (KST)."""

from __future__ import annotations

from datetime import time

import numpy as np
import numpy.typing as npt

# (upper bound exclusive, tick)
TICK_BANDS = (
    (2_000, 1),
    (5_000, 5),
    (20_000, 10),
    (50_000, 50),
    (200_000, 100),
    (500_000, 500),
)
TOP_TICK = 1_000
LIMIT_RATE_PCT = 30

OPEN_AUCTION_START = time(8, 30)
OPEN = time(9, 0)
CLOSE_AUCTION_START = time(15, 20)
CLOSE = time(15, 30)


def tick_size(price: int) -> int:
    for bound, tick in TICK_BANDS:
        if price < bound:
            return tick
    return TOP_TICK


def on_grid(price: int) -> bool:
    return price > 0 and price % tick_size(price) == 0


def round_down(price: int) -> int:
    """Largest grid price ≤ ``price``."""
    if price < 1:
        return 1
    t = tick_size(price)
    return price - price % t


def round_up(price: int) -> int:
    """Smallest grid price ≥ ``price``."""
    if price < 1:
        return 1
    down = round_down(price)
    if down == price:
        return price
    # the next grid price above ``down`` is down + tick(down), which may cross into a new band
    return down + tick_size(down)


def round_nearest(price: int) -> int:
    down, up = round_down(price), round_up(price)
    return down if price - down <= up - price else up


def upper_limit(base: int) -> int:
    """base × 1.3 rounded down to the tick of the band the limit falls in (checked on real data)."""
    return round_down(base * (100 + LIMIT_RATE_PCT) // 100)


def lower_limit(base: int) -> int:
    """base × 0.7 rounded up to the tick at the limit price."""
    raw = -(-base * (100 - LIMIT_RATE_PCT) // 100)
    return round_up(raw)


def step(price: int, n: int) -> int:
    """Move ``n`` ticks up (n > 0) or down (n < 0) along the grid."""
    p = price
    for _ in range(abs(n)):
        if n > 0:
            p = p + tick_size(p)
        else:
            below = p - 1
            p = max(1, below - below % tick_size(below)) if below >= 1 else 1
    return p


# Off-hours sessions (krx_rules.md §3), minutes after KST midnight: 장전 시간외 종가 08:30–08:40,
# 장후 시간외 종가 15:40–16:00 and 시간외 단일가 16:00–18:00 (its last match prints at 18:00, hence
# the minute after). Their trades are real trades (stored, streamed) but KRX keeps them out of
# the day's official open/high/low/close, so candles leave them out. A KRX trade's session is
# given by its time: no regular trade prints in these minutes.
OFF_HOURS_MINUTES = ((8 * 60 + 30, 8 * 60 + 40), (15 * 60 + 40, 18 * 60 + 1))
KRX_MARKETS = frozenset({"KOSPI", "KOSDAQ", "KOSDAQ GLOBAL", "KONEX", "INDEX"})
_KST_US = 9 * 3600 * 1_000_000
_MIN_US = 60_000_000
_DAY_MIN = 24 * 60


def off_hours_mask(ts_us: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """``off_hours`` of each time."""
    m = (ts_us + _KST_US) // _MIN_US % _DAY_MIN
    out = np.zeros(len(ts_us), dtype=bool)
    for a, b in OFF_HOURS_MINUTES:
        out |= (m >= a) & (m < b)
    return out


def off_hours(ts_us: int) -> bool:
    """Whether a KRX trade at ``ts_us`` belongs to an off-hours session."""
    m = (ts_us + _KST_US) // _MIN_US % _DAY_MIN
    return any(a <= m < b for a, b in OFF_HOURS_MINUTES)
