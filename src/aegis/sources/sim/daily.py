"""Synthesized daily bars: each weekday after the real snapshot, derived from the previous
close by the factor model. Deterministic per (seed, day), so every component (the intraday
engine's open and close targets, the daily chart back-fill) sees the same days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from aegis.history.types import DailyBar
from aegis.reference.listing import SNAPSHOT_DAY
from aegis.sources.sim import params
from aegis.sources.sim.calendar import weekdays_between
from aegis.sources.sim.grid import ceil_grid, clip_int, floor_grid, limits, nearest_grid
from aegis.sources.sim.universe import Universe, factor_shocks, student_t

I64 = NDArray[np.int64]
ANCHOR_DAY = date.fromisoformat(SNAPSHOT_DAY)


@dataclass(slots=True)
class DayBars:
    """One day for every stock (won, shares) and index (1/100 points, shares)."""

    day: date
    prev: I64
    open: I64
    high: I64
    low: I64
    close: I64
    volume: I64
    index_prev: dict[str, int]
    index_close: dict[str, int]


def day_rng(seed: int, kind: int, day: date, *extra: int) -> np.random.Generator:
    return np.random.default_rng([seed, kind, day.toordinal(), *extra])


def synth_day(u: Universe, seed: int, day: date, prev: I64) -> DayBars:
    """The day's open/high/low/close/volume from ``prev``: an overnight gap and an intraday
    return, both correlated factor draws; all prices on the grid inside ±30 % of ``prev``."""
    rng = day_rng(seed, 1, day)
    lo, hi = limits(prev)
    vol = u.total_vol()
    shocks = factor_shocks(rng, u, 2)
    gap = shocks[0] * params.GAP_SHARE
    intra = shocks[1] * params.INTRADAY_SHARE
    p = prev.astype(np.float64)
    o = clip_int(nearest_grid(p * np.exp(gap)), lo, hi)
    c = clip_int(nearest_grid(p * np.exp(gap + intra)), lo, hi)
    wick = np.abs(student_t(rng, (2, u.n_stocks))) * vol * 0.3
    top = np.maximum(o, c).astype(np.float64)
    bottom = np.minimum(o, c).astype(np.float64)
    h = np.maximum(clip_int(ceil_grid(top * np.exp(wick[0])), lo, hi), np.maximum(o, c))
    low = np.minimum(clip_int(floor_grid(bottom * np.exp(-wick[1])), lo, hi), np.minimum(o, c))
    volume = np.maximum(1, u.base_volume * np.exp(rng.normal(-0.08, 0.4, u.n_stocks)))
    return DayBars(day, prev, o, h, low, c, volume.astype(np.int64), {}, {})


class DailyChain:
    """Synthesized days from the snapshot day onward, computed once and kept."""

    def __init__(self, u: Universe, seed: int) -> None:
        self.u = u
        self.seed = seed
        self._days: dict[date, DayBars] = {}
        self._last_close = u.anchor_close
        self._last_day = ANCHOR_DAY

    def _extend(self, to: date) -> None:
        for d in weekdays_between(_after(self._last_day), to):
            bars = synth_day(self.u, self.seed, d, self._last_close)
            for ix in self.u.indices:
                bars.index_prev[ix.symbol] = self.index_at(ix.symbol, self._last_close)
                bars.index_close[ix.symbol] = self.index_at(ix.symbol, bars.close)
            self._days[d] = bars
            self._last_close = bars.close
            self._last_day = d

    def index_at(self, symbol: str, prices: I64) -> int:
        ix = next(i for i in self.u.indices if i.symbol == symbol)
        return self.u.index_value(ix, prices, self.u.anchor_close, ix.anchor_close)

    def day(self, d: date) -> DayBars:
        """The synthesized bars of weekday ``d``. A day on or before the snapshot (only asked
        in tests or replays) is drawn straight from the snapshot closes."""
        if d <= ANCHOR_DAY:
            bars = synth_day(self.u, self.seed, d, self.u.anchor_close)
            for ix in self.u.indices:
                bars.index_prev[ix.symbol] = ix.anchor_close
                bars.index_close[ix.symbol] = self.index_at(ix.symbol, bars.close)
            return bars
        if d > self._last_day:
            self._extend(d)
        return self._days[d]


def _after(d: date) -> date:
    return date.fromordinal(d.toordinal() + 1)


def synthesize_daily_history(
    u: Universe, seed: int, first: date, last: date
) -> dict[str, list[DailyBar]]:
    """Daily bars (simulated, label them so) for every stock and index on the weekdays in
    [first, last], chained from the real snapshot close so charts have no gap after the last
    real day. An index's high/low is the index of its members' larger/smaller of open and close
    (an approximation: members do not all peak at once)."""
    chain = DailyChain(u, seed)
    out: dict[str, list[DailyBar]] = {s: [] for s in u.symbols}
    for d in weekdays_between(max(first, _after(ANCHOR_DAY)), last):
        b = chain.day(d)
        for k in range(u.n_stocks):
            out[u.symbols[k]].append(
                DailyBar(
                    d, int(b.open[k]), int(b.high[k]), int(b.low[k]), int(b.close[k]),
                    int(b.volume[k]),
                )
            )  # fmt: skip
        for ix in u.indices:
            o = chain.index_at(ix.symbol, b.open)
            c = b.index_close[ix.symbol]
            hi = max(o, c, chain.index_at(ix.symbol, np.maximum(b.open, b.close)))
            lo = min(o, c, chain.index_at(ix.symbol, np.minimum(b.open, b.close)))
            vol = int(b.volume[ix.members].sum())
            out[ix.symbol].append(DailyBar(d, o, hi, lo, c, vol))
    return out
