"""One ingester at a time: a second waits as a standby and takes over when the leader's lock is
freed or its lease is not renewed; a leader whose PostgreSQL session is ended learns it lost the
lock (and so stops); the store refuses every write of a superseded epoch."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
import pytest

from aegis.core.errors import StoreError
from aegis.domain.candles import Candle
from aegis.domain.ticks import Tick
from aegis.services.leader import (
    FileLeadership,
    LeadershipLost,
    PostgresLeadership,
    node_name,
    observe_file,
    observe_postgres,
)
from aegis.store.migrate import upgrade
from aegis.store.postgres import PostgresStore

WAIT_S = 30.0


async def test_second_file_lock_waits_until_the_first_is_released(tmp_path: Path) -> None:
    path = tmp_path / "aegis.db.lock"
    first, second = FileLeadership(path), FileLeadership(path)
    await first.acquire()
    assert observe_file(path)["leader"] == node_name()

    waiting = asyncio.create_task(second.acquire())
    await asyncio.sleep(0.3)  # it had several chances to take the lock and must not have
    assert not waiting.done()
    assert second.describe()["role"] == "standby"

    await first.release()
    await asyncio.wait_for(waiting, WAIT_S)
    assert second.describe()["role"] == "leader"
    await second.release()
    assert observe_file(path)["leader"] is None


async def test_a_standby_can_be_stopped_while_it_waits(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    first = FileLeadership(path)
    await first.acquire()
    waiting = asyncio.create_task(FileLeadership(path).acquire())
    await asyncio.sleep(0.1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await first.release()


@pytest.mark.services
async def test_postgres_standby_takes_over_when_the_leader_session_ends(
    postgres_url: str,
) -> None:
    upgrade(postgres_url)
    leader, standby = PostgresLeadership(postgres_url), PostgresLeadership(postgres_url)
    await leader.acquire()
    waiting = asyncio.create_task(standby.acquire())
    seen: dict[str, object] = {}
    async with asyncio.timeout(WAIT_S):
        while not seen.get("standbys"):
            seen = await observe_postgres(postgres_url)
    assert seen["leader"] == node_name()
    assert seen["standbys"] == [node_name()]
    assert not waiting.done()

    # the leader's session ends as it would when its process is killed: PostgreSQL frees the lock
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = $1 AND pid IN "
            "(SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)",
            f"aegis-ingest {node_name()}",
        )
    finally:
        await admin.close()
    await asyncio.wait_for(waiting, WAIT_S)
    assert standby.describe()["role"] == "leader"
    # the old leader learns it lost the lock: the runtime fences on this event
    await asyncio.wait_for(leader.lost.wait(), WAIT_S)
    assert leader.describe()["role"] == "standby"
    assert (await observe_postgres(postgres_url))["standbys"] == []
    await leader.release()
    await standby.release()


@pytest.mark.services
async def test_a_standby_ends_a_leader_that_stopped_renewing_its_lease(postgres_url: str) -> None:
    upgrade(postgres_url)
    # a lease far longer than a busy machine's stall of this process: else a late renewal
    # would hand the lease over to the standby while the leader still renews
    leader = PostgresLeadership(postgres_url, lease_seconds=5.0)
    standby = PostgresLeadership(postgres_url, lease_seconds=5.0)
    await leader.acquire()
    assert leader.epoch == 1
    await leader.ensure_leading()  # a fresh lease: the leader may write
    waiting = asyncio.create_task(standby.acquire())
    await asyncio.sleep(7.5)  # over the lease: a renewing leader keeps it all the same
    assert not waiting.done()

    # as if the process were paused: its session (and advisory lock) stay, renewals stop
    assert leader._renewer is not None
    leader._renewer.cancel()
    await asyncio.wait_for(waiting, WAIT_S)
    assert standby.epoch == 2
    assert (await observe_postgres(postgres_url))["epoch"] == 2
    # the standby ended the old leader's session: it learns so and refuses to go on
    await asyncio.wait_for(leader.lost.wait(), WAIT_S)
    with pytest.raises(LeadershipLost):
        await leader.ensure_leading()
    await leader.release()
    await standby.release()


def tick(seq: int) -> Tick:
    return Tick("005930", 1_700_000_000_000_000 + seq, 70_000, 10, 1, seq, "sim")


async def lease_row(conn: asyncpg.Connection, epoch: int) -> None:
    await conn.execute(
        "INSERT INTO ingest_lease VALUES (1, $1, 'test', pg_backend_pid(), now()) "
        "ON CONFLICT (id) DO UPDATE SET epoch = EXCLUDED.epoch",
        epoch,
    )


@pytest.mark.services
async def test_the_store_refuses_every_write_of_a_superseded_epoch(postgres_url: str) -> None:
    upgrade(postgres_url)
    admin = await asyncpg.connect(postgres_url)
    old = PostgresStore(postgres_url)
    old.use_session_settings({"aegis.ingest_epoch": "1"})
    plain = PostgresStore(postgres_url)  # aegis import, tests: no epoch, not fenced
    try:
        await lease_row(admin, 1)
        await old.start()
        await plain.start()
        assert await old.write_ticks([tick(1)]) == 1

        await lease_row(admin, 2)  # a standby took over
        with pytest.raises(StoreError, match="superseded"):
            await old.write_ticks([tick(2)])
        t = tick(5)
        p = t.price
        candle = Candle("005930", "1m", t.ts, p, p, p, p, 10, 700_000, 1, t.ts, 5, t.ts, 5, "sim")
        with pytest.raises(StoreError, match="superseded"):
            await old.upsert_candles([candle])
        with pytest.raises(StoreError, match="superseded"):
            await old.write_flush([tick(6)], [candle])  # COPY straight into ticks: refused too
        assert await admin.fetchval("SELECT count(*) FROM candles") == 0
        assert await plain.write_ticks([tick(4)]) == 1
        seqs = [r[0] for r in await admin.fetch("SELECT seq FROM ticks ORDER BY seq")]
        assert seqs == [1, 4]
    finally:
        await old.close()
        await plain.close()
        await admin.close()


@pytest.mark.services
async def test_a_takeover_waits_for_a_write_in_flight_and_fences_every_later_one(
    postgres_url: str,
) -> None:
    upgrade(postgres_url)
    admin = await asyncpg.connect(postgres_url)
    writer = await asyncpg.connect(postgres_url, server_settings={"aegis.ingest_epoch": "1"})
    try:
        await lease_row(admin, 1)
        insert = (
            "INSERT INTO ticks (symbol, ts, price, volume, side, seq, source) "
            "VALUES ('005930', $1, 70000, 1, 1, $1, 'sim')"
        )
        in_flight = writer.transaction()
        await in_flight.start()
        await writer.execute(insert, 1)  # the old leader's write, not yet committed
        bump = asyncio.create_task(
            admin.execute("UPDATE ingest_lease SET epoch = epoch + 1 WHERE id = 1")
        )
        await asyncio.sleep(0.5)
        assert not bump.done()  # the key update waits for the write in flight
        await in_flight.commit()  # committed before the takeover: it counts
        await asyncio.wait_for(bump, WAIT_S)
        with pytest.raises(asyncpg.PostgresError, match="superseded") as refused:
            await writer.execute(insert, 2)
        assert refused.value.sqlstate == "AEF01"
        assert await admin.fetchval("SELECT array_agg(seq) FROM ticks") == [1]
    finally:
        await writer.close()
        await admin.close()


def test_node_names_this_process() -> None:
    assert node_name().endswith(f":{os.getpid()}")
