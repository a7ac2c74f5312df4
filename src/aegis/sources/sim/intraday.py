"""One session's latent price paths: minute knots from the 09:00 open to the 15:30 close,
pinned to the day's open and close targets (a bridge), with a U-shaped volatility and
activity profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from aegis.sources.sim.calendar import CLOSE_MIN, CONT_END_MIN, OPEN_MIN, US_PER_MIN, open_us
from aegis.sources.sim.daily import DayBars, day_rng
from aegis.sources.sim.grid import clip_int, limits, nearest_grid
from aegis.sources.sim.universe import Universe, factor_shocks

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

MINUTES = CLOSE_MIN - OPEN_MIN  # 390 knots after the open: 380 continuous + 10 closing call
CONT_MINUTES = CONT_END_MIN - OPEN_MIN


def u_shape(tau: F64) -> F64:
    """Relative activity at fraction ``tau`` of the continuous session (0 = 09:00, 1 = 15:20):
    busy after the open, quiet at lunch, busy again into the close. Mean ≈ 1 over [0, 1]."""
    raw = 0.55 + 2.2 * np.exp(-tau / 0.05) + 1.1 * np.exp(-(1.0 - tau) / 0.07)
    return raw / _U_MEAN


_TAU = (np.arange(20_000) + 0.5) / 20_000
_U_MEAN = float(np.mean(0.55 + 2.2 * np.exp(-_TAU / 0.05) + 1.1 * np.exp(-(1.0 - _TAU) / 0.07)))


@dataclass(slots=True)
class DayPlan:
    day: date
    open_us: int
    prev: I64
    lo: I64
    hi: I64
    open: I64  # the 09:00 auction price per stock
    close: I64  # the 15:30 auction price per stock
    knots: F64  # (MINUTES + 1) × n_stocks log prices
    minute_vol: F64  # per-stock std of log price within a minute, for trade-level noise
    volume: F64  # target daily volume (shares), scales trade sizes

    def latent(self, ts: NDArray[np.int64], rows: NDArray[np.intp]) -> F64:
        """Log price of stock ``rows[j]`` at ``ts[j]``, linear between minute knots."""
        x = (ts - self.open_us) / US_PER_MIN
        k = np.clip(x.astype(np.intp), 0, MINUTES - 1)
        f = np.clip(x - k, 0.0, 1.0)
        out: F64 = self.knots[k, rows] * (1.0 - f) + self.knots[k + 1, rows] * f
        return out

    def prices_at(self, ts: int) -> I64:
        """Every stock's reference price (grid, within limits) at ``ts``: the index input."""
        x = (ts - self.open_us) / US_PER_MIN
        if x <= 0:
            return self.open
        if x >= MINUTES:
            return self.close
        k = int(x)
        f = x - k
        lat = self.knots[k] * (1.0 - f) + self.knots[k + 1] * f
        return clip_int(nearest_grid(np.exp(lat)), self.lo, self.hi)


def build_plan(u: Universe, seed: int, bars: DayBars) -> DayPlan:
    rng = day_rng(seed, 2, bars.day)
    tau = (np.arange(MINUTES) + 0.5) / CONT_MINUTES
    var = u_shape(np.minimum(tau, 1.0))
    var /= var.sum()
    steps = factor_shocks(rng, u, MINUTES) * np.sqrt(var)[:, None]
    start = np.log(bars.open.astype(np.float64))
    end = np.log(bars.close.astype(np.float64))
    path = np.vstack([np.zeros(u.n_stocks), np.cumsum(steps, axis=0)]) + start
    frac = (np.arange(MINUTES + 1) / MINUTES)[:, None]
    knots = path - frac * (path[-1] - end)  # bridge: hits the close target exactly at 15:30
    lo, hi = limits(bars.prev)
    knots = np.clip(knots, np.log(lo), np.log(hi))
    return DayPlan(
        day=bars.day,
        open_us=open_us(bars.day),
        prev=bars.prev,
        lo=lo,
        hi=hi,
        open=bars.open,
        close=bars.close,
        knots=knots,
        minute_vol=u.total_vol() / np.sqrt(MINUTES),
        volume=bars.volume.astype(np.float64),
    )
