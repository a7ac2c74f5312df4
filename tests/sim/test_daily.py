"""Synthesized daily bars fill the gap from the last real close to yesterday, continuously."""

from __future__ import annotations

from datetime import date

from aegis.domain import krx
from aegis.sources.sim.daily import DailyChain, synthesize_daily_history
from aegis.sources.sim.universe import Universe
from tests.sim.conftest import DAY, run_day, stock_rows


def test_daily_history_chains_from_the_real_close(universe: Universe) -> None:
    bars = synthesize_daily_history(universe, 7, date(2026, 3, 1), date(2026, 5, 29))
    rows = stock_rows(universe)
    samsung = bars["005930"]
    assert samsung[0].day == date(2026, 3, 23)
    assert all(b.day.weekday() < 5 for b in samsung)
    prev = int(universe.anchor_close[rows["005930"]])
    for b in samsung:
        assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
        assert krx.lower_limit(prev) <= b.low and b.high <= krx.upper_limit(prev)
        assert all(krx.on_grid(p) for p in (b.open, b.high, b.low, b.close))
        prev = b.close
    assert bars["KOSPI"][0].open > 0


def test_a_simulated_session_closes_where_the_daily_chain_says(universe: Universe) -> None:
    engine, ticks = run_day(universe, day=DAY)
    chain = DailyChain(universe, 7)
    closes = {t.symbol: t.price for t in ticks if t.ts == engine.close_us}
    rows = stock_rows(universe)
    bars = chain.day(DAY)
    assert all(closes[s] == int(bars.close[k]) for s, k in rows.items())
    assert closes["KOSPI"] == bars.index_close["KOSPI"]
