"""Synthesized daily bars fill the gap from the last real close to yesterday, continuously."""

from __future__ import annotations

from datetime import date

import numpy as np

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


def test_a_played_day_opens_closes_and_peaks_exactly_at_its_daily_chain_candle(
    universe: Universe,
) -> None:
    engine, ticks = run_day(universe, day=DAY)
    bars = DailyChain(universe, 7).day(DAY)
    seen: dict[str, list[int]] = {}
    for t in ticks:  # the day's candle leaves out the off-hours sessions, as KRX's prices do
        if t.symbol in universe.symbols[: universe.n_stocks] and not krx.off_hours(t.ts):
            o = seen.setdefault(t.symbol, [t.price, t.price, t.price, t.price, 0])
            o[1], o[2], o[3] = max(o[1], t.price), min(o[2], t.price), t.price
            o[4] += t.volume
    live = {s: k for s, k in stock_rows(universe).items() if bars.live[k]}
    assert live and len(live) < universe.n_stocks  # the sample holds suspended stocks too
    for s, k in live.items():
        expected = [int(x[k]) for x in (bars.open, bars.high, bars.low, bars.close)]
        assert seen[s][:4] == expected, s
    closes = {t.symbol: t.price for t in ticks if t.ts == engine.close_us}
    assert closes["KOSPI"] == bars.index_close["KOSPI"]


def test_suspended_stocks_do_not_trade(universe: Universe) -> None:
    _, ticks = run_day(universe, day=DAY)
    suspended = {universe.symbols[k] for k in np.flatnonzero(universe.suspended)}
    assert suspended
    assert not [t for t in ticks if t.symbol in suspended]
