"""The off-hours sessions of a simulated day, traded (krx_rules.md §3):

| session | time (KST) | price |
|---|---|---|
| 장전 시간외 종가 | 08:30–08:40 | the previous close |
| 장후 시간외 종가 | 15:40–16:00 | the day's close |
| 시간외 단일가 | 16:00–18:00 | a single-price match every 10 minutes (16:10 … 18:00) |

After-hours single-price matches stay within ±10 % of the close and the day's ±30 % limits.

Every print has side 0 (no aggressor: a fixed-price or single-price match). They are real trades
(stored, streamed) that KRX keeps out of the day's official prices, so candles leave them out
(``krx.off_hours``, ``Aggregator``). Drawn once per day from the day's closes (deterministic)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from aegis.core.timeutil import kst_midnight_us
from aegis.sources.sim.calendar import US_PER_MIN
from aegis.sources.sim.daily import day_rng
from aegis.sources.sim.grid import ceil_grid, clip_int, floor_grid, nearest_grid

I64 = NDArray[np.int64]
PRE = (8 * 60 + 30, 8 * 60 + 40)
POST = (15 * 60 + 40, 16 * 60)
SINGLE_START, SINGLE_END, MATCH_EVERY = 16 * 60, 18 * 60, 10
AFTER_HOURS_BAND = 0.10
# Share of a stock's day volume, chance that a stock trades (per session, per match), and the
# std of the after-hours price drift per match (log): small next to the regular session.
PRE_SHARE, PRE_P = 0.002, 0.3
POST_SHARE, POST_P = 0.004, 0.5
SINGLE_SHARE, SINGLE_P, SINGLE_DRIFT = 0.004, 0.35, 0.004


@dataclass(slots=True)
class OffHoursTrades:
    """One row per print, in time order."""

    rows: NDArray[np.intp]
    ts: I64
    price: I64
    volume: I64

    def between(self, a: int, b: int) -> slice:
        """The prints with a ≤ ts < b."""
        return slice(
            int(np.searchsorted(self.ts, a, side="left")),
            int(np.searchsorted(self.ts, b, side="left")),
        )


def end_us(day: date) -> int:
    """The instant just after the last after-hours match (18:00): the simulated day's end."""
    return kst_midnight_us(day) + SINGLE_END * US_PER_MIN + 1


def build_off_hours(
    day: date, seed: int, rows: NDArray[np.intp], prev: I64, close: I64, lo: I64, hi: I64,
    volume: NDArray[np.float64],
) -> OffHoursTrades:  # fmt: skip
    """The off-hours prints of ``rows`` (the stocks that trade that day)."""
    rng = day_rng(seed, 8, day)
    midnight = kst_midnight_us(day)
    out_rows: list[NDArray[np.intp]] = []
    out_ts: list[I64] = []
    out_px: list[I64] = []
    out_vol: list[I64] = []

    def session(first: int, last: int, p: float, share: float, price: I64) -> None:
        trading = rows[rng.random(len(rows)) < p]
        n = 1 + rng.poisson(2.0, len(trading))
        r = np.repeat(trading, n)
        span = (last - first) * US_PER_MIN
        out_rows.append(r)
        out_ts.append(midnight + first * US_PER_MIN + rng.integers(0, span, len(r)))
        out_px.append(price[r])
        each = volume[r] * share / np.repeat(n, n) * rng.lognormal(-0.5, 1.0, len(r))
        out_vol.append(np.maximum(np.rint(each), 1).astype(np.int64))

    session(*PRE, PRE_P, PRE_SHARE, prev)
    session(*POST, POST_P, POST_SHARE, close)
    # single-price matches: the price drifts from the close, inside ±10 % of it and the limits
    c = close[rows].astype(np.float64)
    band_lo = np.maximum(ceil_grid(c * (1 - AFTER_HOURS_BAND)).astype(np.int64), lo[rows])
    band_hi = np.minimum(floor_grid(c * (1 + AFTER_HOURS_BAND)).astype(np.int64), hi[rows])
    drift = np.zeros(len(rows))
    matches = (SINGLE_END - SINGLE_START) // MATCH_EVERY
    for j in range(1, matches + 1):
        drift += rng.normal(0.0, SINGLE_DRIFT, len(rows))
        price = clip_int(nearest_grid(c * np.exp(drift)), band_lo, band_hi)
        m = rng.random(len(rows)) < SINGLE_P
        r = rows[m]
        out_rows.append(r)
        out_ts.append(np.full(len(r), midnight + (SINGLE_START + j * MATCH_EVERY) * US_PER_MIN))
        out_px.append(price[m])
        each = volume[r] * SINGLE_SHARE / matches * rng.lognormal(-0.5, 1.0, len(r))
        out_vol.append(np.maximum(np.rint(each), 1).astype(np.int64))
    ts = np.concatenate(out_ts).astype(np.int64)
    order = np.argsort(ts, kind="stable")
    return OffHoursTrades(
        np.concatenate(out_rows).astype(np.intp)[order], ts[order],
        np.concatenate(out_px).astype(np.int64)[order], np.concatenate(out_vol)[order],
    )  # fmt: skip
