"""KOSPI and KOSDAQ follow their constituents by market cap; returns are correlated within
industries and with the market, and heavy-tailed."""

from __future__ import annotations

from datetime import date

import numpy as np

from aegis.domain import krx
from aegis.domain.ticks import Tick
from aegis.sources.sim.calendar import trading_days_between
from aegis.sources.sim.daily import DailyChain
from aegis.sources.sim.engine import DayEngine
from aegis.sources.sim.universe import Universe, factor_shocks
from tests.sim.conftest import stock_rows

Day = tuple[DayEngine, list[Tick]]


def _cap_index(u: Universe, symbol: str, prices: dict[str, int], engine: DayEngine) -> int:
    """Recomputed from scratch: base value × Σ shares·price / Σ shares·base price."""
    ix = next(i for i in u.indices if i.symbol == symbol)
    base = engine.index_base[symbol]
    # a suspended stock has no print: it counts at its previous close
    at = {u.symbols[k]: int(engine.plan.prev[k]) for k in ix.members} | prices
    cap = sum(int(u.shares[k]) * at[u.symbols[k]] for k in ix.members)
    base_cap = sum(int(u.shares[k]) * int(base.prices[k]) for k in ix.members)
    return (2 * cap * base.value + base_cap) // (2 * base_cap)


def test_index_open_and_close_equal_cap_weighted_constituent_prints(
    universe: Universe, full_day: Day
) -> None:
    engine, ticks = full_day
    for at in (engine.open_us, engine.close_us):
        prints = {t.symbol: t.price for t in ticks if t.ts == at}
        for symbol in ("KOSPI", "KOSDAQ"):
            assert prints[symbol] == _cap_index(universe, symbol, prints, engine)


def test_index_volume_is_the_sum_of_constituent_volume(universe: Universe, full_day: Day) -> None:
    _, ticks = full_day
    kospi = {universe.symbols[k] for k in universe.indices[0].members}
    # the index counts the regular session: off-hours trades are in no index tick
    member_volume = sum(t.volume for t in ticks if t.symbol in kospi and not krx.off_hours(t.ts))
    assert sum(t.volume for t in ticks if t.symbol == "KOSPI") == member_volume


def test_intraday_index_ticks_follow_constituent_prices(universe: Universe, full_day: Day) -> None:
    engine, ticks = full_day
    checked = 0
    for t in ticks[:: max(1, len(ticks) // 200)]:
        if t.symbol in ("KOSPI", "KOSDAQ") and engine.open_us < t.ts < engine.close_us:
            ref = engine.reference_prices(t.ts)
            prices = {universe.symbols[k]: int(ref[k]) for k in range(universe.n_stocks)}
            assert t.price == _cap_index(universe, t.symbol, prices, engine)
            checked += 1
    assert checked > 0


def test_first_index_prev_close_is_the_real_close(universe: Universe) -> None:
    chain = DailyChain(universe, 7)
    bars = chain.day(date(2026, 3, 23))
    assert bars.index_prev == {"KOSPI": 578120, "KOSDAQ": 116152}


def test_daily_returns_correlate_within_industry_and_with_market(universe: Universe) -> None:
    chain = DailyChain(universe, 5)
    days = trading_days_between(date(2026, 3, 23), date(2026, 10, 30))
    closes = np.array([chain.day(d).close for d in days], dtype=float)
    prev = np.vstack([universe.anchor_close[None, :], closes[:-1]])
    r = np.log(closes / prev)[:, ~universe.suspended]
    corr = np.corrcoef(r.T)
    ind = universe.industry[~universe.suspended]
    same: list[float] = []
    other: list[float] = []
    n = len(ind)
    for i in range(n):
        for j in range(i + 1, n):
            (same if ind[i] == ind[j] else other).append(corr[i, j])
    assert np.mean(other) > 0.05  # the market factor (jumps and idiosyncratic news dilute it)
    assert np.mean(same) > np.mean(other) + 0.03  # the industry factor


def test_return_shocks_are_heavy_tailed(universe: Universe) -> None:
    x = factor_shocks(np.random.default_rng(1), universe, 400).ravel()
    z = (x - x.mean()) / x.std()
    assert np.mean(z**4) > 3.5  # a normal gives 3


def test_a_preferred_share_moves_with_its_common_stock(universe: Universe) -> None:
    rows = stock_rows(universe)
    assert universe.industry[rows["00104K"]] == universe.industry[rows["001040"]]
