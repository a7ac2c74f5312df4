"""Synthesized daily bars fill the gap from the last real close to yesterday, continuously."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np

from aegis.domain import krx
from aegis.domain.ticks import Tick
from aegis.sources.sim.daily import DailyChain, synthesize_daily_history
from aegis.sources.sim.session import emit_mask, normal_day
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


def _day_candles(u: Universe, ticks: Iterable[Tick]) -> dict[str, list[int]]:
    """Each stock's [open, high, low, close, volume] of the ticks; the day's candle leaves
    out the off-hours sessions, as KRX's prices do."""
    seen: dict[str, list[int]] = {}
    for t in ticks:
        if t.symbol in u.symbols[: u.n_stocks] and not krx.off_hours(t.ts):
            o = seen.setdefault(t.symbol, [t.price, t.price, t.price, t.price, 0])
            o[1], o[2], o[3] = max(o[1], t.price), min(o[2], t.price), t.price
            o[4] += t.volume
    return seen


def _chain_candles(u: Universe, day: date) -> dict[str, list[int]]:
    bars = DailyChain(u, 7).day(day)
    fields = (bars.open, bars.high, bars.low, bars.close, bars.volume)
    live = {s: k for s, k in stock_rows(u).items() if bars.live[k]}
    assert live and len(live) < u.n_stocks  # the sample holds suspended stocks too
    return {s: [int(x[k]) for x in fields] for s, k in live.items()}


def test_a_played_day_ends_exactly_at_its_daily_chain_candle(universe: Universe) -> None:
    """Open, high, low, close and volume: the trade sizes are steered toward the day's
    volume and the closing auction prints the remainder."""
    engine, ticks = run_day(universe, day=DAY)
    assert _day_candles(universe, ticks) == _chain_candles(universe, DAY)
    closes = {t.symbol: t.price for t in ticks if t.ts == engine.close_us}
    assert closes["KOSPI"] == DailyChain(universe, 7).day(DAY).index_close["KOSPI"]


def test_a_day_caught_up_at_once_then_played_live_ends_at_its_daily_chain_candle(
    universe: Universe,
) -> None:
    """A sim started at 11:00 draws the morning at once (another random stream), then plays
    on chunk by chunk: the day still ends at the chain's candle, volume included."""
    engine = normal_day(
        universe, DailyChain(universe, 7), 7, DAY, 8.0, emit_mask(universe, None), 5_000_000
    )
    eleven = engine.open_us + 2 * 3600 * 1_000_000
    engine.join_at(engine.open_us)
    ticks: list[Tick] = []
    while (cols := engine.catch_up_columns(eleven)) is not None:
        ticks += cols.ticks()
    assert ticks[-1].ts <= eleven
    ticks += [t for batch in engine.advance(2**62) for t in batch]
    assert _day_candles(universe, ticks) == _chain_candles(universe, DAY)


def test_a_thin_day_stops_trading_rather_than_pass_its_volume(universe: Universe) -> None:
    """At a high tick rate thin stocks draw more trades than their day has shares: the
    trades past the day's volume are left out (keeping their sequence numbers), not
    printed at a share each."""
    engine, ticks = run_day(universe, day=DAY, rate=200.0, chunk_us=60_000_000)
    capped = engine._random_done >= engine._random_cap
    assert capped.any()
    assert _day_candles(universe, ticks) == _chain_candles(universe, DAY)
    seqs = [t.seq for t in ticks if engine.open_us < t.ts < engine.cont_end_us]
    assert len(seqs) == len(set(seqs))


def test_suspended_stocks_do_not_trade(universe: Universe) -> None:
    _, ticks = run_day(universe, day=DAY)
    suspended = {universe.symbols[k] for k in np.flatnonzero(universe.suspended)}
    assert suspended
    assert not [t for t in ticks if t.symbol in suspended]


def test_a_day_of_ten_shares_with_a_vi_still_ends_at_its_chain_volume(universe: Universe) -> None:
    """The fewest shares a chain day trades (10), on a stock whose day has static-VI prints
    (each ~10 average trades): the forced prints shrink to fit, a share each at least."""
    from aegis.sources.sim.engine import DayEngine
    from aegis.sources.sim.intraday import build_plan

    chain = DailyChain(universe, 7)
    bars = chain.day(DAY)
    plan = build_plan(universe, 7, bars)
    k = int(plan.vi.rows[0])  # a stock interrupted by a VI that day
    assert bars.live[k]
    bars.volume = bars.volume.copy()
    bars.volume[k] = 10
    plan = build_plan(universe, 7, bars)
    engine = DayEngine(universe, plan, seed=7, rate=8.0, emit=emit_mask(universe, None),
                       chunk_us=60_000_000)  # fmt: skip
    sym = universe.symbols[k]
    ticks = [t for b in engine.advance(2**62) for t in b if t.symbol == sym]
    day = _day_candles(universe, ticks)[sym]
    assert day == [int(x[k]) for x in (bars.open, bars.high, bars.low, bars.close, bars.volume)]
    assert all(t.volume >= 1 for t in ticks)
