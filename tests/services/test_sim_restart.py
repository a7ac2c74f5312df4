"""A simulator restarted during the session, through the ingest service and a real store: the
time it was down is caught up at once (no hole in the charts), nothing stored is repeated, and
the day still ends at its daily-chain candle, volume included."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from aegis.bus.memory import MemoryBus
from aegis.core.config import Settings
from aegis.core.timeutil import KST, kst_midnight_us, to_us
from aegis.services.ingest import IngestService
from aegis.sources.sim import SimSource
from aegis.store.base import Store
from aegis.store.migrate import upgrade
from aegis.store.postgres import PostgresStore
from aegis.store.sqlite import SQLiteStore
from tests.sim.conftest import small_market

DAY = date(2026, 11, 20)  # a Friday
SYMBOLS = ("005930", "000660", "035420")
MIN = 60_000_000


@pytest.fixture(params=["sqlite", "postgres"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens a store of one kind on one migrated database (a process's view of it)."""
    if request.param == "sqlite":
        path = tmp_path / "s.db"
        url = f"sqlite:///{path}"
        build: Callable[[], Store] = lambda: SQLiteStore(path)  # noqa: E731
    else:
        url = request.getfixturevalue("postgres_url")
        build = lambda: PostgresStore(url)  # noqa: E731
    upgrade(url)
    yield build


class Clock:
    """A wall clock at ``hh:mm:ss`` KST on ``DAY`` that moves ``step_us`` per reading."""

    def __init__(self, hh: int, mm: int, ss: int, step_us: int) -> None:
        self.now = to_us(datetime(DAY.year, DAY.month, DAY.day, hh, mm, ss, tzinfo=KST))
        self.step_us = step_us

    def __call__(self) -> int:
        self.now += self.step_us
        return self.now


async def play(new_store: Callable[[], Store], clock: Clock, until_us: int) -> SimSource:
    """One process: restore from the store, run the simulator until its session reaches
    ``until_us``, stop (the ingest service stores what it was handed)."""
    market = small_market()
    store = new_store()
    await store.start()
    await store.upsert_instruments(market)
    symbols = frozenset(i.symbol for i in market)
    ingest = IngestService(store, MemoryBus(), known_symbols=set(symbols), krx_symbols=symbols)
    await ingest.start()
    settings = Settings(sim_symbols=",".join(SYMBOLS), sim_tick_rate=20.0)
    source = SimSource(settings, market, wall_clock=clock)
    point = ingest.resume_point()
    if point is not None:
        source.resume_from(*point)
    task = asyncio.create_task(source.run(ingest))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 300  # generous: a busy 2-core machine
        while source.engine is None or source.engine.session_us < until_us:
            assert loop.time() < deadline, "the simulator did not reach its stop"
            assert not task.done(), task
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await ingest.close()
        await store.close()
    return source


async def test_a_sim_restarted_in_the_session_fills_its_downtime_and_ends_at_its_chain_candle(
    new_store: Callable[[], Store],
) -> None:
    midnight = kst_midnight_us(DAY)
    # started at 10:35 (the morning caught up at once), stopped after 10:40
    await play(new_store, Clock(10, 35, 0, 1_000_000), midnight + (10 * 60 + 40) * MIN)
    # started again at 15:29:50: 10:40 ... 15:29:50 is caught up, then the close plays live
    close = midnight + (15 * 60 + 30) * MIN
    source = await play(new_store, Clock(15, 29, 50, 1_000_000), close + 1)

    store = new_store()
    await store.start()
    try:
        bars = source.chain.day(DAY)
        rows = source.universe.stock_rows()
        for sym in SYMBOLS:
            k = rows[sym]
            d = await store.get_candle(sym, "1d", midnight)
            assert d is not None
            got = (d.open, d.high, d.low, d.close, d.volume)
            want = tuple(
                int(x[k]) for x in (bars.open, bars.high, bars.low, bars.close, bars.volume)
            )
            assert got == want, sym
            mins = await store.get_candles(sym, "1m", midnight, midnight + 86_400 * 10**6, 1_000)
            assert sum(c.volume for c in mins) == d.volume
            ticks = await store.get_ticks(sym, midnight, midnight + 86_400 * 10**6)
            keys = [(t.ts, t.seq) for t in ticks]
            assert len(keys) == len(set(keys))
        # no hole where the simulator was down: the busiest stock trades every minute
        mins = await store.get_candles("005930", "1m", midnight, close, 1_000)
        starts = {(c.start - midnight) // MIN for c in mins}
        assert set(range(9 * 60, 15 * 60 + 20)) <= starts
    finally:
        await store.close()
