"""Same seed, same ticks; joining a session late yields the trades of a full run."""

from __future__ import annotations

import hashlib
from itertools import pairwise

import numpy as np

from aegis.domain.instruments import Instrument
from aegis.domain.ticks import Tick
from aegis.sources.sim import generate_ticks
from aegis.sources.sim.daily import DailyChain
from aegis.sources.sim.session import emit_mask, normal_day
from aegis.sources.sim.universe import Universe
from tests.sim.conftest import DAY, run_day


def test_same_seed_gives_identical_ticks(market: list[Instrument]) -> None:
    assert generate_ticks(market, 11, 5_000) == generate_ticks(market, 11, 5_000)


def test_different_seed_gives_different_ticks(market: list[Instrument]) -> None:
    a, b = generate_ticks(market, 11, 2_000), generate_ticks(market, 12, 2_000)
    assert [t.price for t in a] != [t.price for t in b]


def test_generate_ticks_gives_n_time_ordered_sim_ticks(market: list[Instrument]) -> None:
    ticks = generate_ticks(market, 3, 20_000)
    assert len(ticks) == 20_000
    assert all(a.ts <= b.ts for a, b in pairwise(ticks))
    assert {t.source for t in ticks} == {"sim"}
    assert {"KOSPI", "KOSDAQ", "005930"} <= {t.symbol for t in ticks}
    assert len({(t.symbol, t.ts, t.seq) for t in ticks}) == len(ticks)


def test_late_join_emits_the_same_trades_as_a_full_run(universe: Universe) -> None:
    """A restart joins the day late: its trades keep the times, prices, sides and sequence
    numbers a run since the open printed, so the replayed ones are recognized downstream. Only
    sizes differ: a late join does not know the morning's volume, so it does not steer toward
    the day's (``DayEngine._steer``), and prints the trades a steered run dropped."""
    full_engine, full = run_day(universe, rate=8.0, chunk_us=30_000_000)
    late_engine = normal_day(
        universe, DailyChain(universe, 7), 7, DAY, 8.0, emit_mask(universe, None), 30_000_000
    )
    join = full_engine.open_us + 3 * 3600 * 1_000_000  # on a chunk and an index boundary
    late_engine.join_at(join)
    assert not late_engine.steering and full_engine.steering
    late = [t for b in late_engine.advance(2**62) for t in b]
    # the opening match first (after the 08:30–08:40 off-hours prints), whatever the join
    opening = [t for t in late if t.ts <= full_engine.open_us]
    assert opening == [t for t in full if t.ts <= full_engine.open_us]
    rest = late[len(opening) :]
    assert rest[0].ts > join

    def trade(t: Tick) -> tuple[str, int, int, int, int]:
        return t.symbol, t.ts, t.price, t.side, t.seq

    full_rest = [trade(t) for t in full if t.ts > join]
    kept = set(full_rest)
    assert [trade(t) for t in rest if trade(t) in kept] == full_rest
    extra = [t for t in rest if trade(t) not in kept]
    # what the steered run left out: continuous trades of stocks whose day ran out of shares
    capped = full_engine._random_done >= full_engine._random_cap
    assert all(t.side != 0 and capped[universe.symbols.index(t.symbol)] for t in extra)
    assert len(extra) < 0.02 * len(rest)


def test_a_whole_day_as_columns_is_the_day_it_always_was(universe: Universe) -> None:
    """Pinned: a change meant to make generation or storage faster must not change a single
    tick (the digest of the session as ``catch_up_columns`` hands it to a bulk sink)."""
    engine = normal_day(universe, DailyChain(universe, 7), 7, DAY, 8.0, emit_mask(universe, None))
    engine.join_at(engine.open_us)
    digest = hashlib.sha256()
    n = 0
    while (c := engine.catch_up_columns(2**62)) is not None:
        n += len(c)
        for col in (c.code, c.ts, c.price, c.volume, c.side, c.seq):
            digest.update(np.ascontiguousarray(col, dtype=np.int64).tobytes())
    assert n == 206_080
    assert digest.hexdigest() == "5a92fe2acc7e8133623356674b42df4cec1f44f32f0e70646834b4fbe2d13da0"


def test_a_previous_session_folds_to_the_candles_it_always_did(universe: Universe) -> None:
    """Pinned: the candles of a previous session at full resolution (``history``), every
    interval and field, whatever order or form (objects or columns) they are handed in."""
    from dataclasses import astuple
    from datetime import timedelta

    from aegis.sources.sim.history import session_candles

    day = DAY - timedelta(days=1)
    candles = session_candles(
        universe, DailyChain(universe, 7), 7, day, 8.0, emit_mask(universe, None)
    )
    rows = sorted(astuple(c) for c in candles)
    assert len(rows) == 30_546
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()
    assert digest == "42a2edd337f3dc878ec69c74f1cee19a1d57cbfe950890cc07e4e94194561e00"


async def test_a_previous_session_made_in_a_child_process_is_the_same(universe: Universe) -> None:
    """The simulator makes previous sessions in a child process (its own universe and chain,
    sent once): the candles are exactly those made in this process, from the same anchors (a
    stock's later real close, volume level and volatility included)."""
    from dataclasses import astuple
    from datetime import date, timedelta

    from aegis.sources.sim.daily import Anchors, RealAnchor
    from aegis.sources.sim.history import SessionMaker, session_candles

    day, emit = DAY - timedelta(days=1), emit_mask(universe, None)
    k = universe.symbols.index("000660")
    level, vol = 3.0 * float(universe.base_volume[k]), 3.0 * float(universe.total_vol()[k])
    real = RealAnchor(date(2026, 7, 24), 1_000_000, level, vol)
    anchors = Anchors.latest(universe, {"000660": real})
    maker = SessionMaker(universe, 7, anchors, emit)
    try:
        child = await maker.make(day, 8.0)
        assert maker._pool is not None  # made in the child, not in the thread fallback
    finally:
        maker.close()
    here = session_candles(universe, DailyChain(universe, 7, anchors), 7, day, 8.0, emit)
    assert len(child) == len(here) > 0
    assert [astuple(c) for c in child] == [astuple(c) for c in here]
