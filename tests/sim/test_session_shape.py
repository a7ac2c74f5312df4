"""The shape of a simulated session: one auction print per stock at 09:00 and 15:30 with
larger volume, silence during the closing call, U-shaped intraday volume."""

from __future__ import annotations

from collections import defaultdict

from aegis.domain.ticks import Tick
from aegis.sources.sim.engine import DayEngine
from aegis.sources.sim.universe import Universe

Day = tuple[DayEngine, list[Tick]]


def test_one_opening_and_one_closing_auction_print_per_trading_stock(
    universe: Universe, full_day: Day
) -> None:
    engine, ticks = full_day
    stocks = {s for k, s in enumerate(universe.symbols[: universe.n_stocks]) if engine.plan.live[k]}
    opening = [t for t in ticks if t.ts == engine.open_us and t.symbol in stocks]
    closing = [t for t in ticks if t.ts == engine.close_us and t.symbol in stocks]
    assert sorted(t.symbol for t in opening) == sorted(stocks)
    assert sorted(t.symbol for t in closing) == sorted(stocks)
    rows = {s: k for k, s in enumerate(universe.symbols)}
    assert all(t.price == engine.plan.open[rows[t.symbol]] for t in opening)
    assert all(t.price == engine.plan.close[rows[t.symbol]] for t in closing)


def test_no_trades_during_the_closing_call(full_day: Day) -> None:
    engine, ticks = full_day
    assert not [t for t in ticks if engine.cont_end_us < t.ts < engine.close_us]
    assert [t for t in ticks if t.ts == engine.close_us]


def test_auction_prints_are_larger_than_continuous_trades(
    universe: Universe, full_day: Day
) -> None:
    engine, ticks = full_day
    cont: dict[str, list[int]] = defaultdict(list)
    for t in ticks:
        if engine.open_us < t.ts <= engine.cont_end_us:
            cont[t.symbol].append(t.volume)
    for t in ticks:
        if t.ts in (engine.open_us, engine.close_us) and cont.get(t.symbol):
            mean = sum(cont[t.symbol]) / len(cont[t.symbol])
            if t.symbol in universe.symbols[: universe.n_stocks] and len(cont[t.symbol]) > 50:
                assert t.volume > mean, t


def test_intraday_volume_is_u_shaped(full_day: Day) -> None:
    engine, ticks = full_day
    minute = 60_000_000
    per_min: dict[int, int] = defaultdict(int)
    for t in ticks:
        if engine.open_us < t.ts <= engine.cont_end_us and t.symbol not in ("KOSPI", "KOSDAQ"):
            per_min[(t.ts - engine.open_us - 1) // minute] += t.volume

    def mean(a: int, b: int) -> float:
        return sum(per_min[m] for m in range(a, b)) / (b - a)

    first, lunch, last = mean(0, 30), mean(180, 240), mean(350, 380)
    assert first > 1.5 * lunch
    assert last > 1.3 * lunch


def test_tick_rate_is_the_mean_number_of_trades_per_simulated_second(
    universe: Universe, full_day: Day
) -> None:
    """``AEGIS_SIM_TICK_RATE`` (8 here): continuous-session trades over the whole emitted
    market per second of session time, on average over 09:00–15:20 (the U-shape moves the
    instantaneous rate around it); auction prints and index ticks come on top."""
    engine, ticks = full_day
    stocks = set(universe.symbols[: universe.n_stocks])
    trades = sum(
        1 for t in ticks if t.symbol in stocks and engine.open_us < t.ts < engine.cont_end_us
    )
    seconds = (engine.cont_end_us - engine.open_us) / 1e6
    assert abs(trades / seconds - 8.0) < 0.08  # ± 1 %: Poisson noise is 0.2 % here
