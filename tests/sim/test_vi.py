"""Static VI: a move of ±10 % from the reference price halts continuous trading of that stock
for a 2-minute single-price auction, then one auction print becomes the new reference."""

from __future__ import annotations

import numpy as np

from aegis.domain import krx
from aegis.domain.ticks import Tick
from aegis.sources.sim.calendar import US_PER_MIN
from aegis.sources.sim.engine import DayEngine
from aegis.sources.sim.universe import Universe
from aegis.sources.sim.vi import AUCTION_US, find_static_vi
from tests.sim.conftest import run_day, stock_rows

Day = tuple[DayEngine, list[Tick]]


def test_a_ten_percent_move_starts_a_two_minute_auction() -> None:
    minutes = 30
    path = np.full((minutes + 1, 2), np.log(10_000.0))
    path[10:, 0] = np.log(11_500.0)  # stock 0 jumps +15 % in minute 10; stock 1 stays
    p = np.array([10_000, 10_000], np.int64)
    ev = find_static_vi(path, p, p - 3_000, p + 3_000, 0, minutes)
    assert ev.rows.tolist() == [0]
    assert 9 * US_PER_MIN <= ev.start_us[0] < 10 * US_PER_MIN
    assert ev.end_us[0] - ev.start_us[0] == AUCTION_US
    assert ev.price.tolist() == [11_500]  # the new reference: no second interruption
    inside = ev.halted(np.array([0, 1, 0]), np.array([ev.start_us[0] + 1] * 2 + [ev.end_us[0]]))
    assert inside.tolist() == [True, False, False]


def test_no_continuous_trade_inside_a_vi_auction_and_one_print_after_it(
    universe: Universe,
) -> None:
    for seed in range(7, 40):
        engine, ticks = run_day(universe, seed=seed, rate=8.0)
        vi = engine.plan.vi
        usable = [j for j in range(len(vi.rows))
                  if engine.emit[vi.rows[j]] and vi.end_us[j] < engine.cont_end_us]  # fmt: skip
        if usable:
            break
    assert usable, "no static VI in 33 simulated days of 100 stocks"
    rows = stock_rows(universe)
    for j in usable:
        sym = universe.symbols[vi.rows[j]]
        mine = [t for t in ticks if t.symbol == sym]
        assert not [t for t in mine if vi.start_us[j] <= t.ts < vi.end_us[j]]
        prints = [t for t in mine if t.ts == vi.end_us[j] and t.side == 0]
        assert len(prints) == 1 and prints[0].price == vi.price[j]
        prev = int(engine.plan.prev[rows[sym]])
        assert krx.on_grid(prints[0].price)
        assert krx.lower_limit(prev) <= prints[0].price <= krx.upper_limit(prev)
