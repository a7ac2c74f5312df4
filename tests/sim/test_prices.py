"""Every simulated stock price sits on the KRX tick grid and inside ±30 % of the previous close;
the vectorized grid agrees with the scalar rules in ``aegis.domain.krx``."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aegis.domain import krx
from aegis.sources.sim.calendar import is_trading_day, prev_trading_day
from aegis.sources.sim.grid import ceil_grid, floor_grid, limits, nearest_grid
from aegis.sources.sim.universe import Universe
from tests.sim.conftest import run_day, stock_rows


@given(st.integers(min_value=2, max_value=3_000_000))
def test_vectorized_grid_matches_scalar_rules(price: int) -> None:
    p = np.array([price - 0.5, float(price)])
    assert floor_grid(p)[1] == krx.round_down(price)
    assert ceil_grid(p)[1] == krx.round_up(price)
    assert krx.on_grid(int(floor_grid(p)[0]))
    assert krx.on_grid(int(ceil_grid(p)[0]))
    assert krx.on_grid(int(nearest_grid(p)[0]))


def test_vectorized_limits_match_scalar_rules() -> None:
    # every price up to 60,000 (all band edges of the limits' inputs and outputs), the bands
    # above around their edges, and prices a plain rule would get wrong (≤ 0, huge)
    bounds = [b for band, _ in krx.TICK_BANDS for b in (band, band * 100 // 130, band * 100 // 70)]
    edges = [b + d for b in bounds for d in range(-300, 301)]
    prices = np.array([*range(-5, 60_000), *edges, 10**9 + 7, 2**61, -(2**61)], dtype=np.int64)
    lo, hi = limits(prices)
    assert lo.tolist() == [krx.lower_limit(int(p)) for p in prices]
    assert hi.tolist() == [krx.upper_limit(int(p)) for p in prices]


@given(st.lists(st.integers(min_value=-(2**40), max_value=2**40), max_size=50))
def test_vectorized_limits_match_scalar_rules_anywhere(prices: list[int]) -> None:
    lo, hi = limits(np.array(prices, dtype=np.int64))
    assert lo.tolist() == [krx.lower_limit(p) for p in prices]
    assert hi.tolist() == [krx.upper_limit(p) for p in prices]


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31), offset=st.integers(0, 120))
def test_every_stock_tick_on_grid_within_daily_limits(
    universe: Universe, seed: int, offset: int
) -> None:
    day = date(2026, 3, 23) + timedelta(days=offset)
    if not is_trading_day(day):
        day = prev_trading_day(day)
    engine, ticks = run_day(universe, seed=seed, day=day, rate=2.0, chunk_us=60_000_000)
    rows = stock_rows(universe)
    assert ticks
    for t in ticks:
        if t.symbol in rows:
            prev = int(engine.plan.prev[rows[t.symbol]])
            assert krx.on_grid(t.price), t
            assert krx.lower_limit(prev) <= t.price <= krx.upper_limit(prev), t
