"""``IngestService.bulk``: a large generated batch (the simulator's morning) is stored at once
with candles folded by numpy, and the stored candles of every interval are exactly those of
the same ticks ingested one by one; live ticks continue from it; the bus says GAP so stream
hubs rebuild from the store."""

from __future__ import annotations

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


async def stored_candles(store: SQLiteStore) -> dict[str, list[tuple[object, ...]]]:
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


def expected(all_ticks: list[Tick]) -> dict[str, list[tuple[object, ...]]]:
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

        async def broken(_ticks: object) -> int:
            raise StoreError("disk full")

        with monkeypatch.context() as m:
            m.setattr(store, "write_ticks", broken)
            with pytest.raises(StoreError):
                await ingest.bulk(morning)
        await ingest.bulk(morning)  # retried: counted once
        await ingest.flush()
        assert await stored_candles(store) == expected(before + morning)
    finally:
        await ingest.close()
        await store.close()
