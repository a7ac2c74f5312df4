"""PostgreSQL restarted (crash-stopped) in the middle of ingest: the batches that could not be
written stay pending and are written once it is back; nothing is lost or stored twice, and the
candles equal those recomputed from the stored ticks."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest

from aegis.bus.memory import MemoryBus
from aegis.domain.ticks import BUY, Tick
from aegis.services.ingest import IngestService
from aegis.store.migrate import upgrade
from aegis.store.postgres import PostgresStore
from tests.support.services import PostgresServer, find_pg_bin

pytestmark = pytest.mark.services

T0 = 1_764_640_800_000_000  # 2025-12-02 09:00 KST
SYMBOLS = ("005930", "000660", "035420")


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own: it is stopped and started under the store's feet."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries not found")  # the session fixture fails under CI first
    server = PostgresServer(bin_dir, durable=True)  # a crash keeps what was committed
    server.start()
    try:
        yield server
    finally:
        server.stop()


def ticks(start: int, n: int) -> list[Tick]:
    return [
        Tick(SYMBOLS[i % 3], T0 + i * 1_000_000, 70_000 + (i % 7) * 100, 1 + i % 5, BUY, i, "sim")
        for i in range(start, start + n)
    ]


async def test_ticks_written_while_postgres_restarts_are_stored_once_when_it_is_back(
    own_postgres: PostgresServer,
) -> None:
    url = own_postgres.url(own_postgres.create_database())
    upgrade(url)
    store = PostgresStore(url)
    await store.start()
    ingest = IngestService(store, MemoryBus(), flush_seconds=3600)  # flushed by hand
    await ingest.start()
    sent = ticks(0, 300)
    try:
        await ingest.ticks(sent[:100])
        await ingest.flush()

        own_postgres.halt()
        await ingest.ticks(sent[100:200])
        with pytest.raises(Exception):  # noqa: B017 - whatever asyncpg raises for a dead server
            await ingest.flush()
        assert ingest.pending == 100  # kept for the next flush, not dropped
        own_postgres.resume()

        await ingest.ticks(sent[200:])
        for _ in range(20):  # the pool replaces its broken connections on the way
            try:
                await ingest.flush()
                break
            except Exception:  # retried, as the flush loop does
                continue
        assert ingest.pending == 0
    finally:
        await ingest.close()
        await store.close()

    conn = await asyncpg.connect(url)
    try:
        stored = await conn.fetch("SELECT symbol, ts, seq, volume FROM ticks ORDER BY ts")
        day = {
            r["symbol"]: (r["volume"], r["trades"])
            for r in await conn.fetch(
                "SELECT symbol, volume, trades FROM candles WHERE interval = '1d'"
            )
        }
        minutes = await conn.fetchval("SELECT count(*) FROM candles WHERE interval = '1m'")
    finally:
        await conn.close()
    assert [(r["symbol"], r["ts"], r["seq"]) for r in stored] == [
        (t.symbol, t.ts, t.seq) for t in sent
    ]
    for sym in SYMBOLS:
        mine = [t for t in sent if t.symbol == sym]
        assert day[sym] == (sum(t.volume for t in mine), len(mine))
    assert minutes == len({(t.symbol, t.ts // 60_000_000) for t in sent})
