"""Synthesized daily bars fill the gap from the last real close to yesterday, continuously."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np
import pytest

from aegis.domain import krx
from aegis.domain.ticks import Tick
from aegis.sources.sim.daily import DailyChain, synthesize_daily_history
from aegis.sources.sim.engine import DayEngine
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


@pytest.mark.parametrize(
    "stopped_at", [(11, 0, 0), (11, 0, 5)], ids=["on-an-index-print", "mid-chunk"]
)
@pytest.mark.parametrize("first_run", ["live", "caught-up"])
def test_a_day_restarted_mid_session_still_ends_at_its_daily_chain_candle(
    universe: Universe, first_run: str, stopped_at: tuple[int, int, int]
) -> None:
    """A sim stops at 11:00 (what it emitted is stored) and restarts at 13:00: the restart
    fills 11:00-13:00 at once, repeats nothing stored, and the day still ends at the chain's
    candle, volume included, though the first run's trades were drawn differently."""
    u, emit = universe, emit_mask(universe, None)

    def engine() -> DayEngine:
        return normal_day(u, DailyChain(u, 7), 7, DAY, 8.0, emit, 5_000_000)

    first = engine()
    midnight = first.open_us - 9 * 3600 * 1_000_000
    h, m, s = stopped_at
    stop = midnight + ((h * 60 + m) * 60 + s) * 1_000_000
    stored: list[Tick] = []
    if first_run == "caught-up":  # a sim started at 10:35 caught up the morning at once
        first.join_at(first.open_us)
        while (cols := first.catch_up_columns(stop - 25 * 60 * 1_000_000)) is not None:
            stored += cols.ticks()
    stored += [t for batch in first.advance(stop) for t in batch]
    # what a restart reads from the store: the newest candle tick, each stock's day volume
    in_candles = [t for t in stored if not krx.off_hours(t.ts)]
    last = max(t.ts for t in in_candles)
    rows = stock_rows(u)
    volume = np.zeros(u.n_stocks, np.int64)
    for t in in_candles:
        if t.symbol in rows:
            volume[rows[t.symbol]] += t.volume

    again = engine()
    again.resume_after(last, volume)
    thirteen = midnight + 13 * 3600 * 1_000_000
    resumed: list[Tick] = []
    while (cols := again.catch_up_columns(thirteen)) is not None:
        resumed += cols.ticks()
    assert resumed and min(t.ts for t in resumed) > last
    assert max(t.ts for t in resumed) <= thirteen
    # the time it was down has trades, minute by minute
    minutes = {(t.ts - midnight) // 60_000_000 for t in resumed if t.symbol == "005930"}
    assert set(range(11 * 60 + 1, 13 * 60)) <= minutes
    resumed += [t for batch in again.advance(2**62) for t in batch]
    keys = [(t.symbol, t.ts, t.seq) for t in stored + resumed]
    assert len(keys) == len(set(keys))
    index_prints = [(t.symbol, t.ts) for t in stored + resumed if t.symbol in ("KOSPI", "KOSDAQ")]
    assert len(index_prints) == len(set(index_prints))
    assert _day_candles(u, stored + resumed) == _chain_candles(u, DAY)


def test_a_restart_without_downtime_prints_what_the_uninterrupted_day_would(
    universe: Universe,
) -> None:
    """Played live to 11:00:05, restarted at once (the evening's demo market keeps its own
    clock): every tick after the last stored one is the uninterrupted day's, sequence number
    and volume included (the index prints' volumes count trades since the restart only)."""
    u, emit = universe, emit_mask(universe, None)

    def engine() -> DayEngine:
        return normal_day(u, DailyChain(u, 7), 7, DAY, 8.0, emit, 5_000_000)

    full = [t for batch in engine().advance(2**62) for t in batch]
    first = engine()
    stop = first.open_us + (2 * 3600 + 5) * 1_000_000
    stored = [t for batch in first.advance(stop) for t in batch]
    last = max(t.ts for t in stored if not krx.off_hours(t.ts))
    rows = stock_rows(u)
    volume = np.zeros(u.n_stocks, np.int64)
    for t in stored:
        if t.symbol in rows and not krx.off_hours(t.ts):
            volume[rows[t.symbol]] += t.volume
    again = engine()
    again.resume_after(last, volume)
    resumed = [t for batch in again.advance(2**62) for t in batch]
    later = [t for t in full if t.ts > last]
    stocks = [t for t in later if t.symbol in rows]
    assert [t for t in resumed if t.symbol in rows] == stocks
    index = [t._replace(volume=0) for t in later if t.symbol not in rows]
    assert [t._replace(volume=0) for t in resumed if t.symbol not in rows] == index
    # nothing stored comes again, the 08:30-08:40 prints neither
    assert {(t.symbol, t.ts, t.seq) for t in stored} & {
        (t.symbol, t.ts, t.seq) for t in resumed
    } == set()
