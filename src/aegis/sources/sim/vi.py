"""Volatility interruptions (krx_rules.md §2): a trade that would move a stock too far switches
it to a 2-minute single-price auction instead; continuous trading resumes after one auction
print, whose price becomes the new static reference.

- Static VI (정적 VI): ±10 % from the static reference (the day's opening price, then the price
  of the last VI auction).
- Dynamic VI (동적 VI): beyond ±3 % (KOSPI 200 members) or ±6 % (other stocks) from the price
  just before: in the simulator, a move of the latent path that large within one minute (a
  sweep of the book, typically a news jump), measured from where the path stood a minute
  earlier at most.

Worked out once per day from the latent path (deterministic, so a sim that joins late sees the
same interruptions)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from aegis.sources.sim.calendar import US_PER_MIN
from aegis.sources.sim.grid import clip_int, nearest_grid

I64 = NDArray[np.int64]
STATIC_VI = 0.10
DYNAMIC_VI_KOSPI200, DYNAMIC_VI_OTHER = 0.03, 0.06
KOSPI200 = 200
AUCTION_US = 2 * US_PER_MIN
STATIC, DYNAMIC = 0, 1


@dataclass(slots=True)
class ViEvents:
    """One row per interruption, sorted by start."""

    rows: NDArray[np.intp]
    start_us: I64  # when the triggering trade would have printed
    end_us: I64  # the auction print (no print when the closing auction comes first)
    price: I64  # the auction price: the new reference
    kind: NDArray[np.int8]  # STATIC or DYNAMIC

    def halted(self, rows: NDArray[np.intp], ts: I64) -> NDArray[np.bool_]:
        """Which (row, ts) pairs fall inside an interruption of their stock."""
        out = np.zeros(len(rows), dtype=bool)
        if not len(self.rows) or not len(rows):
            return out
        lo, hi = int(ts.min()), int(ts.max())
        for j in np.flatnonzero((self.start_us <= hi) & (self.end_us > lo)):
            out |= (rows == self.rows[j]) & (ts >= self.start_us[j]) & (ts < self.end_us[j])
        return out


def dynamic_bands(market: NDArray[np.intp], cap: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each stock's dynamic-VI band: ±3 % for KOSPI 200 members (here: the 200 largest KOSPI
    stocks by market cap), ±6 % for the others (krx_rules.md §2; continuous session)."""
    kospi = np.flatnonzero(market == 0)
    top = kospi[np.argsort(-cap[kospi], kind="stable")[:KOSPI200]]
    band = np.full(len(market), DYNAMIC_VI_OTHER)
    band[top] = DYNAMIC_VI_KOSPI200
    return band


def find_static_vi(
    knots: NDArray[np.float64], open_price: I64, low: I64, high: I64, open_us: int, cont: int
) -> ViEvents:
    """Static VI only (see ``find_vi``)."""
    return find_vi(knots, open_price, low, high, open_us, cont, None)


def find_vi(
    knots: NDArray[np.float64], open_price: I64, low: I64, high: I64, open_us: int, cont: int,
    dynamic: NDArray[np.float64] | None,
) -> ViEvents:  # fmt: skip
    """Scan each stock's minute knots (log prices) for the first of: a ±10 % move from its
    static reference (static VI), or a move beyond its dynamic band (``dynamic``: fractions per
    stock, None for none) within one minute, i.e. from the price a trade at most a minute
    earlier printed (dynamic VI: a sweep of the book, a news jump). The crossing instant is
    interpolated inside the minute; both interruptions are 2-minute auctions whose print is
    the new static reference. The minute an auction ends in is not checked for a sweep."""
    n = knots.shape[1]
    ref = np.log(open_price.astype(np.float64))
    resume = np.zeros(n)  # minute (fractional) from which the stock trades again
    rows: list[int] = []
    starts: list[int] = []
    prices: list[int] = []
    kinds: list[int] = []
    band = np.log(1.0 + STATIC_VI), np.log(1.0 - STATIC_VI)
    dyn = None if dynamic is None else np.log(1.0 + dynamic)
    for m in range(1, cont + 1):
        a, b = knots[m - 1], knots[m]
        up, down = ref + band[0], ref + band[1]
        static = ((b >= up) | (b <= down)) & (m > resume)
        sweep = np.zeros(n, bool) if dyn is None else (np.abs(b - a) >= dyn) & (m - 1 >= resume)
        if not (static.any() or sweep.any()):
            continue
        for k in np.flatnonzero(static | sweep):
            f_static = f_sweep = 2.0
            if static[k]:
                edge = up[k] if b[k] >= up[k] else down[k]
                f_static = (edge - a[k]) / (b[k] - a[k]) if b[k] != a[k] else 1.0
            if sweep[k]:
                assert dyn is not None
                f_sweep = dyn[k] / abs(b[k] - a[k])
            f = min(f_static, f_sweep)
            at = max(m - 1 + float(np.clip(f, 0.0, 1.0)), resume[k])
            end = at + 2.0
            j = min(int(np.ceil(end)), knots.shape[0] - 1)
            p = clip_int(nearest_grid(np.exp(knots[j : j + 1, k])), low[k : k + 1], high[k : k + 1])
            rows.append(int(k))
            starts.append(open_us + int(at * US_PER_MIN))
            prices.append(int(p[0]))
            kinds.append(STATIC if f_static <= f_sweep else DYNAMIC)
            ref[k] = np.log(float(p[0]))
            resume[k] = end
    start = np.array(starts, dtype=np.int64)
    order = np.argsort(start, kind="stable")
    return ViEvents(
        np.array(rows, dtype=np.intp)[order], start[order], start[order] + AUCTION_US,
        np.array(prices, dtype=np.int64)[order], np.array(kinds, dtype=np.int8)[order],
    )  # fmt: skip
