"""One ingester at a time: a second waits as a standby and takes over when the leader's lock is
freed; a leader whose PostgreSQL session is ended learns it lost the lock (and so stops)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
import pytest

from aegis.services.leader import (
    FileLeadership,
    PostgresLeadership,
    node_name,
    observe_file,
    observe_postgres,
)

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


def test_node_names_this_process() -> None:
    assert node_name().endswith(f":{os.getpid()}")
