"""``SimSource`` as the ingest service runs it: batches to a sink, status, the session clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest

from aegis.core.config import Settings
from aegis.core.errors import InvalidRequest
from aegis.core.timeutil import KST, to_us
from aegis.domain.candles import Candle
from aegis.domain.instruments import Instrument
from aegis.domain.tick_arrays import TickArrays
from aegis.domain.ticks import Tick
from aegis.sources.base import OrderBook, SourceState
from aegis.sources.sim import SimSource
from tests.sim.conftest import small_market


class CollectingSink:
    def __init__(self, want: int) -> None:
        self.batches: list[list[Tick]] = []
        self.enough = asyncio.Event()
        self.want = want

    async def ticks(self, batch: Sequence[Tick]) -> None:
        self.batches.append(list(batch))
        if sum(map(len, self.batches)) >= self.want:
            self.enough.set()

    async def book(self, book: OrderBook) -> None:
        raise AssertionError("the simulator sends no order books")


class SteppingClock:
    """A wall clock that starts on a Sunday morning (KST) and moves 2 s per reading."""

    def __init__(self) -> None:
        self.now = to_us(datetime(2026, 11, 22, 10, 0, tzinfo=KST))

    def __call__(self) -> int:
        self.now += 2_000_000
        return self.now


def state(source: SimSource) -> SourceState:
    """The state now: read through a call, as mypy would keep an earlier check's narrowing of
    ``source.status.state`` past the awaits that change it."""
    return source.status.state


async def test_sim_source_streams_a_subset_with_indices() -> None:
    market = small_market()  # its own copy: the source moves prev_close to the day it plays
    clock = SteppingClock()
    settings = Settings(sim_symbols="005930,000660", sim_speed=1.0, sim_tick_rate=50.0)
    source = SimSource(settings, market, wall_clock=clock)
    sink = CollectingSink(want=300)
    task = asyncio.create_task(source.run(sink))
    await asyncio.wait_for(sink.enough.wait(), timeout=30)
    assert source.status.state is SourceState.LIVE
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    ticks = [t for b in sink.batches for t in b]
    assert {t.symbol for t in ticks} == {"005930", "000660", "KOSPI", "KOSDAQ"}
    assert all(a.ts <= b.ts for a, b in pairwise(ticks))
    assert max(t.ts for t in ticks) <= clock.now
    assert source.status.subscriptions == 4
    assert source.status.simulated and source.status.name == "sim"
    assert source.status.last_message_us is not None
    details = source.status.details
    assert details["sessionDay"] == "2026-11-20"  # Sunday → Friday's session
    assert str(details["sessionTime"]).startswith("2026-11-20T09:")
    assert details["speed"] == 1.0
    samsung = next(i for i in market if i.symbol == "005930")
    assert samsung.prev_close == source.prev_closes()["005930"]  # the day played, not March
    assert state(source) is SourceState.STOPPED


def test_bad_settings_are_refused(market: list[Instrument]) -> None:
    with pytest.raises(InvalidRequest):
        SimSource(Settings(sim_replay="yesterday"), market)
    with pytest.raises(InvalidRequest):
        SimSource(Settings(sim_speed=0), market)


def test_a_second_source_on_moved_prev_closes_plays_the_same_market() -> None:
    market = small_market()
    first = SimSource(Settings(), market)
    moved = small_market()
    for inst in moved:
        if inst.prev_close:
            inst.prev_close += inst.prev_close // 10
    second = SimSource(Settings(), moved)
    assert (first.universe.anchor_close == second.universe.anchor_close).all()
    assert [ix.anchor_close for ix in first.universe.indices] == [
        ix.anchor_close for ix in second.universe.indices
    ]


async def test_a_caught_up_source_waits_between_clock_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once the session is emitted up to the clock, the loop sleeps until the running chunk
    is over instead of spinning (it once kept a core busy in every idle ``aegis serve``)."""
    from aegis.sources.sim import source as module

    delays: list[float] = []

    class RecordingAsyncio:
        def __getattr__(self, name: str) -> object:
            return getattr(asyncio, name)

        async def sleep(self, delay: float) -> None:
            delays.append(delay)
            await asyncio.sleep(delay)

    monkeypatch.setattr(module, "asyncio", RecordingAsyncio())
    # a wall clock running at real speed from a Tuesday mid-session
    base, t0 = to_us(datetime(2026, 11, 24, 10, 0, 30, tzinfo=KST)), time.monotonic_ns()
    source = SimSource(
        Settings(sim_symbols="005930", sim_tick_rate=50.0),
        small_market(),
        wall_clock=lambda: base + (time.monotonic_ns() - t0) // 1_000,
    )
    task = asyncio.create_task(source.run(CollectingSink(want=1)))
    await asyncio.wait_for(source.caught_up.wait(), timeout=60)
    seen = len(delays)
    while len(delays) < seen + 20:  # noqa: ASYNC110  # the loop's own sleeps are what is counted
        await asyncio.sleep(module.LOOP_SECONDS)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert delays[seen : seen + 20] == [module.LOOP_SECONDS] * 20


