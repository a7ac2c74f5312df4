"""``IngestService.bulk``: a large generated batch (the simulator's morning) is stored at once
with candles folded by numpy, and the stored candles of every interval are exactly those of
the same ticks ingested one by one; live ticks continue from it; the bus says GAP so stream
hubs rebuild from the store."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest

from aegis.aggregator.engine import recompute
from aegis.bus.base import GAP, TICKS
from aegis.bus.memory import MemoryBus
from aegis.domain.intervals import STORED_INTERVALS
from aegis.domain.ticks import BUY, SELL, Tick
from aegis.services.ingest import IngestService
from aegis.sources.base import BulkSink
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore

T0 = 1_764_635_400_000_000  # 2025-12-02 09:30 KST
SYMBOLS = ("005930", "000660", "KOSPI")
# a stored candle as compared: symbol, start, open, high, low, close, volume, amount, trades
Row = tuple[str, int, int, int, int, int, int, int | None, int]


def ticks(n: int, seed: int, t0: int, seq0: int) -> list[Tick]:
    """``n`` time-ordered ticks of three symbols over ~2 hours from ``t0``."""
    rng = random.Random(seed)
    out, ts = [], t0
    for i in range(n):
        ts += rng.randrange(0, 20_000_000)
        sym = rng.choice(SYMBOLS)
        side = rng.choice((BUY, SELL))
        out.append(Tick(sym, ts, rng.randrange(50_000, 51_000), rng.randrange(1, 50), side,
                        seq0 + i, "sim"))  # fmt: skip
    return out


async def stored_candles(store: SQLiteStore) -> dict[str, list[Row]]:
    out = {}
    for iv in STORED_INTERVALS:
        rows = []
        for sym in SYMBOLS:
            rows += await store.get_candles(sym, iv.name, None, None, 100_000)
        out[iv.name] = sorted(
            (c.symbol, c.start, c.open, c.high, c.low, c.close, c.volume, c.amount, c.trades)
            for c in rows
        )
    return out


def expected(all_ticks: list[Tick]) -> dict[str, list[Row]]:
    return {
        iv.name: sorted(
            (c.symbol, c.start, c.open, c.high, c.low, c.close, c.volume, c.amount, c.trades)
            for c in recompute(all_ticks, iv)
        )
        for iv in STORED_INTERVALS
    }


@pytest.fixture
async def store(tmp_path: Path) -> SQLiteStore:
    upgrade(f"sqlite:///{tmp_path / 's.db'}")
    s = SQLiteStore(tmp_path / "s.db")
    await s.start()
    return s


async def test_bulk_stores_what_the_live_path_would_and_live_ticks_continue_from_it(
    store: SQLiteStore,
) -> None:
    bus = MemoryBus()
    sub = await bus.subscribe(TICKS)
    ingest = IngestService(store, bus, flush_seconds=3600)
    assert isinstance(ingest, BulkSink)
    await ingest.start()
    try:
        before = ticks(200, 1, T0, 0)  # live: the current minute of each symbol is in memory
        await ingest.ticks(before)
        # the bulk: a repeat of the last live ticks (go the normal path: duplicates), then
        # newer ones, the first of them in the same minute as the live candles
        morning = ticks(3_000, 2, before[-1].ts, 10_000)
        await ingest.bulk(before[-5:] + morning)
        after = ticks(300, 3, morning[-1].ts + 1, 100_000)  # live again
        await ingest.ticks(after)
        await ingest.flush()
        assert ingest.bulk_ticks == len(morning)
        assert ingest.duplicates == 5
        everything = before + morning + after
        assert await stored_candles(store) == expected(everything)
        assert len(await store.get_ticks("005930", 0, 2**62)) == sum(
            t.symbol == "005930" for t in everything
        )
        payloads = []
        while not sub.queue.empty():  # type: ignore[attr-defined]
            payloads.append(sub.queue.get_nowait())  # type: ignore[attr-defined]
        assert payloads.count(GAP) == 1  # the bulk itself is not on the bus, a GAP is
    finally:
        await ingest.close()
        await store.close()


async def test_a_failed_bulk_write_changes_nothing(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aegis.core.errors import StoreError

    ingest = IngestService(store, MemoryBus(), flush_seconds=3600)
    await ingest.start()
    try:
        before = ticks(50, 4, T0, 0)
        await ingest.ticks(before)
        await ingest.flush()
        morning = ticks(500, 5, before[-1].ts + 1, 1_000)

        async def broken(*_args: object, **_kw: object) -> int:
            raise StoreError("disk full")

        with monkeypatch.context() as m:
            m.setattr(store, "import_ticks", broken)
            with pytest.raises(StoreError):
                await ingest.bulk(morning)
        await ingest.bulk(morning)  # retried: counted once
        await ingest.flush()
        assert await stored_candles(store) == expected(before + morning)
    finally:
        await ingest.close()
        await store.close()


async def test_krx_off_hours_ticks_are_stored_but_in_no_candle(store: SQLiteStore) -> None:
    day = 1_764_601_200_000_000  # 2025-12-02 00:00 KST

    def at(h: int, m: int, s: int = 0) -> int:
        return day + ((h * 60 + m) * 60 + s) * 1_000_000

    regular = [
        Tick("005930", at(9, 0), 50_000, 10, 0, 0, "sim"),
        Tick("005930", at(15, 30), 50_500, 10, 0, 1, "sim"),
    ]
    off = [
        Tick("005930", at(8, 35), 49_000, 5, 0, 10**15, "sim"),  # 장전 시간외 종가
        Tick("005930", at(15, 45), 50_500, 5, 0, 10**15 + 1, "sim"),  # 장후 시간외 종가
        Tick("005930", at(18, 0), 54_000, 5, 0, 10**15 + 2, "sim"),  # the last single price
    ]
    ingest = IngestService(
        store, MemoryBus(), flush_seconds=3600, krx_symbols=frozenset({"005930"})
    )
    await ingest.start()
    try:
        await ingest.ticks([off[0], regular[0]])
        await ingest.bulk([regular[1], off[1]])
        await ingest.ticks([off[2]])
        await ingest.flush()
        assert len(await store.get_ticks("005930", 0, 2**62)) == 5  # every trade stored
        d = await store.get_candle("005930", "1d", day)
        assert d is not None
        assert (d.open, d.high, d.low, d.close, d.volume) == (50_000, 50_500, 50_000, 50_500, 20)
        minutes = await store.get_candles("005930", "1m", day, day + 86_400_000_000, 100)
        assert [c.start for c in minutes] == [at(9, 0), at(15, 30)]
    finally:
        await ingest.close()
        await store.close()


async def test_a_sim_morning_stored_in_bulk_equals_the_live_path_row_for_row(
    tmp_path: Path,
) -> None:
    """The simulator started at 09:20 stores its morning through ``bulk_columns`` and, in a
    second store, span by span through the live path: every tick and every candle of every
    interval is the same, column for column."""
    import sqlite3

    from aegis.bench.sim_catchup import _one
    from aegis.bench.sim_realism import quick_market

    market = quick_market()
    bulk = await _one(market, 42, 10.0, "09:20", True, tmp_path)
    live = await _one(market, 42, 10.0, "09:20", False, tmp_path)
    assert bulk.ticks == live.ticks > 1_000

    def rows(db: str, sql: str) -> list[tuple[object, ...]]:
        with contextlib.closing(sqlite3.connect(tmp_path / db)) as conn:
            return conn.execute(sql).fetchall()

    for sql in (
        "SELECT symbol, ts, seq, price, volume, side, source FROM ticks ORDER BY symbol, ts, seq",
        "SELECT * FROM candles ORDER BY symbol, interval, start",
    ):
        stored = rows("bulk.db", sql)
        assert stored and stored == rows("live.db", sql)
