"""A simulator restarted during the session, through the ingest service and a real store: the
time it was down is caught up at once (no hole in the charts), nothing stored is repeated, and
the day still ends at its daily-chain candle, volume included."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime

from aegis.bus.memory import MemoryBus
from aegis.core.config import Settings
from aegis.core.timeutil import KST, kst_midnight_us, to_us
from aegis.services.ingest import IngestService
from aegis.sources.sim import SimSource
from aegis.store.base import Store
from tests.sim.conftest import small_market
from tests.support.sim_day import assert_day_at_chain_candle

DAY = date(2026, 11, 20)  # a Friday
SYMBOLS = ("005930", "000660", "035420")
MIN = 60_000_000


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
        await assert_day_at_chain_candle(store, source, SYMBOLS, DAY)
    finally:
        await store.close()
