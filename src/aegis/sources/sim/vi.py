"""Static volatility interruption (정적 VI): a trade that would move a stock ±10 % from its
reference price (the day's opening price, then the price of the last VI auction) switches the
stock to a 2-minute single-price auction instead; continuous trading resumes after one auction
print. Worked out once per day from the latent path (deterministic, so a sim that joins late
sees the same interruptions)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from aegis.sources.sim.calendar import US_PER_MIN
from aegis.sources.sim.grid import clip_int, nearest_grid

I64 = NDArray[np.int64]
STATIC_VI = 0.10
AUCTION_US = 2 * US_PER_MIN


@dataclass(slots=True)
class ViEvents:
    """One row per interruption, sorted by start."""

    rows: NDArray[np.intp]
    start_us: I64  # when the triggering trade would have printed
    end_us: I64  # the auction print (no print when the closing auction comes first)
    price: I64  # the auction price: the new reference

    def halted(self, rows: NDArray[np.intp], ts: I64) -> NDArray[np.bool_]:
        """Which (row, ts) pairs fall inside an interruption of their stock."""
        out = np.zeros(len(rows), dtype=bool)
        if not len(self.rows) or not len(rows):
            return out
        lo, hi = int(ts.min()), int(ts.max())
        for j in np.flatnonzero((self.start_us <= hi) & (self.end_us > lo)):
            out |= (rows == self.rows[j]) & (ts >= self.start_us[j]) & (ts < self.end_us[j])
        return out


def find_static_vi(
    knots: NDArray[np.float64], open_price: I64, low: I64, high: I64, open_us: int, cont: int
) -> ViEvents:
    """Scan each stock's minute knots (log prices) for ±10 % moves from its reference; the
    crossing instant is interpolated inside the minute."""
    n = knots.shape[1]
    ref = np.log(open_price.astype(np.float64))
    resume = np.zeros(n)  # minute (fractional) from which the stock trades again
    rows: list[int] = []
    starts: list[int] = []
    prices: list[int] = []
    band = np.log(1.0 + STATIC_VI), np.log(1.0 - STATIC_VI)
    for m in range(1, cont + 1):
        a, b = knots[m - 1], knots[m]
        up, down = ref + band[0], ref + band[1]
        cross = ((b >= up) | (b <= down)) & (m > resume)
        if not cross.any():
            continue
        for k in np.flatnonzero(cross):
            edge = up[k] if b[k] >= up[k] else down[k]
            f = (edge - a[k]) / (b[k] - a[k]) if b[k] != a[k] else 1.0
            at = max(m - 1 + float(np.clip(f, 0.0, 1.0)), resume[k])
            end = at + 2.0
            j = min(int(np.ceil(end)), knots.shape[0] - 1)
            p = clip_int(nearest_grid(np.exp(knots[j : j + 1, k])), low[k : k + 1], high[k : k + 1])
            rows.append(int(k))
            starts.append(open_us + int(at * US_PER_MIN))
            prices.append(int(p[0]))
            ref[k] = np.log(float(p[0]))
            resume[k] = end
    start = np.array(starts, dtype=np.int64)
    order = np.argsort(start, kind="stable")
    return ViEvents(
        np.array(rows, dtype=np.intp)[order], start[order], start[order] + AUCTION_US,
        np.array(prices, dtype=np.int64)[order],
    )  # fmt: skip
