"""On a store without them, the simulator's previous sessions arrive at full resolution through
the ingest service: the stored 1d candle of such a day is the aggregate of its stored 1-minute
candles (it replaces the seeded daily bar), and the day is no longer reported missing."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path

from aegis.bus.memory import MemoryBus
from aegis.core.config import Settings
from aegis.core.timeutil import KST, kst_midnight_us, to_us
from aegis.services.history_seed import seed_sim_history, sessions_without_minutes
from aegis.services.ingest import IngestService
from aegis.sources.sim import SimSource
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore
from tests.sim.conftest import small_market

SESSION = date(2026, 11, 20)


async def test_previous_sessions_are_stored_whole_and_agree_with_the_daily_candles(
    tmp_path: Path,
) -> None:
    upgrade(f"sqlite:///{tmp_path / 's.db'}")
    store = SQLiteStore(tmp_path / "s.db")
    await store.start()
    market = small_market()
    await store.upsert_instruments(market)
    await seed_sim_history(store, market, 42, SESSION)
    missing = await sessions_without_minutes(store, SESSION, 5)
    assert missing == [date(2026, 11, d) for d in (19, 18, 17, 16, 13)]
    day = missing[0]
    start = kst_midnight_us(day)
    seeded = {c.symbol: c for c in await store.latest_candles("1d") if c.start == start}
    ingest = IngestService(store, MemoryBus(), known_symbols={i.symbol for i in market})
    await ingest.start()
    wall = to_us(datetime(2026, 11, 20, 9, 1, tzinfo=KST))
    source = SimSource(Settings(sim_tick_rate=20.0), market, wall_clock=lambda: wall)
    source.fill_sessions([day])
    task = asyncio.create_task(source.run(ingest))
    try:
        # generous: a busy 2-core machine
        await asyncio.wait_for(source.history_filled.wait(), timeout=300)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await ingest.close()
    assert await sessions_without_minutes(store, SESSION, 5) == missing[1:]
    checked = 0
    for sym, old in seeded.items():
        d = await store.get_candle(sym, "1d", start)
        assert d is not None and d.source == "sim"
        mins = await store.get_candles(sym, "1m", start, start + 86_400_000_000, 1_000)
        assert (d.open, d.close) == (mins[0].open, mins[-1].close)
        assert (d.high, d.low) == (max(c.high for c in mins), min(c.low for c in mins))
        assert d.volume == sum(c.volume for c in mins)
        if sym not in ("KOSPI", "KOSDAQ"):
            assert (d.open, d.high, d.low, d.close) == (old.open, old.high, old.low, old.close)
        checked += 1
    assert checked > 50
    await store.close()


async def test_the_seeded_simulated_daily_candles_are_pinned(tmp_path: Path) -> None:
    """Every field of every simulated daily candle seeded into a store (a real day of one stock
    and of KOSPI already in it: those stay), pinned: a faster seeding stores the same rows."""
    import hashlib
    import sqlite3

    from aegis.history.types import DailyBar

    upgrade(f"sqlite:///{tmp_path / 's.db'}")
    store = SQLiteStore(tmp_path / "s.db")
    await store.start()
    market = small_market()
    await store.upsert_instruments(market)
    await store.upsert_candles(
        [
            DailyBar(date(2026, 6, 1), 70_000, 71_000, 69_000, 70_500, 1_000).to_candle(
                "005930", "import"
            ),
            DailyBar(date(2026, 5, 4), 1, 1, 1, 1, 1).to_candle("KOSPI", "import"),
        ]
    )
    n = await seed_sim_history(store, market, 42, SESSION)
    await store.close()
    rows = sqlite3.connect(tmp_path / "s.db").execute(
        "SELECT * FROM candles ORDER BY symbol, interval, start"
    )
    digest = hashlib.sha256(repr(rows.fetchall()).encode()).hexdigest()
    assert n == 13_382
    assert digest == "6c46e9497d7bfa6522b486fb1fd3425040a0fc97fa4f946f432f2aacf4d09395"


async def _stored_session(folder: Path, direct: bool) -> list[tuple[object, ...]]:
    """A store holding one previous session made by the simulator: handed to the ingest
    service, or staged by the simulator's child process and copied in (``direct``): every
    candle of the day."""
    import sqlite3

    db = folder / "s.db"
    upgrade(f"sqlite:///{db}")
    store = SQLiteStore(db)
    await store.start()
    market = small_market()
    await store.upsert_instruments(market)
    await seed_sim_history(store, market, 42, SESSION)
    known = {i.symbol for i in await store.list_instruments()}
    ingest = IngestService(store, MemoryBus(), known_symbols=known)
    await ingest.start()
    wall = to_us(datetime(2026, 11, 20, 9, 1, tzinfo=KST))
    source = SimSource(Settings(sim_tick_rate=20.0), market, wall_clock=lambda: wall)
    day = date(2026, 11, 19)
    if direct:
        from aegis.sources.sim.history import Staging

        # as the runtime does: the child process started before the anchors are known
        source.start_session_maker()
        source.fill_sessions([day], Staging(folder, store.load_staged, frozenset(known)))
    else:
        source.fill_sessions([day])
    task = asyncio.create_task(source.run(ingest))
    try:
        await asyncio.wait_for(source.history_filled.wait(), timeout=300)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await ingest.close()
    assert source.history_done == [day]
    assert day not in await sessions_without_minutes(store, SESSION, 5)
    await store.close()
    with sqlite3.connect(db) as conn:
        day_start = kst_midnight_us(day)
        return conn.execute(
            "SELECT * FROM candles WHERE start >= ? AND start < ? ORDER BY symbol, interval, start",
            (day_start, day_start + 86_400_000_000),
        ).fetchall()


async def test_a_session_the_child_stages_is_stored_as_through_the_ingest_service(
    tmp_path: Path,
) -> None:
    """SQLite: the simulator's child process (started early, given the anchors later) stages
    previous sessions as rows that the store copies in; the rows are exactly those the ingest
    service stores when handed the candles (the seeded daily candle of the day replaced), and
    no scratch file is left."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    handed = await _stored_session(tmp_path / "a", direct=False)
    written = await _stored_session(tmp_path / "b", direct=True)
    assert len(handed) > 10_000
    assert written == handed
    assert not list((tmp_path / "b").glob("*.staged"))