async def test_restart_resumes_after_the_last_stored_tick() -> None:
    # Sunday: the sim plays Friday 2026-11-20 from 09:00, unless the store already holds
    # Friday up to 13:00, in which case it continues from there
    resume = to_us(datetime(2026, 11, 20, 13, 0, tzinfo=KST))
    source = SimSource(
        Settings(sim_symbols="005930", sim_tick_rate=50.0),
        small_market(),
        wall_clock=SteppingClock(),
    )
    source.resume_from(resume)
    sink = CollectingSink(want=200)
    task = asyncio.create_task(source.run(sink))
    await asyncio.wait_for(sink.enough.wait(), timeout=30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    opening = to_us(datetime(2026, 11, 20, 9, 0, tzinfo=KST))
    continuous = [t for b in sink.batches for t in b if t.ts > opening]
    assert continuous
    assert min(t.ts for t in continuous) >= resume - 1_000_000


async def test_a_sim_started_mid_session_emits_the_day_from_its_open_at_once() -> None:
    """Started at 10:35 KST on a trading day: the charts get 09:00 … 10:35 straight away (no
    empty morning), and no tick is stamped after the wall clock."""

    class MidMorning:
        def __init__(self) -> None:
            self.now = to_us(datetime(2026, 11, 20, 10, 35, tzinfo=KST))

        def __call__(self) -> int:
            self.now += 1_000  # a millisecond per reading: the catch-up is what fills the morning
            return self.now

    clock = MidMorning()
    settings = Settings(sim_symbols="005930", sim_speed=1.0, sim_tick_rate=5.0)
    source = SimSource(settings, small_market(), wall_clock=clock)
    sink = CollectingSink(want=10**9)
    task = asyncio.create_task(source.run(sink))
    deadline = asyncio.get_running_loop().time() + 300  # generous: a busy 2-core machine
    start = to_us(datetime(2026, 11, 20, 10, 30, tzinfo=KST))
    while asyncio.get_running_loop().time() < deadline:
        if any(t.ts >= start and t.symbol == "005930" for b in sink.batches for t in b):
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    ticks = [t for b in sink.batches for t in b if t.symbol == "005930"]
    assert ticks[0].ts == to_us(datetime(2026, 11, 20, 9, 0, tzinfo=KST))
    assert max(t.ts for t in ticks) >= start
    assert max(t.ts for t in ticks) <= clock.now


class BulkCollectingSink(CollectingSink):
    """A sink that also stores history in bulk (as the ingest service does)."""

    def __init__(self) -> None:
        super().__init__(want=10**9)
        self.bulks: list[list[Tick]] = []
        self.candles: list[object] = []

    async def bulk(self, batch: Sequence[Tick]) -> None:
        self.bulks.append(list(batch))

    async def bulk_columns(self, batch: TickArrays) -> None:
        self.bulks.append(batch.ticks())

    async def history_candles(self, candles: Sequence[object]) -> None:
        self.candles.extend(candles)


async def test_a_bulk_sink_gets_the_morning_in_large_batches_with_the_same_ticks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Started at 10:35 on a trading day, the day so far reaches a bulk sink as a few large
    batches (stored at once), the very ticks a plain sink gets span by span; then live."""
    from aegis.sources.sim import source as source_module

    monkeypatch.setattr(source_module, "BULK_TICKS", 2_000)  # several batches at this size
    wall = to_us(datetime(2026, 11, 20, 10, 35, tzinfo=KST))
    settings = Settings(sim_speed=1.0, sim_tick_rate=20.0)

    async def catch_up(sink: CollectingSink) -> SimSource:
        source = SimSource(settings, small_market(), wall_clock=lambda: wall)
        task = asyncio.create_task(source.run(sink))
        await asyncio.wait_for(source.caught_up.wait(), timeout=300)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return source

    bulk = BulkCollectingSink()
    await catch_up(bulk)
    plain = CollectingSink(want=10**9)
    await catch_up(plain)
    assert len(bulk.bulks) >= 3
    assert all(len(b) >= 2_000 for b in bulk.bulks[:-1])
    assert [t for b in bulk.bulks for t in b] == [t for b in plain.batches for t in b]
    assert not bulk.batches  # nothing of the morning went tick batch by tick batch


async def test_previous_sessions_come_at_full_resolution_matching_their_daily_candles() -> None:
    """Asked to fill two previous sessions, the sim hands a bulk sink every stored interval's
    candles of each, newest first; each stock's 1-minute candles of a day aggregate to that
    day's 1d candle, whose open/high/low/close/volume are the daily chain's (the seeded daily
    bar)."""
    from datetime import date

    from aegis.sources.sim.daily import synthesize_daily_history
    from aegis.sources.sim.universe import Universe

    market = small_market()
    days = [date(2026, 11, 18), date(2026, 11, 19)]
    wall = to_us(datetime(2026, 11, 20, 9, 5, tzinfo=KST))
    source = SimSource(Settings(sim_tick_rate=20.0), market, wall_clock=lambda: wall)
    source.fill_sessions(days)
    sink = BulkCollectingSink()
    task = asyncio.create_task(source.run(sink))
    # generous: a busy 2-core machine
    await asyncio.wait_for(source.history_filled.wait(), timeout=300)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert source.history_done == days[::-1]
    candles = [c for c in sink.candles if isinstance(c, Candle)]
    assert {c.source for c in candles} == {"sim"}
    daily = synthesize_daily_history(Universe.build(market, 42), 42, days[0], days[-1])
    for day in days:
        bars = {sym: b for sym, rows in daily.items() for b in rows if b.day == day}
        start = to_us(datetime(day.year, day.month, day.day, tzinfo=KST))
        ones = [c for c in candles if c.interval == "1d" and c.start == start]
        stocks = [c for c in ones if c.symbol not in ("KOSPI", "KOSDAQ")]
        assert len(stocks) > 50
        for d in ones:
            mins = sorted(
                (c for c in candles
                 if c.symbol == d.symbol and c.interval == "1m" and start <= c.start < start
                 + 86_400_000_000),
                key=lambda c: c.start,
            )  # fmt: skip
            assert mins[0].open == d.open and mins[-1].close == d.close
            assert max(c.high for c in mins) == d.high and min(c.low for c in mins) == d.low
            assert sum(c.volume for c in mins) == d.volume
            if d.symbol in bars and d.symbol not in ("KOSPI", "KOSDAQ"):
                b = bars[d.symbol]
                assert (d.open, d.high, d.low, d.close, d.volume) == (
                    b.open, b.high, b.low, b.close, b.volume,
                )  # fmt: skip


def test_previous_sessions_setting_is_bounded() -> None:
    from pydantic import ValidationError

    assert Settings().sim_history_sessions == 5
    assert Settings(sim_history_sessions=0).sim_history_sessions == 0  # daily candles only
    for bad in (-1, 21):
        with pytest.raises(ValidationError):
            Settings(sim_history_sessions=bad)


async def test_staged_sessions_are_copied_while_the_morning_is_made_never_while_it_is_stored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The store's one writer: a staged previous session may be copied in while today's morning
    is still being generated (the writer is idle then), but from the morning's first batch on
    it waits until the whole morning is stored."""
    from datetime import date

    from aegis.sources.sim import source as source_module
    from aegis.sources.sim.history import Staging

    monkeypatch.setattr(source_module, "BULK_TICKS", 2_000)  # several batches at this size
    wall = to_us(datetime(2026, 11, 20, 10, 35, tzinfo=KST))
    source = SimSource(Settings(sim_tick_rate=20.0), small_market(), wall_clock=lambda: wall)
    events: list[str] = []

    class Sink(BulkCollectingSink):
        async def bulk_columns(self, batch: TickArrays) -> None:
            events.append("batch")
            await asyncio.sleep(0.05)  # the store's write: copies may not slip in meanwhile
            await super().bulk_columns(batch)
            events.append("batch stored")

    async def load(path: Path) -> int:
        events.append("copy after the morning" if source.caught_up.is_set() else "copy")
        await asyncio.sleep(0.05)
        return 1

    days = [date(2026, 11, 18), date(2026, 11, 19)]
    source.fill_sessions(days, Staging(tmp_path, load))
    task = asyncio.create_task(source.run(Sink()))
    await asyncio.wait_for(source.history_filled.wait(), timeout=300)  # a busy 2-core machine
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert source.history_done == days[::-1]
    first, last = events.index("batch"), len(events) - events[::-1].index("batch stored")
    assert events.count("batch") >= 3
    # no copy from the first batch to the last one stored; before it, or after the morning
    assert all(e.startswith("batch") for e in events[first:last]), events
    assert all(e == "copy" for e in events[:first]), events
    assert all(e == "copy after the morning" for e in events[last:]), events
