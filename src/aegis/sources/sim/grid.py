"""The KRX tick grid (``aegis.domain.krx``) on numpy arrays, for millions of prices at once."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from aegis.domain import krx

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

# Band bounds and ticks read from the scalar rules so the two can never disagree.
_BOUNDS = np.array([2_000, 5_000, 20_000, 50_000, 200_000, 500_000], dtype=np.float64)
_TICKS = np.array([krx.tick_size(int(b) - 1) for b in _BOUNDS] + [krx.tick_size(10**9)], float)


def tick_sizes(price: F64) -> F64:
    return _TICKS[np.searchsorted(_BOUNDS, price, side="right")]


def floor_grid(price: F64) -> F64:
    """Largest grid price ≤ price. Band bounds are multiples of both neighbouring ticks, so
    rounding with the tick of the price's own band always lands on the grid."""
    t = tick_sizes(price)
    return np.floor(price / t) * t


def ceil_grid(price: F64) -> F64:
    t = tick_sizes(price)
    return np.ceil(price / t) * t


def nearest_grid(price: F64) -> F64:
    lo, hi = floor_grid(price), ceil_grid(price)
    return np.where(price - lo <= hi - price, lo, hi)


def clip_int(price: F64, lo: I64, hi: I64) -> I64:
    """Grid prices as int won, held inside the daily limits (themselves grid prices)."""
    return np.clip(price.astype(np.int64), lo, hi)


def limits(prev_close: I64) -> tuple[I64, I64]:
    """(lower, upper) ±30 % limits per symbol, by the scalar rules of ``aegis.domain.krx``."""
    lo = np.fromiter((krx.lower_limit(int(p)) for p in prev_close), np.int64, len(prev_close))
    hi = np.fromiter((krx.upper_limit(int(p)) for p in prev_close), np.int64, len(prev_close))
    return lo, hi
