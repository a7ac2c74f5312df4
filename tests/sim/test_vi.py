"""Static VI: a move of ±10 % from the reference price halts continuous trading of that stock
for a 2-minute single-price auction, then one auction print becomes the new reference."""

from __future__ import annotations

import numpy as np

from aegis.domain import krx
from aegis.domain.ticks import Tick
from aegis.sources.sim.calendar import US_PER_MIN
from aegis.sources.sim.engine import DayEngine
from aegis.sources.sim.universe import Universe
from aegis.sources.sim.vi import AUCTION_US, DYNAMIC, STATIC, dynamic_bands, find_static_vi, find_vi
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


def _halted_then_one_print(universe: Universe, kind: int) -> None:
    """On the first simulated day with a VI of ``kind`` (fixed seeds): no trade of the stock
    inside the auction, one auction print at its end, on the grid and inside the limits."""
    for seed in range(7, 60):
        engine, ticks = run_day(universe, seed=seed, rate=8.0)
        vi = engine.plan.vi
        usable = [j for j in range(len(vi.rows))
                  if vi.kind[j] == kind and engine.emit[vi.rows[j]]
                  and vi.end_us[j] < engine.cont_end_us]  # fmt: skip
        if usable:
            break
    assert usable, f"no VI of kind {kind} in 53 simulated days of 100 stocks"
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


def test_no_continuous_trade_inside_a_static_vi_auction_and_one_print_after_it(
    universe: Universe,
) -> None:
    _halted_then_one_print(universe, STATIC)


def test_a_sweep_beyond_the_dynamic_band_within_a_minute_starts_a_dynamic_vi() -> None:
    minutes = 30
    path = np.full((minutes + 1, 3), np.log(10_000.0))
    path[10:, :2] = np.log(10_450.0)  # +4.5 % within minute 10: beyond 3 %, inside 6 %
    path[:, 2] = np.log(10_000.0) + np.log(1.01) * np.minimum(np.arange(minutes + 1), 12)
    p = np.array([10_000] * 3, np.int64)
    bands = np.array([0.03, 0.06, 0.03])  # stock 2 climbs +12.7 % by 1 % a minute
    ev = find_vi(path, p, p - 3_000, p + 3_000, 0, minutes, bands)
    kinds = dict(zip(ev.rows.tolist(), ev.kind.tolist(), strict=True))
    assert kinds == {0: DYNAMIC, 2: STATIC}  # a slow climb is no sweep: static at +10 %
    j = ev.rows.tolist().index(0)
    assert 9 * US_PER_MIN <= ev.start_us[j] < 10 * US_PER_MIN
    assert ev.end_us[j] - ev.start_us[j] == AUCTION_US
    assert ev.price[j] == 10_450
    assert find_vi(path, p, p - 3_000, p + 3_000, 0, minutes, None).rows.tolist() == [2]


def test_kospi200_members_have_the_narrow_dynamic_band() -> None:
    market = np.array([0, 0, 0, 1], np.intp)
    cap = np.array([1.0, 3.0, 2.0, 9.0])
    with_one_member = dynamic_bands(market, cap)
    assert with_one_member.tolist()[3] == 0.06  # KOSDAQ: never a KOSPI 200 member
    assert all(b == 0.03 for b in with_one_member[:3])  # fewer than 200 KOSPI stocks: all


def test_no_continuous_trade_inside_a_dynamic_vi_and_one_print_after_it(
    universe: Universe,
) -> None:
    _halted_then_one_print(universe, DYNAMIC)
