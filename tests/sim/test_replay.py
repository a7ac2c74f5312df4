"""``--replay DATE``: the ticks of every stock with shipped history on that day reproduce the
recorded daily open, high, low, close and volume exactly; other stocks stay silent (their
simulated prices would be of another day beside the replayed ones)."""

from __future__ import annotations

from datetime import date

import pytest

from aegis.core.errors import InvalidRequest
from aegis.reference.history import bar_on
from aegis.sources.sim.session import emit_mask, replay_day
from aegis.sources.sim.universe import Universe
from tests.sim.conftest import HISTORY


@pytest.mark.parametrize("day", [date(2023, 12, 21), date(2021, 4, 15), date(2018, 5, 4)])
def test_replayed_day_matches_recorded_ohlcv(universe: Universe, day: date) -> None:
    engine = replay_day(universe, 3, day, 4.0, emit_mask(universe, None), chunk_us=30_000_000)
    ticks = [t for b in engine.advance(2**62) for t in b]
    replayed = 0
    for symbol in HISTORY:
        pair = bar_on(symbol, day)
        if pair is None or pair[1].volume == 0:
            continue
        bar = pair[1]
        mine = [t for t in ticks if t.symbol == symbol]
        assert mine[0].ts == engine.open_us and mine[0].price == bar.open
        assert mine[-1].ts == engine.close_us and mine[-1].price == bar.close
        assert max(t.price for t in mine) == bar.high
        assert min(t.price for t in mine) == bar.low
        assert sum(t.volume for t in mine) == bar.volume
        replayed += 1
    assert replayed >= 1
    others = {t.symbol for t in ticks} - set(HISTORY) - {"KOSPI", "KOSDAQ"}
    assert others == set()


def test_replay_of_a_subset_still_matches(universe: Universe) -> None:
    day = date(2023, 12, 21)
    emit = emit_mask(universe, ["005930", "035420"])
    engine = replay_day(universe, 3, day, 4.0, emit, chunk_us=30_000_000)
    ticks = [t for b in engine.advance(2**62) for t in b]
    assert {t.symbol for t in ticks} == {"005930", "035420", "KOSPI", "KOSDAQ"}
    bar = bar_on("005930", day)
    assert bar is not None
    assert sum(t.volume for t in ticks if t.symbol == "005930") == bar[1].volume


def test_replay_of_a_day_without_history_is_refused(universe: Universe) -> None:
    with pytest.raises(InvalidRequest, match="no shipped daily history"):
        replay_day(universe, 3, date(2025, 6, 13), 20.0, emit_mask(universe, None))


def test_unknown_subset_symbol_is_refused(universe: Universe) -> None:
    with pytest.raises(InvalidRequest, match="999999"):
        emit_mask(universe, ["005930", "999999"])
