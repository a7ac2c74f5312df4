"""Replay: one symbol's trades for a real day, built so that the day's ticks reproduce the
recorded daily open, high, low, close and volume exactly.

The open and close are the 09:00 and 15:30 auction prints; the high and the low are each hit by
one continuous trade at a random time; the other trades follow Brownian bridges between those
waypoints, rounded to the grid and kept inside [low, high]. Volumes are split so they sum to the
day's volume. Recorded prices are printed as recorded, even when off today's grid (adjusted or
pre-2023 data)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from aegis.history.types import DailyBar
from aegis.sources.sim import params
from aegis.sources.sim.calendar import close_us, cont_end_us, open_us
from aegis.sources.sim.grid import ceil_grid, floor_grid, nearest_grid
from aegis.sources.sim.intraday import u_shape

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
OPEN_PRINT, CONTINUOUS, CLOSE_PRINT = 0, 1, 2


@dataclass(slots=True)
class ReplayTrades:
    row: int  # the stock's row in the universe
    prev_close: int
    ts: I64
    price: I64
    volume: I64
    side: I64
    phase: I64

    def price_at(self, ts: int) -> int:
        """The last printed price at or before ``ts`` (the open print before any trade)."""
        k = int(np.searchsorted(self.ts, ts, side="right")) - 1
        return int(self.price[max(k, 0)])


def _trade_times(rng: np.random.Generator, bar: DailyBar, n: int) -> I64:
    """n sorted times in (09:00, 15:20], drawn from the U-shaped activity profile."""
    o, e = open_us(bar.day), cont_end_us(bar.day)
    minutes = (e - o) // 60_000_000
    w = u_shape((np.arange(minutes) + 0.5) / minutes)
    m = rng.choice(minutes, size=n, p=w / w.sum())
    ts = o + m * 60_000_000 + rng.integers(1, 60_000_001, size=n)
    return np.sort(ts).astype(np.int64)


def _bridge(rng: np.random.Generator, a: float, b: float, steps: int, scale: float) -> F64:
    """``steps`` interior points of a Brownian bridge from a to b (both excluded)."""
    w = np.cumsum(rng.normal(0.0, scale, steps + 1))
    k = np.arange(1, steps + 2) / (steps + 1)
    path: F64 = (a + w - k * w[-1] + k * (b - a))[:-1]
    return path


def _split_volume(rng: np.random.Generator, total: int, n: int) -> I64:
    """n positive integers summing to total (needs total ≥ n), heavy-tailed sizes."""
    w = rng.lognormal(0.0, params.TRADE_SIZE_SIGMA, n)
    extra = total - n
    share = np.floor(extra * w / w.sum()).astype(np.int64)
    rest = extra - int(share.sum())
    share[np.argsort(-w)[:rest]] += 1
    out: I64 = share + 1
    return out


def build_replay(
    rng: np.random.Generator, row: int, prev: DailyBar, bar: DailyBar, expected_trades: float
) -> ReplayTrades | None:
    """The day's trades, or None on a day without trades (a halt: volume 0)."""
    if bar.volume <= 0:
        return None
    v_open = max(1, round(bar.volume * params.OPEN_AUCTION_SHARE * rng.uniform(0.5, 1.5)))
    v_close = max(1, round(bar.volume * params.CLOSE_AUCTION_SHARE * rng.uniform(0.5, 1.5)))
    n = int(min(max(expected_trades, 20), 500_000))
    n = min(n, bar.volume - v_open - v_close)
    if n < 2:  # too little volume to show the high and the low: one print at the open
        return ReplayTrades(
            row, prev.close, np.array([open_us(bar.day)], np.int64),
            np.array([bar.open], np.int64), np.array([bar.volume], np.int64),
            np.zeros(1, np.int64), np.array([OPEN_PRINT], np.int64),
        )  # fmt: skip
    ts = _trade_times(rng, bar, n)
    j_high, j_low = (int(j) for j in rng.choice(n, size=2, replace=False))
    marks = sorted([(j_high, float(bar.high)), (j_low, float(bar.low))])
    logs = np.empty(n)
    pos, val = -1, np.log(bar.open)
    span = max(np.log(bar.high) - np.log(bar.low), 1e-6)
    scale = span / np.sqrt(n) * 0.8
    for j, mark in [*marks, (n, float(bar.close))]:
        target = np.log(mark)
        if j - pos - 1 > 0:
            logs[pos + 1 : j] = _bridge(rng, val, target, j - pos - 1, scale)
        if j < n:
            logs[j] = target
        pos, val = j, target
    grid_lo = float(ceil_grid(np.array([bar.low], float))[0])
    grid_hi = float(floor_grid(np.array([bar.high], float))[0])
    if grid_lo > grid_hi:  # high and low within one tick: keep to the recorded pair
        grid_lo, grid_hi = float(bar.low), float(bar.high)
    price = np.clip(nearest_grid(np.exp(logs)), grid_lo, grid_hi).astype(np.int64)
    price[j_high], price[j_low] = bar.high, bar.low
    vols = _split_volume(rng, bar.volume - v_open - v_close, n)
    moves = np.diff(np.concatenate([[bar.open], price]))
    side = np.where(moves > 0, 1, np.where(moves < 0, -1, rng.choice([-1, 1], size=n)))
    return ReplayTrades(
        row=row,
        prev_close=prev.close,
        ts=np.concatenate([[open_us(bar.day)], ts, [close_us(bar.day)]]).astype(np.int64),
        price=np.concatenate([[bar.open], price, [bar.close]]).astype(np.int64),
        volume=np.concatenate([[v_open], vols, [v_close]]).astype(np.int64),
        side=np.concatenate([[0], side, [0]]).astype(np.int64),
        phase=np.concatenate([[OPEN_PRINT], np.full(n, CONTINUOUS), [CLOSE_PRINT]]).astype(
            np.int64
        ),
    )
