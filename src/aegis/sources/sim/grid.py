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
    # ``floor_grid`` and ``ceil_grid`` with the tick looked up once (the same tick each)
    t = tick_sizes(price)
    q = price / t
    lo, hi = np.floor(q) * t, np.ceil(q) * t
    return np.where(price - lo <= hi - price, lo, hi)


def clip_int(price: F64, lo: I64, hi: I64) -> I64:
    """Grid prices as int won, held inside the daily limits (themselves grid prices)."""
    return np.clip(price.astype(np.int64), lo, hi)


_INT_BOUNDS = np.array([b for b, _ in krx.TICK_BANDS], dtype=np.int64)
_INT_TICKS = np.array([t for _, t in krx.TICK_BANDS] + [krx.TOP_TICK], dtype=np.int64)
_LIMIT_SAFE = 2**62 // 200  # base × 130 (and × 70) stays far inside int64


def _int_ticks(price: I64) -> I64:
    """``krx.tick_size`` of each price (bounds exclusive, as there)."""
    out: I64 = _INT_TICKS[np.searchsorted(_INT_BOUNDS, price, side="right")]
    return out


def _round_down(price: I64) -> I64:
    """``krx.round_down`` of each price (exact integers)."""
    out: I64 = np.where(price < 1, 1, price - price % _int_ticks(price))
    return out


def _round_up(price: I64) -> I64:
    """``krx.round_up`` of each price: the next grid price above the one below, when the
    price is off the grid (it may cross into a new band)."""
    down = _round_down(price)
    up = np.where(down == price, price, down + _int_ticks(down))
    out: I64 = np.where(price < 1, 1, up)
    return out


def limits(prev_close: I64) -> tuple[I64, I64]:
    """(lower, upper) ±30 % limits per symbol: ``krx.lower_limit``/``krx.upper_limit`` with
    integer numpy (exact; a whole market's chain of days took seconds with a Python call per
    symbol and day). Python floor division and numpy's agree on every sign."""
    base = np.asarray(prev_close, dtype=np.int64)
    if len(base) and int(np.abs(base).max()) > _LIMIT_SAFE:  # never on KRX: the scalar rules
        lo = np.fromiter((krx.lower_limit(int(p)) for p in base), np.int64, len(base))
        hi = np.fromiter((krx.upper_limit(int(p)) for p in base), np.int64, len(base))
        return lo, hi
    pct = krx.LIMIT_RATE_PCT
    hi = _round_down(base * (100 + pct) // 100)
    lo = _round_up(-(-base * (100 - pct) // 100))
    return lo, hi
