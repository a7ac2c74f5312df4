"""A second ``aegis ingest`` waits as a hot standby and takes over when the leader is killed
(kill -9) or paused (SIGSTOP): the market goes on, every API process shows who leads, and a
paused leader that resumes after the takeover writes nothing."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from tests.multiprocess.test_nginx import ticks_flowing
from tests.multiprocess.test_server_mode import (
    Cluster,
    Proc,
    aegis_command,
    cluster,
    cluster_redis,
    sim_env,
)
from tests.support.auth import SERVER_AUTH_SECRET

pytestmark = pytest.mark.services
__all__ = ["cluster", "cluster_redis"]  # re-exported fixtures

TAKEOVER_S = 120.0  # generous bound for slow machines; the takeover time is printed


def leadership(port: int) -> dict[str, object]:
    doc = httpx.get(f"http://127.0.0.1:{port}/api/v1/system/status", timeout=60).json()
    return dict(doc["data"]["leadership"])


def signal_family(proc: Proc, sig: signal.Signals) -> None:
    """Signal the process and the Python it runs under `uv run` (a wrapper cannot forward
    SIGKILL or SIGSTOP)."""
    parent = psutil.Process(proc.popen.pid)
    for p in [*parent.children(recursive=True), parent]:
        p.send_signal(sig)


def kill9(proc: Proc) -> None:
    signal_family(proc, signal.SIGKILL)
    proc.popen.wait(30)


def start_standby(cluster: Cluster, redis_url: str, tmp_path: Path) -> Proc:
    env = sim_env(
        cluster.clock,  # the leader's: the standby takes over the same session
        AEGIS_DATABASE_URL=cluster.database_url,
        AEGIS_REDIS_URL=redis_url,
        AEGIS_DATA_DIR=str(tmp_path / "var2"),
        AEGIS_AUTH_SECRET=SERVER_AUTH_SECRET,
    )
    log = tmp_path / "ingest-2.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            aegis_command("ingest"), env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
        )
    return Proc("ingest-2", popen, log)


async def wait_standby(second: Proc, port: int) -> None:
    deadline = time.monotonic() + TAKEOVER_S
    while leadership(port)["standbys"] == []:
        assert time.monotonic() < deadline, f"no standby seen\n{second.tail()}"
        assert second.popen.poll() is None, f"the second ingester exited\n{second.tail()}"
        await asyncio.sleep(0.5)


# Test-only: every write statement on ticks/candles that completes, with the writer's epoch.
AUDIT = """
CREATE TABLE fence_audit (epoch text, at timestamptz, tbl text, op text);
CREATE FUNCTION fence_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fence_audit VALUES (
        current_setting('aegis.ingest_epoch', true), clock_timestamp(), TG_TABLE_NAME, TG_OP);
    RETURN NULL;
END $$;
CREATE TRIGGER ticks_audit AFTER INSERT OR UPDATE OR DELETE ON ticks
    FOR EACH STATEMENT EXECUTE FUNCTION fence_audit();
CREATE TRIGGER candles_audit AFTER INSERT OR UPDATE OR DELETE ON candles
    FOR EACH STATEMENT EXECUTE FUNCTION fence_audit();
"""


async def wait_audited(conn: asyncpg.Connection, epoch: str) -> None:
    """Until a write statement of ``epoch`` completed."""
    async with asyncio.timeout(TAKEOVER_S):
        while True:
            if await conn.fetchval("SELECT count(*) FROM fence_audit WHERE epoch = $1", epoch):
                return
            await asyncio.sleep(0.2)


async def test_a_paused_leader_is_taken_over_and_writes_nothing_when_it_resumes(
    cluster: Cluster, redis_url: str, tmp_path: Path
) -> None:
    await ticks_flowing(cluster)
    port = cluster.servers[0][1]
    first = leadership(port)
    conn = await asyncpg.connect(cluster.database_url)
    try:
        await conn.execute(AUDIT)
        old_epoch = str(first["epoch"])
        second = start_standby(cluster, redis_url, tmp_path)
        try:
            await wait_standby(second, port)
            await wait_audited(conn, old_epoch)  # the old leader's writes are audited

            # paused: its PostgreSQL sessions (and the advisory lock) stay open
            signal_family(cluster.ingester, signal.SIGSTOP)
            paused_at = time.monotonic()
            try:
                while (now := leadership(port))["leader"] in (first["leader"], None):
                    assert time.monotonic() - paused_at < TAKEOVER_S, (
                        f"no takeover of a paused leader\n{second.tail()}"
                    )
                    await asyncio.sleep(0.2)
                print(f"standby took over {time.monotonic() - paused_at:.2f} s after SIGSTOP")
                assert now["epoch"] == int(str(first["epoch"])) + 1
                resumed_at = await conn.fetchval("SELECT clock_timestamp()")
            finally:
                signal_family(cluster.ingester, signal.SIGCONT)

            # the old leader finds its lease gone and ends itself
            await asyncio.to_thread(cluster.ingester.popen.wait, TAKEOVER_S)
            assert "lost the ingest lock" in cluster.ingester.log.read_text(errors="replace")

            # the new leader writes; the old one wrote nothing after it resumed
            await wait_audited(conn, str(now["epoch"]))
            late = await conn.fetch(
                "SELECT * FROM fence_audit WHERE epoch = $1 AND at >= $2", old_epoch, resumed_at
            )
            assert late == [], f"the old leader wrote after it resumed: {late}"
        finally:
            second.stop()
    finally:
        await conn.close()


async def test_standby_ingester_takes_over_after_kill_9(
    cluster: Cluster, redis_url: str, tmp_path: Path
) -> None:
    await ticks_flowing(cluster)
    port = cluster.servers[0][1]
    first = leadership(port)
    assert first["leader"] is not None and first["standbys"] == []
    assert first["thisProcess"] == "api"

    second = start_standby(cluster, redis_url, tmp_path)
    try:
        await wait_standby(second, port)
        assert leadership(port)["leader"] == first["leader"]  # it waits; it does not lead

        killed_at = time.monotonic()
        kill9(cluster.ingester)
        while (now := leadership(port))["leader"] in (first["leader"], None):
            assert time.monotonic() - killed_at < TAKEOVER_S, f"no takeover\n{second.tail()}"
            await asyncio.sleep(0.2)
        print(f"standby took over {time.monotonic() - killed_at:.2f} s after kill -9")
        assert now["standbys"] == []

        # the new leader writes: ticks stamped after the takeover arrive in the store
        conn = await asyncpg.connect(cluster.database_url)
        try:
            before = await conn.fetchval("SELECT count(*) FROM ticks")
            async with asyncio.timeout(TAKEOVER_S):
                while True:
                    if await conn.fetchval("SELECT count(*) FROM ticks") > before:
                        break
                    await asyncio.sleep(0.5)
        finally:
            await conn.close()
    finally:
        second.stop()
