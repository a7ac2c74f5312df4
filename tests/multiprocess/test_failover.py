"""A second ``aegis ingest`` waits as a hot standby and takes over when the leader is killed
(kill -9): the market goes on, and every API process shows who leads."""

from __future__ import annotations

import asyncio
import os
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
    SYMBOLS,
    Cluster,
    Proc,
    aegis_command,
    cluster,
    cluster_redis,
)
from tests.support.auth import SERVER_AUTH_SECRET

pytestmark = pytest.mark.services
__all__ = ["cluster", "cluster_redis"]  # re-exported fixtures

TAKEOVER_S = 120.0  # generous bound for slow machines; the takeover time is printed


def leadership(port: int) -> dict[str, object]:
    doc = httpx.get(f"http://127.0.0.1:{port}/api/v1/system/status", timeout=10).json()
    return dict(doc["data"]["leadership"])


def kill9(proc: Proc) -> None:
    """SIGKILL the process and the Python it runs under `uv run` (a wrapper cannot forward it)."""
    parent = psutil.Process(proc.popen.pid)
    for p in [*parent.children(recursive=True), parent]:
        p.send_signal(signal.SIGKILL)
    proc.popen.wait(30)


async def test_standby_ingester_takes_over_after_kill_9(
    cluster: Cluster, redis_url: str, tmp_path: Path
) -> None:
    await ticks_flowing(cluster)
    port = cluster.servers[0][1]
    first = leadership(port)
    assert first["leader"] is not None and first["standbys"] == []
    assert first["thisProcess"] == "api"

    env = {k: v for k, v in os.environ.items() if not k.startswith("AEGIS_")}
    env.update(
        AEGIS_DATABASE_URL=cluster.database_url,
        AEGIS_REDIS_URL=redis_url,
        AEGIS_SIM_SYMBOLS=",".join(SYMBOLS),
        AEGIS_SIM_SPEED="10",
        AEGIS_DATA_DIR=str(tmp_path / "var2"),
        AEGIS_AUTH_SECRET=SERVER_AUTH_SECRET,
    )
    log = tmp_path / "ingest-2.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(  # noqa: ASYNC220 - starting it does not block
            aegis_command("ingest"), env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
        )
    second = Proc("ingest-2", popen, log)
    try:
        deadline = time.monotonic() + TAKEOVER_S
        while leadership(port)["standbys"] == []:
            assert time.monotonic() < deadline, f"no standby seen\n{second.tail()}"
            assert popen.poll() is None, f"the second ingester exited\n{second.tail()}"
            await asyncio.sleep(0.5)
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
